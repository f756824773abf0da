// Uploading a model's tensors to a backend.
#include "runtime/model/weights.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"

namespace smollm::runtime {
namespace {

absl::StatusOr<Weight> Upload(const GgufFile& gguf, Backend& backend, const std::string& name) {
  ASSIGN_OR_RETURN(const GgufTensorInfo* t, gguf.GetTensor(name));
  HostWeight host;
  host.type = t->type;
  host.cols = static_cast<int64_t>(t->dims[0]);
  host.rows = static_cast<int64_t>(t->n_rows());
  host.bytes = t->data;
  auto weight = backend.UploadWeight(host);
  if (!weight.ok()) {
    return absl::Status(weight.status().code(),
                        absl::StrCat("tensor '", name, "': ", weight.status().message()));
  }
  return *weight;
}

}  // namespace

absl::StatusOr<ModelWeights> UploadWeights(const ModelConfig& config, const GgufFile& gguf,
                                           Backend& backend) {
  ModelWeights w;
  ASSIGN_OR_RETURN(w.token_embd, Upload(gguf, backend, "token_embd.weight"));
  w.layers.resize(config.n_layers);
  for (int il = 0; il < config.n_layers; ++il) {
    const std::string p = absl::StrCat("blk.", il, ".");
    LayerWeights& l = w.layers[il];
    ASSIGN_OR_RETURN(l.attn_norm, Upload(gguf, backend, p + "attn_norm.weight"));
    ASSIGN_OR_RETURN(l.attn_q, Upload(gguf, backend, p + "attn_q.weight"));
    ASSIGN_OR_RETURN(l.attn_k, Upload(gguf, backend, p + "attn_k.weight"));
    ASSIGN_OR_RETURN(l.attn_v, Upload(gguf, backend, p + "attn_v.weight"));
    ASSIGN_OR_RETURN(l.attn_output, Upload(gguf, backend, p + "attn_output.weight"));
    ASSIGN_OR_RETURN(l.ffn_norm, Upload(gguf, backend, p + "ffn_norm.weight"));
    ASSIGN_OR_RETURN(l.ffn_gate, Upload(gguf, backend, p + "ffn_gate.weight"));
    ASSIGN_OR_RETURN(l.ffn_up, Upload(gguf, backend, p + "ffn_up.weight"));
    ASSIGN_OR_RETURN(l.ffn_down, Upload(gguf, backend, p + "ffn_down.weight"));
  }
  ASSIGN_OR_RETURN(w.output_norm, Upload(gguf, backend, "output_norm.weight"));
  if (config.tied_output) {
    w.output = w.token_embd;
  } else {
    ASSIGN_OR_RETURN(w.output, Upload(gguf, backend, "output.weight"));
  }
  return w;
}

}  // namespace smollm::runtime

// Expected tensor names and shapes for a config, and their validation against a file.
#include "runtime/model/tensor_names.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/gguf/gguf_reader.h"

namespace smollm::runtime {
namespace {

uint64_t U(int v) { return static_cast<uint64_t>(v); }

std::string DimsToString(const std::vector<uint64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

}  // namespace

std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& c) {
  std::vector<ExpectedTensor> out;
  out.reserve(3 + 9 * static_cast<size_t>(c.n_layers));
  out.push_back({"token_embd.weight", {U(c.d_model), U(c.vocab_size)}, TensorRole::kMatrix, -1});
  for (int il = 0; il < c.n_layers; ++il) {
    const std::string p = absl::StrCat("blk.", il, ".");
    auto add = [&](const char* name, std::vector<uint64_t> dims, TensorRole role) {
      out.push_back({absl::StrCat(p, name), std::move(dims), role, il});
    };
    add("attn_norm.weight", {U(c.d_model)}, TensorRole::kNorm);
    add("attn_q.weight", {U(c.d_model), U(c.q_dim())}, TensorRole::kMatrix);
    add("attn_k.weight", {U(c.d_model), U(c.kv_dim())}, TensorRole::kMatrix);
    add("attn_v.weight", {U(c.d_model), U(c.kv_dim())}, TensorRole::kMatrix);
    add("attn_output.weight", {U(c.q_dim()), U(c.d_model)}, TensorRole::kMatrix);
    add("ffn_norm.weight", {U(c.d_model)}, TensorRole::kNorm);
    add("ffn_gate.weight", {U(c.d_model), U(c.d_ffn)}, TensorRole::kMatrix);
    add("ffn_up.weight", {U(c.d_model), U(c.d_ffn)}, TensorRole::kMatrix);
    add("ffn_down.weight", {U(c.d_ffn), U(c.d_model)}, TensorRole::kMatrix);
  }
  out.push_back({"output_norm.weight", {U(c.d_model)}, TensorRole::kNorm, -1});
  if (!c.tied_output) {
    out.push_back({"output.weight", {U(c.d_model), U(c.vocab_size)}, TensorRole::kMatrix, -1});
  }
  return out;
}

bool IsSupportedWeightType(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

absl::Status ValidateTensors(const ModelConfig& config, const GgufFile& gguf) {
  absl::flat_hash_set<std::string> expected_names;
  for (const ExpectedTensor& want : ExpectedTensors(config)) {
    expected_names.insert(want.name);
    const GgufTensorInfo* have = gguf.FindTensor(want.name);
    if (have == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", want.name, "' is missing"));
    }
    if (have->dims != want.dims) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", want.name, "' has shape ",
                                                     DimsToString(have->dims), ", expected ",
                                                     DimsToString(want.dims)));
    }
    const bool type_ok = want.role == TensorRole::kNorm ? have->type == GgmlType::kF32
                                                        : IsSupportedWeightType(have->type);
    if (!type_ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", want.name, "' has unsupported type ", std::string(NameOf(have->type)),
          want.role == TensorRole::kNorm ? " (norms must be f32)" : ""));
    }
  }
  for (const GgufTensorInfo& t : gguf.tensors()) {
    // llama.cpp also writes precomputed RoPE frequencies for some models; we compute them.
    if (t.name == "rope_freqs.weight") continue;
    if (!expected_names.contains(std::string(t.name))) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected tensor '", std::string(t.name), "' for a ",
                       std::string(ArchitectureName(config.arch)), " model"));
    }
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime

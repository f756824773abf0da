// The decoder's weights resident in a backend, one handle per tensor.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/model/model_config.h"

namespace smollm::runtime {

class GgufFile;

struct LayerWeights {
  Weight attn_norm;    // F32 [1, d_model]
  Weight attn_q;       // [q_dim, d_model]
  Weight attn_k;       // [kv_dim, d_model]
  Weight attn_v;       // [kv_dim, d_model]
  Weight attn_output;  // [d_model, q_dim]
  Weight ffn_norm;     // F32 [1, d_model]
  Weight ffn_gate;     // [d_ffn, d_model]
  Weight ffn_up;       // [d_ffn, d_model]
  Weight ffn_down;     // [d_model, d_ffn]
};

struct ModelWeights {
  Weight token_embd;   // [vocab, d_model]
  std::vector<LayerWeights> layers;
  Weight output_norm;  // F32 [1, d_model]
  Weight output;       // [vocab, d_model]; the same handle as token_embd when tied
};

// Uploads every tensor of a validated model (ValidateTensors must have passed) to
// `backend`. The GgufFile must outlive the backend (the CPU backend reads it in place).
// Errors: Unimplemented when the backend lacks a kernel for a tensor's type.
absl::StatusOr<ModelWeights> UploadWeights(const ModelConfig& config, const GgufFile& gguf,
                                           Backend& backend);

}  // namespace smollm::runtime

// Model hyperparameters read from GGUF metadata, validated once, for llama and smollm3.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"

namespace smollm::runtime {

class GgufFile;

enum class Architecture {
  kLlama,    // SmolLM2 and Llama: RoPE on every layer
  kSmolLM3,  // Llama decoder with RoPE skipped on every 4th layer (NoPE)
};

std::string_view ArchitectureName(Architecture arch);  // GGUF's general.architecture

// Everything the decoder needs to know about a model's shape. Plain data: produced once
// by ModelConfigFromGguf (which validates every field) and immutable afterwards.
struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  std::string name;  // general.name, may be empty

  int n_layers = 0;        // decoder blocks
  int d_model = 0;         // residual stream width
  int d_ffn = 0;           // SwiGLU hidden width
  int n_heads = 0;         // query heads
  int n_kv_heads = 0;      // key/value heads (GQA: n_heads % n_kv_heads == 0)
  int head_dim = 0;        // d_model / n_heads
  int vocab_size = 0;      // rows of token_embd
  int context_length = 0;  // positions the model was trained for

  float rms_norm_eps = 0;
  float rope_theta = 0;    // RoPE base frequency
  int rope_dim = 0;        // leading dims of each head that rotate (== head_dim here)
  // RoPE is skipped on layer il when nope_layer_step > 0 and (il + 1) % step == 0.
  // 4 for smollm3 (no GGUF key says so: the architecture does); 0 for llama.
  int nope_layer_step = 0;
  bool tied_output = false;  // logits use token_embd: there is no output.weight

  TokenId bos_token = -1;  // -1 when the model has none
  TokenId eos_token = -1;
  TokenId pad_token = -1;

  int gqa_group() const { return n_heads / n_kv_heads; }  // query heads per KV head
  int kv_dim() const { return n_kv_heads * head_dim; }
  int q_dim() const { return n_heads * head_dim; }
  bool UsesRope(int layer) const {
    return nope_layer_step <= 0 || (layer + 1) % nope_layer_step != 0;
  }
};

// Reads and validates the config: the architecture must be llama or smollm3; every
// hyperparameter is range-checked (positive, bounded, heads divide the width, KV heads
// divide heads, an even head_dim for RoPE pairs); special token ids lie inside the vocab;
// tied_output is true exactly when output.weight is absent. Errors:
// InvalidArgument (unsupported architecture or an out-of-range value, naming the key),
// NotFound (a required key is missing).
absl::StatusOr<ModelConfig> ModelConfigFromGguf(const GgufFile& gguf);

}  // namespace smollm::runtime

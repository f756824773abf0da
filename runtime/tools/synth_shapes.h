// Named model shapes for synthetic models, and the checks a hand-made shape must pass.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/model/model_config.h"

namespace smollm::runtime {

// The presets, by name:
//   smollm3-3b    SmolLM3-3B: smollm3, 36 layers, d_model 2048, d_ffn 11008, 16 heads,
//                 4 KV heads, vocab 128256, context 65536, theta 5e6, eps 1e-6, tied.
//   smollm2-135m  SmolLM2-135M: llama, 30 layers, d_model 576, d_ffn 1536, 9 heads,
//                 3 KV heads, vocab 49152, context 8192, theta 1e5, eps 1e-5, tied.
//   tiny-smollm3  smollm3, 8 layers, d_model 256, d_ffn 640 (ffn_down rows fall back to
//                 Q5_0/Q8_0), 4 heads, 2 KV heads, vocab 2048, tied.
//   tiny-llama    llama, 6 layers, d_model 320 (rows of that width fall back), d_ffn 512,
//                 5 heads, 1 KV head, vocab 1024, untied (has output.weight).
// The tiny shapes hold every type of the Q4_K_M mix (Q4_K, Q6_K, Q5_0, Q8_0, F32).
std::vector<std::string_view> ShapePresetNames();
std::string ShapePresetList();  // the names, comma-separated

// The preset's config (head_dim and rope_dim derived; no special tokens, which come from
// the tokenizer). InvalidArgument naming the presets for an unknown name.
absl::StatusOr<ModelConfig> ShapePreset(std::string_view name);

// Fills head_dim, rope_dim and nope_layer_step from the other fields, as
// ModelConfigFromGguf would derive them, and checks the shape is one that reader accepts:
// positive sizes within its bounds, heads dividing d_model, KV heads dividing heads, an
// even head_dim, a positive finite eps and theta. Widths need not be multiples of 32:
// such rows get F16, as llama.cpp gives them. InvalidArgument naming the field otherwise.
absl::Status CompleteShape(ModelConfig& config);

}  // namespace smollm::runtime

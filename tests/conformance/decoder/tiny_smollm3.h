// Fixture paths of the tiny SmolLM3 models (tests/reference/decoder_smollm3_reference.py).
#pragma once

namespace smollm::testing {

inline constexpr const char* kTinyF32 = "decoder/smollm3_tiny_f32.gguf";
inline constexpr const char* kTinyQ8_0 = "decoder/smollm3_tiny_q8_0.gguf";
inline constexpr const char* kTinyQ4_K_M = "decoder/smollm3_tiny_q4_k_m.gguf";
inline constexpr const char* kTinyTransformers = "decoder/smollm3_tiny_transformers.gguf";
inline constexpr const char* kTinyTransformersF16Kv =
    "decoder/smollm3_tiny_transformers_f16kv.gguf";

}  // namespace smollm::testing

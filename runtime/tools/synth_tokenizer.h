// A synthetic byte-level BPE vocabulary laid out like SmolLM3's (or SmolLM2's) tokenizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/model/model_config.h"

namespace smollm::runtime {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
inline constexpr int32_t kTokenTypeNormal = 1;
inline constexpr int32_t kTokenTypeControl = 3;

// Everything the tokenizer.* keys of a GGUF hold for a gpt2-style (byte-level BPE) model.
struct SynthVocab {
  std::string pre;                   // tokenizer.ggml.pre
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens, GPT-2 byte-to-unicode text
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type, one per token
  std::vector<std::string> merges;   // tokenizer.ggml.merges, "left right", by rank
  TokenId bos = -1;                  // -1: the key is not written
  TokenId eos = -1;
  TokenId unk = -1;
  TokenId pad = -1;
  bool add_bos = false;                   // tokenizer.ggml.add_bos_token
  std::optional<bool> add_space_prefix;   // tokenizer.ggml.add_space_prefix when set
};

// The 256 byte tokens in GPT-2's byte-to-unicode form, in the order GPT-2-style
// vocabularies list them ('!'..'~', '¡'..'¬', '®'..'ÿ', then the remapped bytes
// 'Ā', 'ā', ...).
const std::vector<std::string>& ByteTokens();

// A deterministic synthetic vocabulary of exactly `vocab_size` tokens.
//
// kSmolLM3 (SmolLM3/Llama-3 layout, pre "smaug-bpe"): ids 0-255 are the byte tokens, then
// merged tokens, and the last 256 ids are control tokens. With the real vocab_size of
// 128256 that block is 128000-128255 and the named ones sit at their SmolLM3 ids:
// <|begin_of_text|> 128000 (bos), <|end_of_text|> 128001, <think> 128002,
// </think> 128003, <|im_start|> 128011, <|im_end|> 128012 (eos and pad),
// <tool_response> 128013, </tool_response> 128014, <tool_call> 128015,
// </tool_call> 128016; the others are <|reserved_special_token_N|> placeholders. Smaller
// vocabularies keep the same offsets inside the last 256 ids. Needs vocab_size >= 512.
//
// kLlama (SmolLM2 layout, pre "smollm"): ids 0-16 are SmolLM2's control tokens
// (<|endoftext|> 0 = unk, <|im_start|> 1 = bos, <|im_end|> 2 = eos and pad, ...), then
// the byte tokens, then merged tokens. add_space_prefix false. Needs vocab_size >= 273.
//
// Merged tokens are words: an optional leading 'Ġ' (space) and ASCII letters, at most 12
// characters, each built by a merge of two earlier tokens, so that every merge's parts and
// result are in the vocabulary. add_bos_token is false (both chat templates start with
// <|im_start|>, not bos). InvalidArgument when vocab_size is out of range.
absl::StatusOr<SynthVocab> MakeSyntheticVocab(Architecture arch, int vocab_size,
                                              uint64_t seed);

}  // namespace smollm::runtime

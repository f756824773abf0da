// Plain vocabulary data a byte-level BPE tokenizer is built from, independent of GGUF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/types.h"

namespace smollm::runtime {

// Token types, with the values GGUF's tokenizer.ggml.token_type uses.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,       // byte-level text; produced by BPE
  kUnknown = 2,      // treated like a control token
  kControl = 3,      // e.g. <|im_start|>: matched in text only with parse_special
  kUserDefined = 4,  // matched in text always, decoded as its raw text
  kUnused = 5,       // never produced, decodes to nothing
  kByte = 6,         // decoded like a normal token
};

struct TokenizerData {
  // Token text by id. Normal tokens are spelled in the GPT-2 byte-level alphabet
  // (see byte_level.h); special tokens hold their raw text.
  std::vector<std::string> tokens;
  // Same size as `tokens`, or empty to mean every token is kNormal.
  std::vector<TokenType> token_types;
  // "left right" pairs in byte-level text, highest priority first (rank = index).
  std::vector<std::string> merges;
  // Pre-tokenizer name as in tokenizer.ggml.pre (see PreTokenizerFromName).
  std::string pre = "gpt-2";
  // -1 when the model has no such token.
  TokenId bos_id = -1;
  TokenId eos_id = -1;
  TokenId eot_id = -1;  // end of turn (e.g. <|im_end|>)
  TokenId pad_id = -1;
  TokenId unk_id = -1;
  bool add_bos = false;  // Encode prepends bos_id when asked to add special tokens
  bool add_eos = false;  // Encode appends eos_id likewise
};

}  // namespace smollm::runtime

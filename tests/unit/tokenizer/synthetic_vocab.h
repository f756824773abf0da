// Builds small byte-level BPE vocabularies for the tokenizer tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/tokenizer_data.h"

namespace smollm::runtime::testing {

// A vocabulary builder working in raw bytes: it spells everything in the byte-level
// alphabet itself. Token ids are given in order of addition; the 256 byte tokens come
// first, in byte order unless `shuffle_bytes` permutes them.
class SyntheticVocab {
 public:
  explicit SyntheticVocab(std::string pre = "gpt-2") { data_.pre = std::move(pre); }

  // Adds the 256 single-byte tokens (ids 0..255 when called first), in `order`.
  void AddByteTokens(const std::vector<int>& order = {}) {
    for (int i = 0; i < 256; ++i) {
      const int b = order.empty() ? i : order[i];
      AddToken(std::string(1, static_cast<char>(b)));
    }
  }
  // A normal token spelled by `bytes`; returns its id.
  TokenId AddToken(std::string_view bytes, TokenType type = TokenType::kNormal) {
    data_.tokens.push_back(type == TokenType::kNormal ? ByteLevelEncode(bytes)
                                                      : std::string(bytes));
    data_.token_types.push_back(type);
    return static_cast<TokenId>(data_.tokens.size() - 1);
  }
  // A merge of two byte strings (each must be a token); also adds the merged token
  // unless `add_result` is false. Returns the merged token's id (or -1).
  TokenId AddMerge(std::string_view left, std::string_view right, bool add_result = true) {
    data_.merges.push_back(ByteLevelEncode(left) + " " + ByteLevelEncode(right));
    return add_result ? AddToken(std::string(left) + std::string(right)) : -1;
  }
  TokenizerData& data() { return data_; }

 private:
  TokenizerData data_;
};

}  // namespace smollm::runtime::testing

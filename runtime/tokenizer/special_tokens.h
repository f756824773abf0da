// Splits raw text around special-token strings before pre-tokenization
// (llama.cpp's tokenizer_st_partition semantics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/types.h"

namespace smollm::runtime {

// A token whose raw text is matched in the input as a whole.
struct SpecialToken {
  TokenId id = -1;
  std::string text;  // raw bytes, not byte-level encoded; empty texts are ignored
  // true: matched even when special parsing is off (user-defined tokens);
  // false: matched only with parse_special (control and unknown tokens).
  bool always = false;
};

// A piece of the input: raw text to pre-tokenize, or one special token.
struct TextFragment {
  size_t begin = 0;  // byte range in the input (for a token: the bytes it replaced)
  size_t end = 0;
  TokenId token = -1;  // -1 for raw text
};

// Immutable after construction; Split is const and thread-safe.
class SpecialTokenSplitter {
 public:
  SpecialTokenSplitter() = default;
  explicit SpecialTokenSplitter(std::vector<SpecialToken> tokens);

  // Replaces *out with the fragments of `text`, in order. The result is the one
  // llama.cpp computes: tokens are taken longest text first (ties: lower id first);
  // each claims all its leftmost non-overlapping occurrences that lie entirely inside
  // text not yet claimed by a longer token. Raw fragments are never empty.
  void Split(std::string_view text, bool parse_special, std::vector<TextFragment>* out) const;

  size_t size() const { return tokens_.size(); }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                 // index into tokens_, or -1
  };
  int32_t Child(int32_t node, uint8_t byte) const;

  std::vector<SpecialToken> tokens_;  // sorted by priority (longest text first)
  std::vector<Node> nodes_;           // a byte trie of the texts; nodes_[0] is the root
  bool any_always_ = false;
};

}  // namespace smollm::runtime

// Special-token partitioning over a byte trie of the token texts.
#include "runtime/tokenizer/special_tokens.h"

#include <algorithm>
#include <utility>

namespace smollm::runtime {

SpecialTokenSplitter::SpecialTokenSplitter(std::vector<SpecialToken> tokens) {
  // An empty text would match everywhere (llama.cpp loops forever on one): drop it.
  std::erase_if(tokens, [](const SpecialToken& t) { return t.text.empty(); });
  // llama.cpp sorts by length only, with an unstable sort; the id breaks ties here so
  // that the rare overlap of two equal-length tokens has one defined answer.
  std::sort(tokens.begin(), tokens.end(), [](const SpecialToken& a, const SpecialToken& b) {
    if (a.text.size() != b.text.size()) return a.text.size() > b.text.size();
    return a.id < b.id;
  });
  tokens_ = std::move(tokens);
  nodes_.emplace_back();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    any_always_ = any_always_ || tokens_[i].always;
    int32_t node = 0;
    for (char ch : tokens_[i].text) {
      const auto byte = static_cast<uint8_t>(ch);
      int32_t next = Child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        auto& children = nodes_[node].children;
        children.insert(std::lower_bound(children.begin(), children.end(),
                                         std::make_pair(byte, int32_t{0})),
                        {byte, next});
        nodes_.emplace_back();  // invalidates `children`; not used after this
      }
      node = next;
    }
    // Duplicate texts were rejected by the vocabulary; keep the first if any remain.
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(i);
  }
}

int32_t SpecialTokenSplitter::Child(int32_t node, uint8_t byte) const {
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{0}));
  return it != children.end() && it->first == byte ? it->second : -1;
}

void SpecialTokenSplitter::Split(std::string_view text, bool parse_special,
                                 std::vector<TextFragment>* out) const {
  out->clear();
  const auto n = static_cast<size_t>(text.size());
  if (n == 0) return;
  if (tokens_.empty() || (!parse_special && !any_always_)) {
    out->push_back({0, n, -1});
    return;
  }
  // Every occurrence of every applicable token, as (priority, position).
  std::vector<std::pair<int32_t, size_t>> matches;
  for (size_t pos = 0; pos < n; ++pos) {
    int32_t node = Child(0, static_cast<uint8_t>(text[pos]));
    for (size_t i = pos + 1; node >= 0; ++i) {
      const int32_t t = nodes_[node].token;
      if (t >= 0 && (parse_special || tokens_[t].always)) matches.emplace_back(t, pos);
      if (i >= n) break;
      node = Child(node, static_cast<uint8_t>(text[i]));
    }
  }
  if (matches.empty()) {
    out->push_back({0, n, -1});
    return;
  }
  // Token by token in priority order, leftmost first: an occurrence is taken when none
  // of its bytes were taken by an earlier one. This reproduces llama.cpp's fragment
  // loop, where a later token is searched for only inside the remaining raw fragments.
  std::sort(matches.begin(), matches.end());
  std::vector<uint8_t> taken(n, 0);
  std::vector<std::pair<size_t, int32_t>> accepted;  // (position, token index)
  for (const auto& [t, pos] : matches) {
    const auto len = static_cast<size_t>(tokens_[t].text.size());
    if (std::find(taken.begin() + pos, taken.begin() + pos + len, 1) !=
        taken.begin() + pos + len) {
      continue;
    }
    std::fill(taken.begin() + pos, taken.begin() + pos + len, 1);
    accepted.emplace_back(pos, t);
  }
  std::sort(accepted.begin(), accepted.end());
  size_t raw_start = 0;
  for (const auto& [pos, t] : accepted) {
    if (pos > raw_start) out->push_back({raw_start, pos, -1});
    const auto end = pos + static_cast<size_t>(tokens_[t].text.size());
    out->push_back({pos, end, tokens_[t].id});
    raw_start = end;
  }
  if (raw_start < n) out->push_back({raw_start, n, -1});
}

}  // namespace smollm::runtime

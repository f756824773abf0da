// BpeTokenizer encoding (split, pre-tokenize, merge by rank) and decoding.
#include "runtime/tokenizer/bpe_tokenizer.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace smollm::runtime {

// Per-call working memory, so that the per-word loops allocate nothing once warm.
struct BpeTokenizer::Scratch {
  struct Symbol {
    TokenId token;  // -1: bytes that merged into something that is not a token
    uint32_t start;  // byte offset in the word
    uint32_t len;    // 0 once merged into its left neighbour
    int32_t prev;
    int32_t next;
  };
  // A candidate merge of symbols[left] and symbols[right]; stale once either changed.
  struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    uint32_t len;    // symbols[left].len + symbols[right].len when it was queued
    TokenId result;  // the merged token (-1: not in the vocabulary)
  };
  std::vector<TextFragment> fragments;
  CodepointText decoded;
  std::vector<uint32_t> word_ends;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

namespace {

// Min-heap order: lowest rank first, then leftmost (llama.cpp's order).
struct LaterCandidate {
  template <typename C>
  bool operator()(const C& a, const C& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

}  // namespace

std::string_view BpeTokenizer::token_text(TokenId id) const {
  return std::string_view(text_arena_).substr(text_offsets_[id],
                                              text_offsets_[id + 1] - text_offsets_[id]);
}

const BpeTokenizer::Merge* BpeTokenizer::FindMerge(TokenId left, TokenId right) const {
  if (left < 0 || right < 0) return nullptr;
  auto it = merges_.find((static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<TokenId> BpeTokenizer::Encode(std::string_view text,
                                          const EncodeOptions& options) const {
  std::vector<TokenId> out;
  Encode(text, options, &out);
  return out;
}

void BpeTokenizer::Encode(std::string_view text, const EncodeOptions& options,
                          std::vector<TokenId>* out) const {
  Scratch scratch;
  if (options.add_special && add_bos_) out->push_back(bos_id_);
  specials_.Split(text, options.parse_special, &scratch.fragments);
  for (const TextFragment& f : scratch.fragments) {
    if (f.token >= 0) {
      out->push_back(f.token);
    } else {
      EncodeRaw(text.substr(f.begin, f.end - f.begin), &scratch, out);
    }
  }
  if (options.add_special && add_eos_) out->push_back(eos_id_);
}

void BpeTokenizer::EncodeRaw(std::string_view text, Scratch* scratch,
                             std::vector<TokenId>* out) const {
  // Positions below are 32-bit. Text beyond kMaxRawPiece is cut at a character boundary
  // and tokenized piece by piece: no real prompt is that long, and this keeps an absurd
  // one memory-safe rather than wrapping offsets.
  constexpr size_t kMaxRawPiece = size_t{1} << 29;  // at most 1.5 GiB once re-encoded
  while (text.size() > kMaxRawPiece) {
    size_t cut = kMaxRawPiece;
    while (cut > kMaxRawPiece - 4 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
    EncodeRaw(text.substr(0, cut), scratch, out);
    text.remove_prefix(cut);
  }
  CodepointText& decoded = scratch->decoded;
  DecodeForPreTokenizer(text, &decoded);
  scratch->word_ends.clear();
  SplitWords(pre_.kind, decoded, &scratch->word_ends);
  uint32_t start = 0;
  for (uint32_t end : scratch->word_ends) {
    const uint32_t b = decoded.offsets[start];
    EncodeWord(std::string_view(decoded.bytes).substr(b, decoded.offsets[end] - b), scratch, out);
    start = end;
  }
}

void BpeTokenizer::EncodeWord(std::string_view word, Scratch* scratch,
                              std::vector<TokenId>* out) const {
  if (word.size() == 1) {
    const TokenId id = byte_token_[static_cast<uint8_t>(word[0])];
    if (id >= 0) {
      out->push_back(id);
    } else {
      EmitBytes(word, out);
    }
    return;
  }
  if (pre_.ignore_merges) {
    auto it = bytes_to_token_.find(word);
    if (it != bytes_to_token_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  auto& symbols = scratch->symbols;
  auto& heap = scratch->heap;
  symbols.clear();
  heap.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols.push_back({byte_token_[static_cast<uint8_t>(word[i])], static_cast<uint32_t>(i), 1,
                       i - 1, i + 1 < n ? i + 1 : -1});
  }
  auto push_candidate = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Merge* m = FindMerge(symbols[left].token, symbols[right].token);
    if (m == nullptr) return;
    heap.push_back({m->rank, left, right, symbols[left].len + symbols[right].len, m->result});
    std::push_heap(heap.begin(), heap.end(), LaterCandidate());
  };
  for (int32_t i = 1; i < n; ++i) push_candidate(i - 1, i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), LaterCandidate());
    const Scratch::Candidate c = heap.back();
    heap.pop_back();
    Scratch::Symbol& left = symbols[c.left];
    Scratch::Symbol& right = symbols[c.right];
    // Symbols only grow, so equal lengths mean neither changed since it was queued.
    if (left.len == 0 || right.len == 0 || left.next != c.right ||
        left.len + right.len != c.len) {
      continue;
    }
    left.token = c.result;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    push_candidate(left.prev, c.left);
    push_candidate(c.left, left.next);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const Scratch::Symbol& s = symbols[i];
    if (s.token >= 0) {
      out->push_back(s.token);
      continue;
    }
    // A byte without a token, or a merge whose result is not in the vocabulary.
    EmitBytes(word.substr(s.start, s.len), out);
  }
}

void BpeTokenizer::EmitBytes(std::string_view bytes, std::vector<TokenId>* out) const {
  for (char c : bytes) {
    for (TokenId id : fallback_[static_cast<uint8_t>(c)]) {
      if (id >= 0) out->push_back(id);
    }
  }
}

absl::StatusOr<std::string_view> BpeTokenizer::TokenPiece(TokenId id, bool render_special) const {
  if (!IsValidId(id)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("token id %d outside the vocabulary [0, %d)", id, vocab_size()));
  }
  const TokenType type = types_[id];
  if (!render_special && (type == TokenType::kControl || type == TokenType::kUnknown)) {
    return std::string_view();
  }
  return std::string_view(piece_arena_).substr(piece_offsets_[id],
                                               piece_offsets_[id + 1] - piece_offsets_[id]);
}

absl::StatusOr<std::string> BpeTokenizer::Decode(std::span<const TokenId> ids,
                                                 const DecodeOptions& options) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StatusOr<std::string_view> piece = TokenPiece(ids[i], options.render_special);
    if (!piece.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ids[%d]: %s", i, piece.status().message()));
    }
    out.append(*piece);
  }
  return out;
}

}  // namespace smollm::runtime

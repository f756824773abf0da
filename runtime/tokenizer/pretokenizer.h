// Pre-tokenizers: split text into the words that BPE merges within, one hand-written
// matcher per split regex (no regex engine), following llama.cpp's semantics exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace smollm::runtime {

// The split rules we implement, by the regexes they stand for.
enum class PreTokenizerKind {
  // GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // SmolLM (also StarCoder): every \p{N} codepoint is split off on its own first, then
  // the GPT-2 rule runs inside each remaining piece (its lookahead stops at the piece's
  // end, so "a  1" gives "a", "  ", "1").
  kSmolLm,
  // Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  //          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  // with the case-insensitive part ASCII-only, as llama.cpp adapted it.
  kLlama3,
};

// How a `tokenizer.ggml.pre` name configures the tokenizer.
struct PreTokenizerConfig {
  PreTokenizerKind kind = PreTokenizerKind::kGpt2;
  // A word that is itself a vocabulary token is emitted whole, without merging
  // (llama.cpp sets this for "llama-bpe" and its aliases, not for "smaug-bpe").
  bool ignore_merges = false;
};

// Maps `tokenizer.ggml.pre` to its configuration: "gpt-2"; "smollm", "starcoder";
// "llama-bpe", "llama3", "llama-v3"; "smaug-bpe". Anything else is InvalidArgument
// naming the value and listing the supported names.
absl::StatusOr<PreTokenizerConfig> PreTokenizerFromName(std::string_view name);

// Input text as the pre-tokenizer sees it. Reused between calls to avoid allocations.
struct CodepointText {
  std::vector<uint32_t> cps;      // [n] codepoints (DecodeUtf8Lenient)
  std::vector<uint8_t> flags;     // [n] UnicodeFlags(cps[i])
  std::vector<uint32_t> offsets;  // [n + 1] byte offset of cps[i] in `bytes`
  // The codepoints re-encoded: the input with each undecodable byte replaced by the
  // 3 bytes of U+FFFD and overlong forms shortened, which is what BPE then sees.
  std::string bytes;
};

// Decodes `text` into *out (its previous contents are replaced; capacity is kept).
void DecodeForPreTokenizer(std::string_view text, CodepointText* out);

// Splits text.cps into words: appends the end index (exclusive, in codepoints) of each
// non-empty word, in order, to *word_ends. The words tile [0, n).
void SplitWords(PreTokenizerKind kind, const CodepointText& text,
                std::vector<uint32_t>* word_ends);

// Convenience for tests and tools: the words of `text` as (re-encoded) UTF-8 strings.
std::vector<std::string> PreTokenize(PreTokenizerKind kind, std::string_view text);

}  // namespace smollm::runtime

// Hand-written matchers for the GPT-2, SmolLM and Llama 3 split regexes.
#include "runtime/tokenizer/pretokenizer.h"

#include "absl/strings/str_format.h"
#include "runtime/tokenizer/unicode_flags.h"
#include "runtime/tokenizer/utf8.h"

namespace smollm::runtime {
namespace {

struct NamedConfig {
  std::string_view name;
  PreTokenizerConfig config;
};

constexpr NamedConfig kNamedConfigs[] = {
    {"gpt-2", {PreTokenizerKind::kGpt2, false}},
    {"smollm", {PreTokenizerKind::kSmolLm, false}},
    {"starcoder", {PreTokenizerKind::kSmolLm, false}},
    {"llama-bpe", {PreTokenizerKind::kLlama3, true}},
    {"llama3", {PreTokenizerKind::kLlama3, true}},
    {"llama-v3", {PreTokenizerKind::kLlama3, true}},
    {"smaug-bpe", {PreTokenizerKind::kLlama3, false}},
};

// Flags as the matchers read them: kPresent marks a position inside the range being
// split, so that "no character" (0) differs from an unassigned codepoint.
constexpr uint16_t kPresent = 0x100;
constexpr uint16_t kWordLike = kUnicodeWhitespace | kUnicodeLetter | kUnicodeNumber;
constexpr uint32_t kNone = 0xFFFFFFFF;

// A [begin, end) slice of the text plus the word boundaries found so far. Lookahead
// past `end` sees nothing, as in llama.cpp where each piece is matched on its own.
class Matcher {
 public:
  Matcher(const CodepointText& text, uint32_t begin, uint32_t end,
          std::vector<uint32_t>* word_ends)
      : cps_(text.cps.data()), flags_(text.flags.data()), end_(end), prev_end_(begin),
        word_ends_(word_ends) {}

  uint32_t end() const { return end_; }
  uint32_t Cp(uint32_t pos) const { return pos < end_ ? cps_[pos] : kNone; }
  uint16_t Flags(uint32_t pos) const { return pos < end_ ? (flags_[pos] | kPresent) : 0; }
  // Closes the current word at `pos` (no-op for an empty word).
  void Emit(uint32_t pos) {
    if (pos > prev_end_) word_ends_->push_back(pos);
    prev_end_ = pos;
  }

 private:
  const uint32_t* cps_;
  const uint8_t* flags_;
  uint32_t end_;
  uint32_t prev_end_;
  std::vector<uint32_t>* word_ends_;
};

inline bool IsPunctLike(uint16_t f) { return f != 0 && (f & kWordLike) == 0; }
inline bool IsCrLf(uint32_t c) { return c == '\r' || c == '\n'; }
inline uint32_t AsciiLower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length of a contraction ('s 't 're 've 'm 'll 'd) at pos, 0 if none.
uint32_t ContractionLength(const Matcher& m, uint32_t pos, bool ignore_case) {
  if (m.Cp(pos) != '\'' || pos + 1 >= m.end()) return 0;
  auto fold = [&](uint32_t c) { return ignore_case ? AsciiLower(c) : c; };
  const uint32_t c1 = fold(m.Cp(pos + 1));
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (pos + 2 >= m.end()) return 0;
  const uint32_t c2 = fold(m.Cp(pos + 2));
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
    return 3;
  }
  return 0;
}

// Shared tail of both rules: a whitespace run at pos. \s+(?!\S) leaves the last
// whitespace for the next word when a non-space follows; at the end it takes the run.
uint32_t WhitespaceRunEnd(const Matcher& m, uint32_t pos, uint32_t n_ws) {
  if (n_ws > 1 && pos + n_ws < m.end()) return pos + n_ws - 1;
  return pos + n_ws;
}

void SplitGpt2(Matcher& m, uint32_t pos) {
  while (pos < m.end()) {
    const uint32_t c = m.Cp(pos);
    if (const uint32_t n = ContractionLength(m, pos, /*ignore_case=*/false)) {
      pos += n;
      m.Emit(pos);
      continue;
    }
    const bool space = c == ' ';
    const uint16_t f = space ? m.Flags(pos + 1) : m.Flags(pos);
    if (f & (kUnicodeLetter | kUnicodeNumber)) {  // ' ?\p{L}+' or ' ?\p{N}+'
      const uint16_t cls = f & (kUnicodeLetter | kUnicodeNumber);
      pos += space;
      while (m.Flags(pos) & cls) ++pos;
      m.Emit(pos);
      continue;
    }
    if (IsPunctLike(f)) {  // ' ?[^\s\p{L}\p{N}]+'
      pos += space;
      while (IsPunctLike(m.Flags(pos))) ++pos;
      m.Emit(pos);
      continue;
    }
    uint32_t n_ws = 0;
    while (m.Flags(pos + n_ws) & kUnicodeWhitespace) ++n_ws;
    pos = n_ws > 0 ? WhitespaceRunEnd(m, pos, n_ws) : pos + 1;
    m.Emit(pos);
  }
}

void SplitLlama3(Matcher& m, uint32_t pos) {
  while (pos < m.end()) {
    const uint32_t c = m.Cp(pos);
    const uint16_t f = m.Flags(pos);
    if (const uint32_t n = ContractionLength(m, pos, /*ignore_case=*/true)) {
      pos += n;
      m.Emit(pos);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!IsCrLf(c) && !(f & kUnicodeNumber) &&
        ((f & kUnicodeLetter) || (m.Flags(pos + 1) & kUnicodeLetter))) {
      ++pos;
      while (m.Flags(pos) & kUnicodeLetter) ++pos;
      m.Emit(pos);
      continue;
    }
    // \p{N}{1,3}
    if (f & kUnicodeNumber) {
      uint32_t start = pos;
      while (m.Flags(pos) & kUnicodeNumber) {
        if (++pos - start >= 3) {
          m.Emit(pos);
          start = pos;
        }
      }
      m.Emit(pos);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'. A lone space at the end lands here too and yields
    // " ", the same word \s+ would give.
    const uint16_t f2 = c == ' ' ? m.Flags(pos + 1) : f;
    if ((f2 & kWordLike) == 0) {
      pos += c == ' ';
      while (IsPunctLike(m.Flags(pos))) ++pos;
      while (IsCrLf(m.Cp(pos))) ++pos;
      m.Emit(pos);
      continue;
    }
    // \s*[\r\n]+ ends after the run's last CR/LF; otherwise \s+(?!\S) or \s+.
    uint32_t n_ws = 0;
    uint32_t last_crlf_end = 0;
    while (m.Flags(pos + n_ws) & kUnicodeWhitespace) {
      if (IsCrLf(m.Cp(pos + n_ws))) last_crlf_end = pos + n_ws + 1;
      ++n_ws;
    }
    if (last_crlf_end > 0) {
      pos = last_crlf_end;
    } else {
      pos = n_ws > 0 ? WhitespaceRunEnd(m, pos, n_ws) : pos + 1;
    }
    m.Emit(pos);
  }
}

}  // namespace

absl::StatusOr<PreTokenizerConfig> PreTokenizerFromName(std::string_view name) {
  std::string names;
  for (const NamedConfig& nc : kNamedConfigs) {
    if (nc.name == name) return nc.config;
    absl::StrAppendFormat(&names, "%s%s", names.empty() ? "" : ", ", nc.name);
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "tokenizer.ggml.pre: unsupported pre-tokenizer '%s'; supported: %s", name, names));
}

void DecodeForPreTokenizer(std::string_view text, CodepointText* out) {
  out->cps.clear();
  out->flags.clear();
  out->offsets.clear();
  out->bytes.clear();
  out->cps.reserve(text.size());
  out->flags.reserve(text.size());
  out->offsets.reserve(text.size() + 1);
  out->bytes.reserve(text.size() + 8);
  size_t pos = 0;
  while (pos < text.size()) {
    const auto b = static_cast<uint8_t>(text[pos]);
    uint32_t cp;
    if (b < 0x80) {  // ASCII fast path
      cp = b;
      ++pos;
    } else {
      pos += DecodeUtf8Lenient(text, pos, &cp);
    }
    out->cps.push_back(cp);
    out->flags.push_back(UnicodeFlags(cp));
    out->offsets.push_back(static_cast<uint32_t>(out->bytes.size()));
    if (cp < 0x80) {
      out->bytes.push_back(static_cast<char>(cp));
    } else {
      AppendUtf8(cp, &out->bytes);
    }
  }
  out->offsets.push_back(static_cast<uint32_t>(out->bytes.size()));
}

void SplitWords(PreTokenizerKind kind, const CodepointText& text,
                std::vector<uint32_t>* word_ends) {
  const auto n = static_cast<uint32_t>(text.cps.size());
  switch (kind) {
    case PreTokenizerKind::kGpt2: {
      Matcher m(text, 0, n, word_ends);
      SplitGpt2(m, 0);
      return;
    }
    case PreTokenizerKind::kLlama3: {
      Matcher m(text, 0, n, word_ends);
      SplitLlama3(m, 0);
      return;
    }
    case PreTokenizerKind::kSmolLm: {
      // First pass: each \p{N} codepoint is a piece of its own; GPT-2 splits the rest.
      uint32_t piece_start = 0;
      for (uint32_t i = 0; i <= n; ++i) {
        const bool number = i < n && (text.flags[i] & kUnicodeNumber);
        if (i < n && !number) continue;
        if (i > piece_start) {
          Matcher m(text, piece_start, i, word_ends);
          SplitGpt2(m, piece_start);
        }
        if (number) word_ends->push_back(i + 1);
        piece_start = i + 1;
      }
      return;
    }
  }
}

std::vector<std::string> PreTokenize(PreTokenizerKind kind, std::string_view text) {
  CodepointText decoded;
  DecodeForPreTokenizer(text, &decoded);
  std::vector<uint32_t> ends;
  SplitWords(kind, decoded, &ends);
  std::vector<std::string> words;
  words.reserve(ends.size());
  uint32_t start = 0;
  for (uint32_t end : ends) {
    words.emplace_back(decoded.bytes.substr(decoded.offsets[start],
                                            decoded.offsets[end] - decoded.offsets[start]));
    start = end;
  }
  return words;
}

}  // namespace smollm::runtime

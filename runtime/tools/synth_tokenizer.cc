// Synthetic byte-level BPE vocabularies with SmolLM3's and SmolLM2's special-token layouts.
#include "runtime/tools/synth_tokenizer.h"

#include <array>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "runtime/tools/synth_random.h"

namespace smollm::runtime {
namespace {

constexpr int kMaxSyntheticVocab = 1 << 20;
constexpr int kMaxWordChars = 12;   // longest merged token, in characters
constexpr int kMaxDrawsPerToken = 10000;

// SmolLM3 (Llama-3 layout): the last 256 ids are control tokens; these have names.
constexpr int kSmolLM3SpecialBlock = 256;
struct NamedSpecial {
  int offset;  // from the start of the special block (128000 in the real vocabulary)
  std::string_view text;
};
constexpr NamedSpecial kSmolLM3Specials[] = {
    {0, "<|begin_of_text|>"}, {1, "<|end_of_text|>"},  {2, "<think>"},
    {3, "</think>"},          {11, "<|im_start|>"},    {12, "<|im_end|>"},
    {13, "<tool_response>"},  {14, "</tool_response>"}, {15, "<tool_call>"},
    {16, "</tool_call>"},
};
constexpr int kSmolLM3Bos = 0;   // offsets in the block
constexpr int kSmolLM3Eos = 12;

// SmolLM2: 17 control tokens at ids 0-16.
constexpr std::string_view kSmolLM2Specials[] = {
    "<|endoftext|>",   "<|im_start|>",    "<|im_end|>",     "<repo_name>",
    "<reponame>",      "<file_sep>",      "<filename>",     "<gh_stars>",
    "<issue_start>",   "<issue_comment>", "<issue_closed>", "<jupyter_start>",
    "<jupyter_text>",  "<jupyter_code>",  "<jupyter_output>", "<jupyter_script>",
    "<empty_output>",
};

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {  // every code point here is below 0x800
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Characters of a token made of ASCII letters and 'Ġ' (two bytes in UTF-8).
int CharCount(std::string_view s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// Adds `count` merged tokens (and their merges) to `vocab`. Words are 'Ġ'? + letters:
// the left part is any word (or 'Ġ' alone) and the right part a letters-only word, so
// every result is itself a word. Picks favour early, short tokens, as real merge lists
// build short pieces first.
absl::Status AddMergedTokens(SynthVocab& vocab, int count, uint64_t seed) {
  SynthRng rng(seed, /*stream=*/0x70c);
  std::vector<std::string> left;     // words usable on the left ('Ġ' and every word)
  std::vector<std::string> letters;  // letters-only words, usable on the right
  absl::flat_hash_set<std::string> seen(vocab.tokens.begin(), vocab.tokens.end());
  left.push_back("\xc4\xa0");  // 'Ġ', the byte token of ' '
  for (char c = 'a'; c <= 'z'; ++c) letters.push_back(std::string(1, c));
  for (char c = 'A'; c <= 'Z'; ++c) letters.push_back(std::string(1, c));
  for (const std::string& l : letters) left.push_back(l);

  auto pick = [&rng](const std::vector<std::string>& pool) -> const std::string& {
    // u^3 skews towards the front of the pool.
    const float u = rng.Uniform();
    const uint64_t i = static_cast<uint64_t>(u * u * u * static_cast<float>(pool.size()));
    return pool[i < pool.size() ? i : pool.size() - 1];
  };
  for (int n = 0; n < count; ++n) {
    bool added = false;
    for (int draw = 0; draw < kMaxDrawsPerToken && !added; ++draw) {
      const std::string& a = pick(left);
      const std::string& b = pick(letters);
      std::string word = absl::StrCat(a, b);
      if (CharCount(word) > kMaxWordChars || seen.contains(word)) continue;
      vocab.merges.push_back(absl::StrCat(a, " ", b));
      seen.insert(word);
      vocab.tokens.push_back(word);
      vocab.token_types.push_back(kTokenTypeNormal);
      if (word.rfind("\xc4\xa0", 0) != 0) letters.push_back(word);
      left.push_back(std::move(word));
      added = true;
    }
    if (!added) {
      return absl::InternalError(absl::StrCat("could not find a new merge after ",
                                              vocab.merges.size(), " merges"));
    }
  }
  return absl::OkStatus();
}

void AddByteTokens(SynthVocab& vocab) {
  for (const std::string& t : ByteTokens()) {
    vocab.tokens.push_back(t);
    vocab.token_types.push_back(kTokenTypeNormal);
  }
}

}  // namespace

const std::vector<std::string>& ByteTokens() {
  static const std::vector<std::string>* tokens = [] {
    // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68
    // bytes to U+0100 onwards, in byte order; the list starts with the printable ones.
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xa1; b <= 0xac; ++b) printable[b] = true;
    for (int b = 0xae; b <= 0xff; ++b) printable[b] = true;
    auto* out = new std::vector<std::string>();
    for (int b = 0; b < 256; ++b) {
      if (!printable[b]) continue;
      std::string s;
      AppendUtf8(s, static_cast<uint32_t>(b));
      out->push_back(std::move(s));
    }
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      if (printable[b]) continue;
      std::string s;
      AppendUtf8(s, next++);
      out->push_back(std::move(s));
    }
    return out;
  }();
  return *tokens;
}

absl::StatusOr<SynthVocab> MakeSyntheticVocab(Architecture arch, int vocab_size,
                                              uint64_t seed) {
  SynthVocab v;
  v.tokens.reserve(static_cast<size_t>(vocab_size > 0 ? vocab_size : 0));
  if (arch == Architecture::kSmolLM3) {
    constexpr int kMin = 256 + kSmolLM3SpecialBlock;
    if (vocab_size < kMin || vocab_size > kMaxSyntheticVocab) {
      return absl::InvalidArgumentError(absl::StrCat("vocab size ", vocab_size,
                                                     " is outside [", kMin, ", ",
                                                     kMaxSyntheticVocab, "] for smollm3"));
    }
    v.pre = "smaug-bpe";
    AddByteTokens(v);
    const int block = vocab_size - kSmolLM3SpecialBlock;
    if (absl::Status s = AddMergedTokens(v, block - 256, seed); !s.ok()) return s;
    std::vector<std::string> specials(kSmolLM3SpecialBlock);
    for (int i = 0; i < kSmolLM3SpecialBlock; ++i) {
      specials[i] = absl::StrCat("<|reserved_special_token_", i, "|>");
    }
    for (const NamedSpecial& s : kSmolLM3Specials) specials[s.offset] = std::string(s.text);
    for (std::string& s : specials) {
      v.tokens.push_back(std::move(s));
      v.token_types.push_back(kTokenTypeControl);
    }
    v.bos = block + kSmolLM3Bos;
    v.eos = block + kSmolLM3Eos;
    v.pad = v.eos;
    return v;
  }

  constexpr int kSpecials = static_cast<int>(std::size(kSmolLM2Specials));
  constexpr int kMin = kSpecials + 256;
  if (vocab_size < kMin || vocab_size > kMaxSyntheticVocab) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vocab size ", vocab_size, " is outside [", kMin, ", ", kMaxSyntheticVocab,
        "] for llama"));
  }
  v.pre = "smollm";
  for (std::string_view s : kSmolLM2Specials) {
    v.tokens.push_back(std::string(s));
    v.token_types.push_back(kTokenTypeControl);
  }
  AddByteTokens(v);
  if (absl::Status s = AddMergedTokens(v, vocab_size - kMin, seed); !s.ok()) return s;
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.pad = 2;
  v.add_space_prefix = false;
  return v;
}

}  // namespace smollm::runtime

// BpeTokenizer on synthetic vocabularies: merge order, byte fallback, specials, flags.
#include "runtime/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/tokenizer/synthetic_vocab.h"

namespace smollm::runtime {
namespace {

using ::smollm::runtime::testing::SyntheticVocab;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr EncodeOptions kPlain{.add_special = false, .parse_special = false};

BpeTokenizer MustCreate(const TokenizerData& data) {
  absl::StatusOr<BpeTokenizer> tok = BpeTokenizer::Create(data);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return std::move(tok).value();
}

std::string MustDecode(const BpeTokenizer& tok, const std::vector<TokenId>& ids,
                       bool render_special = false) {
  absl::StatusOr<std::string> text = tok.Decode(ids, {.render_special = render_special});
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

TEST(BpeTokenizer, EveryByteHasAToken) {
  // Byte tokens in a scrambled order, so that ids and byte values differ.
  std::vector<int> order(256);
  for (int i = 0; i < 256; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  SyntheticVocab v;
  v.AddByteTokens(order);
  BpeTokenizer tok = MustCreate(v.data());
  std::vector<TokenId> id_of(256);
  for (int i = 0; i < 256; ++i) id_of[order[i]] = i;

  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    // Decoding: every byte token stands for exactly its byte.
    EXPECT_EQ(MustDecode(tok, {id_of[b]}), byte) << b;
    // Encoding: ASCII bytes on their own, the others inside a well-formed sequence.
    std::string text;
    if (b < 0x80) {
      text = byte;
    } else if (b < 0xC0) {
      text = "\xC2" + byte;  // continuation byte
    } else if (b >= 0xC2 && b <= 0xDF) {
      text = byte + "\x80";
    } else if (b == 0xE0) {
      text = "\xE0\xA0\x80";
    } else if (b >= 0xE1 && b <= 0xEF) {
      text = byte + "\x80\x80";
    } else if (b == 0xF0) {
      text = "\xF0\x90\x80\x80";
    } else if (b >= 0xF1 && b <= 0xF4) {
      text = byte + "\x80\x80\x80";
    } else {
      continue;  // C0, C1, F5..FF never occur in UTF-8: see InvalidUtf8...
    }
    std::vector<TokenId> expected;
    for (char c : text) expected.push_back(id_of[static_cast<uint8_t>(c)]);
    EXPECT_EQ(tok.Encode(text, kPlain), expected) << b;
    EXPECT_EQ(MustDecode(tok, tok.Encode(text, kPlain)), text);
  }
}

TEST(BpeTokenizer, InvalidUtf8EncodesAsTheReplacementCharacter) {
  SyntheticVocab v;
  v.AddByteTokens();
  BpeTokenizer tok = MustCreate(v.data());
  const std::vector<TokenId> fffd = tok.Encode("\xEF\xBF\xBD", kPlain);
  EXPECT_THAT(fffd, ElementsAre(0xEF, 0xBF, 0xBD));
  for (int b : {0x80, 0xBF, 0xC3, 0xE2, 0xF0, 0xF5, 0xF8, 0xFF}) {
    EXPECT_EQ(tok.Encode(std::string(1, static_cast<char>(b)), kPlain), fffd) << b;
  }
  // Overlong C1 81 spells 'A'.
  EXPECT_THAT(tok.Encode("\xC1\x81", kPlain), ElementsAre('A'));
}

TEST(BpeTokenizer, LowerRankMergesFirst) {
  for (bool bc_first : {true, false}) {
    SyntheticVocab v;
    v.AddByteTokens();
    TokenId ab = -1, bc = -1;
    if (bc_first) {
      bc = v.AddMerge("b", "c");
      ab = v.AddMerge("a", "b");
    } else {
      ab = v.AddMerge("a", "b");
      bc = v.AddMerge("b", "c");
    }
    const TokenId abc = v.AddMerge("a", "bc");
    BpeTokenizer tok = MustCreate(v.data());
    if (bc_first) {
      EXPECT_THAT(tok.Encode("abc", kPlain), ElementsAre(abc));
    } else {
      EXPECT_THAT(tok.Encode("abc", kPlain), ElementsAre(ab, 'c'));
    }
    EXPECT_THAT(tok.Encode("bcab", kPlain), ElementsAre(bc, ab));
  }
}

TEST(BpeTokenizer, EqualRanksMergeLeftmostFirst) {
  SyntheticVocab v;
  v.AddByteTokens();
  const TokenId aa = v.AddMerge("a", "a");
  BpeTokenizer tok = MustCreate(v.data());
  EXPECT_THAT(tok.Encode("aaa", kPlain), ElementsAre(aa, 'a'));
  EXPECT_THAT(tok.Encode("aaaaa", kPlain), ElementsAre(aa, aa, 'a'));
}

TEST(BpeTokenizer, MergeWhoseResultIsNoTokenFallsBackToBytes) {
  SyntheticVocab v;
  v.AddByteTokens();
  v.AddMerge("x", "y", /*add_result=*/false);
  BpeTokenizer tok = MustCreate(v.data());
  EXPECT_THAT(tok.Encode("xyz", kPlain), ElementsAre('x', 'y', 'z'));
}

TEST(BpeTokenizer, BytesWithoutTokensAreDroppedAsByLlamaCpp) {
  // SmolLM2 has no token for 0x04, 0xC0, 0xFF and a few more.
  SyntheticVocab v;
  v.AddByteTokens();
  v.data().tokens[4] = "<four>";
  v.data().token_types[4] = TokenType::kControl;
  BpeTokenizer tok = MustCreate(v.data());
  EXPECT_EQ(tok.byte_token(4), -1);
  EXPECT_EQ(tok.byte_token('a'), 'a');
  EXPECT_THAT(tok.Encode("a\x04" "b", kPlain), ElementsAre('a', 'b'));
  EXPECT_THAT(tok.Encode("\x04\x04", kPlain), ElementsAre());
}

TEST(BpeTokenizer, NonTokenMergeKeepsOnlySingleCharSpellings) {
  // llama.cpp's fallback looks up each char of the byte-level text "\xC4\xA0x" (" x")
  // as a token text: only "x" is one, so the space disappears.
  SyntheticVocab v;
  v.AddByteTokens();
  v.AddMerge(" ", "x", /*add_result=*/false);
  BpeTokenizer tok = MustCreate(v.data());
  EXPECT_THAT(tok.Encode("a x", kPlain), ElementsAre('a', 'x'));
  EXPECT_THAT(tok.Encode("a y", kPlain), ElementsAre('a', ' ', 'y'));
}

// The textbook algorithm, O(n^2) per word: repeatedly merge the leftmost adjacent pair
// of lowest rank.
std::vector<std::string> NaiveBpe(const std::string& word,
                                  const std::map<std::pair<std::string, std::string>, int>& ranks) {
  std::vector<std::string> s;
  for (char c : word) s.emplace_back(1, c);
  while (true) {
    int best = -1, best_rank = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = ranks.find({s[i], s[i + 1]});
      if (it != ranks.end() && (best < 0 || it->second < best_rank)) {
        best = static_cast<int>(i);
        best_rank = it->second;
      }
    }
    if (best < 0) return s;
    s[best] += s[best + 1];
    s.erase(s.begin() + best + 1);
  }
}

TEST(BpeTokenizer, MatchesNaiveBpeOnRandomVocabulariesAndWords) {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 20; ++trial) {
    SyntheticVocab v;
    v.AddByteTokens();
    std::map<std::string, TokenId> ids;
    for (int b = 0; b < 256; ++b) ids[std::string(1, static_cast<char>(b))] = b;
    std::vector<std::string> pieces = {"a", "b", "c", "d"};
    std::map<std::pair<std::string, std::string>, int> ranks;
    for (int k = 0; k < 80; ++k) {
      const std::string& l = pieces[rng() % pieces.size()];
      const std::string& r = pieces[rng() % pieces.size()];
      if (ranks.count({l, r}) || l.size() + r.size() > 12) continue;
      ranks[{l, r}] = static_cast<int>(v.data().merges.size());
      const std::string merged = l + r;
      const bool is_new = !ids.count(merged);
      v.AddMerge(l, r, /*add_result=*/false);
      if (is_new) {
        ids[merged] = v.AddToken(merged);
        pieces.push_back(merged);
      }
    }
    BpeTokenizer tok = MustCreate(v.data());
    for (int w = 0; w < 50; ++w) {
      std::string word(1 + rng() % (w < 45 ? 40 : 600), 'a');
      for (char& c : word) c = static_cast<char>('a' + rng() % 4);
      std::vector<TokenId> expected;
      for (const std::string& piece : NaiveBpe(word, ranks)) expected.push_back(ids.at(piece));
      ASSERT_EQ(tok.Encode(word, kPlain), expected) << "trial " << trial << " word " << word;
      ASSERT_EQ(MustDecode(tok, expected), word);
    }
  }
}

// What the tokenizer sees of arbitrary bytes: invalid UTF-8 as U+FFFD, overlong forms
// shortened (see DecodeForPreTokenizer).
std::string Normalized(std::string_view bytes) {
  CodepointText decoded;
  DecodeForPreTokenizer(bytes, &decoded);
  return decoded.bytes;
}

TEST(BpeTokenizer, RandomBytesRoundTripThroughEveryPreTokenizer) {
  std::mt19937 rng(31337);
  const std::vector<std::string> atoms = {
      "a", "b", "Z", " ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "7", "123", ".", "!!",
      "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xD9\xA3", "\xE2\x80\x83", "<s>",
      "\xFF", "\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF5\x80\x80\x80", "\xF4\x90\x80\x80"};
  for (const char* pre : {"gpt-2", "smollm", "llama-bpe", "smaug-bpe"}) {
    SyntheticVocab v(pre);
    v.AddByteTokens();
    v.AddMerge(" ", "a");
    v.AddMerge("1", "2");
    v.AddMerge("\xE4", "\xB8");
    const TokenId s_tok = v.AddToken("<s>", TokenType::kControl);
    BpeTokenizer tok = MustCreate(v.data());
    for (int trial = 0; trial < 300; ++trial) {
      std::string text;
      const int n = rng() % 25;
      for (int i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
      if (trial % 10 == 0) {  // and some raw noise
        for (int i = rng() % 16; i > 0; --i) text.push_back(static_cast<char>(rng()));
      }
      const std::vector<TokenId> plain = tok.Encode(text, kPlain);
      ASSERT_EQ(MustDecode(tok, plain), Normalized(text)) << pre;
      const std::vector<TokenId> special =
          tok.Encode(text, {.add_special = false, .parse_special = true});
      ASSERT_EQ(MustDecode(tok, special, /*render_special=*/true), Normalized(text)) << pre;
      const bool has_s = text.find("<s>") != std::string::npos;
      ASSERT_EQ(std::count(special.begin(), special.end(), s_tok) > 0, has_s) << pre;
    }
  }
}

TEST(BpeTokenizer, WordsAreMergedSeparately) {
  SyntheticVocab v;
  v.AddByteTokens();
  const TokenId sp_a = v.AddMerge(" ", "a");
  const TokenId a_sp = v.AddMerge("a", " ");
  BpeTokenizer tok = MustCreate(v.data());
  // The pre-tokenizer gives "a", " a": "a " never forms.
  EXPECT_THAT(tok.Encode("a a", kPlain), ElementsAre('a', sp_a));
  EXPECT_NE(a_sp, sp_a);
}

TEST(BpeTokenizer, IgnoreMergesTakesWholeWordTokens) {
  for (const char* pre : {"llama-bpe", "smaug-bpe"}) {
    SyntheticVocab v(pre);
    v.AddByteTokens();
    const TokenId hello = v.AddToken("hello");  // no merges lead to it
    BpeTokenizer tok = MustCreate(v.data());
    if (std::string(pre) == "llama-bpe") {
      EXPECT_THAT(tok.Encode("hello", kPlain), ElementsAre(hello));
    } else {
      EXPECT_THAT(tok.Encode("hello", kPlain), ElementsAre('h', 'e', 'l', 'l', 'o'));
    }
  }
}

class SpecialTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v_.AddByteTokens();
    bos_ = v_.AddToken("<s>", TokenType::kControl);
    eos_ = v_.AddToken("</s>", TokenType::kControl);
    im_start_ = v_.AddToken("<|im_start|>", TokenType::kControl);
    user_ = v_.AddToken("<tool>", TokenType::kUserDefined);
    unused_ = v_.AddToken("<unused0>", TokenType::kUnused);
    v_.data().bos_id = bos_;
    v_.data().eos_id = eos_;
  }
  SyntheticVocab v_;
  TokenId bos_, eos_, im_start_, user_, unused_;
};

TEST_F(SpecialTokensTest, BosEosFollowTheFlags) {
  for (bool add_bos : {false, true}) {
    for (bool add_eos : {false, true}) {
      v_.data().add_bos = add_bos;
      v_.data().add_eos = add_eos;
      BpeTokenizer tok = MustCreate(v_.data());
      std::vector<TokenId> expected;
      if (add_bos) expected.push_back(bos_);
      expected.push_back('h');
      expected.push_back('i');
      if (add_eos) expected.push_back(eos_);
      EXPECT_EQ(tok.Encode("hi"), expected);
      EXPECT_THAT(tok.Encode("hi", kPlain), ElementsAre('h', 'i'));
      // Empty text still gets the specials, as in llama.cpp.
      EXPECT_EQ(tok.Encode("").size(), static_cast<size_t>(add_bos + add_eos));
    }
  }
}

TEST_F(SpecialTokensTest, ParseSpecialControlsControlTokens) {
  BpeTokenizer tok = MustCreate(v_.data());
  const EncodeOptions parse{.add_special = false, .parse_special = true};
  EXPECT_THAT(tok.Encode("<|im_start|>a", parse), ElementsAre(im_start_, 'a'));
  const std::vector<TokenId> plain = tok.Encode("<|im_start|>a", kPlain);
  EXPECT_EQ(plain.size(), 13u);  // one token per byte in this vocabulary
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_start_), 0);
  // User-defined tokens are always matched; unused ones never.
  EXPECT_THAT(tok.Encode("x<tool>", kPlain), ElementsAre('x', user_));
  EXPECT_EQ(tok.Encode("<unused0>", parse).size(), 9u);
}

TEST_F(SpecialTokensTest, DecodeRendersSpecialsOnRequest) {
  BpeTokenizer tok = MustCreate(v_.data());
  const std::vector<TokenId> ids = {bos_, 'h', user_, im_start_, unused_, eos_};
  EXPECT_EQ(MustDecode(tok, ids), "h<tool>");
  EXPECT_EQ(MustDecode(tok, ids, /*render_special=*/true), "<s>h<tool><|im_start|></s>");
  EXPECT_EQ(*tok.TokenPiece(im_start_, false), "");
  EXPECT_EQ(*tok.TokenPiece(im_start_, true), "<|im_start|>");
  EXPECT_EQ(tok.token_text(' '), "\xC4\xA0");
  EXPECT_EQ(tok.token_type(user_), TokenType::kUserDefined);
}

TEST_F(SpecialTokensTest, DecodeRejectsIdsOutsideTheVocabulary) {
  BpeTokenizer tok = MustCreate(v_.data());
  for (TokenId bad : {-1, tok.vocab_size(), 1 << 30}) {
    const auto text = tok.Decode(std::vector<TokenId>{'a', bad});
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(text.status().message(), HasSubstr("ids[1]"));
  }
}

// Each mutation of a valid vocabulary and the words its error must contain.
TEST(BpeTokenizerCreate, RejectsInvalidData) {
  auto base = [] {
    SyntheticVocab v;
    v.AddByteTokens();
    v.AddMerge("a", "b");
    v.AddToken("<s>", TokenType::kControl);
    return v.data();
  };
  struct Case {
    const char* expect;
    void (*mutate)(TokenizerData&);
  };
  const Case cases[] = {
      {"empty", [](TokenizerData& d) { d.tokens.clear(); d.token_types.clear(); }},
      {"token_types", [](TokenizerData& d) { d.token_types.pop_back(); }},
      {"token_types[3]", [](TokenizerData& d) { d.token_types[3] = static_cast<TokenType>(9); }},
      {"tokens[257]: duplicates tokens[256]", [](TokenizerData& d) { d.tokens[257] = d.tokens[256]; }},
      {"merges[0]", [](TokenizerData& d) { d.merges[0] = "ab"; }},
      {"merges[1]", [](TokenizerData& d) { d.merges.push_back("a "); }},
      {"'zz' is not a byte-level token", [](TokenizerData& d) { d.merges.push_back("a zz"); }},
      {"bos_id", [](TokenizerData& d) { d.bos_id = static_cast<TokenId>(d.tokens.size()); }},
      {"eos_id", [](TokenizerData& d) { d.eos_id = -2; }},
      {"pad_id", [](TokenizerData& d) { d.pad_id = 1 << 20; }},
      {"add_bos", [](TokenizerData& d) { d.add_bos = true; }},
      {"add_eos", [](TokenizerData& d) { d.add_eos = true; }},
      {"unsupported pre-tokenizer 'default'", [](TokenizerData& d) { d.pre = "default"; }},
  };
  ASSERT_TRUE(BpeTokenizer::Create(base()).ok());
  for (const Case& c : cases) {
    TokenizerData d = base();
    c.mutate(d);
    const auto tok = BpeTokenizer::Create(d);
    ASSERT_FALSE(tok.ok()) << c.expect;
    EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_THAT(tok.status().message(), HasSubstr(c.expect));
  }
}

TEST(BpeTokenizerCreate, EmptyTokenTypesMeanAllNormal) {
  SyntheticVocab v;
  v.AddByteTokens();
  v.data().token_types.clear();
  BpeTokenizer tok = MustCreate(v.data());
  EXPECT_EQ(tok.token_type(5), TokenType::kNormal);
  EXPECT_EQ(tok.vocab_size(), 256);
}

}  // namespace
}  // namespace smollm::runtime

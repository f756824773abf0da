// UTF-8 decoding (lenient, as llama.cpp's tokenizer; strict) and encoding.
#include "runtime/tokenizer/utf8.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

struct Decoded {
  uint32_t cp;
  size_t len;
};

Decoded Lenient(std::string_view s, size_t pos = 0) {
  uint32_t cp = 0;
  const size_t len = DecodeUtf8Lenient(s, pos, &cp);
  return {cp, len};
}

TEST(Utf8Lenient, WellFormedSequences) {
  EXPECT_EQ(Lenient("A").cp, 0x41u);
  EXPECT_EQ(Lenient("\xC3\xA9").cp, 0xE9u);
  EXPECT_EQ(Lenient("\xC3\xA9").len, 2u);
  EXPECT_EQ(Lenient("\xE2\x82\xAC").cp, 0x20ACu);
  EXPECT_EQ(Lenient("\xF0\x9F\x98\x80").cp, 0x1F600u);
  EXPECT_EQ(Lenient("\xF4\x8F\xBF\xBF").cp, 0x10FFFFu);
  EXPECT_EQ(Lenient("x\xC3\xA9", 1).cp, 0xE9u);
}

TEST(Utf8Lenient, InvalidBytesAreReplacementConsumingOneByte) {
  for (const char* s : {"\x80", "\xBF", "\xF8\x80\x80\x80\x80", "\xFF", "\xC3", "\xC3\x41",
                        "\xE2\x82", "\xE2\x41\x82", "\xF0\x9F\x98", "\xF0\x9F\x98\x41"}) {
    const Decoded d = Lenient(s);
    EXPECT_EQ(d.cp, kReplacementCharacter) << s;
    EXPECT_EQ(d.len, 1u) << s;
  }
}

TEST(Utf8Lenient, OverlongAndSurrogateFormsDecodeToTheirValue) {
  // llama.cpp does not check these: the tokenizer must see the same codepoints.
  EXPECT_EQ(Lenient(std::string("\xC0\x80", 2)).cp, 0u);
  EXPECT_EQ(Lenient("\xC1\xBF").cp, 0x7Fu);
  EXPECT_EQ(Lenient("\xE0\x80\xAF").cp, 0x2Fu);
  EXPECT_EQ(Lenient("\xED\xA0\x80").cp, 0xD800u);
  EXPECT_EQ(Lenient("\xF0\x80\x80\xAF").cp, 0x2Fu);
}

TEST(Utf8Lenient, AboveMaxCodepointIsReplacement) {
  EXPECT_EQ(Lenient("\xF4\x90\x80\x80").cp, kReplacementCharacter);
  EXPECT_EQ(Lenient("\xF4\x90\x80\x80").len, 1u);
  EXPECT_EQ(Lenient("\xF7\xBF\xBF\xBF").cp, kReplacementCharacter);
}

TEST(Utf8Strict, ClassifiesSequences) {
  uint32_t cp = 0;
  size_t len = 0;
  EXPECT_EQ(DecodeUtf8Strict("\xE2\x82\xAC", 0, &cp, &len), Utf8Step::kValid);
  EXPECT_EQ(cp, 0x20ACu);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(DecodeUtf8Strict("\xE2\x82", 0, &cp, &len), Utf8Step::kIncomplete);
  EXPECT_EQ(DecodeUtf8Strict("\xF0", 0, &cp, &len), Utf8Step::kIncomplete);
  // Maximal ill-formed subparts.
  EXPECT_EQ(DecodeUtf8Strict("\xE2\x82\x41", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(DecodeUtf8Strict("\xC0\x80", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(DecodeUtf8Strict("\xED\xA0\x80", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(DecodeUtf8Strict("\xE0\x80\x80", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(DecodeUtf8Strict("\xF4\x90\x80\x80", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(DecodeUtf8Strict("\xF0\x9F\x98\x41", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(DecodeUtf8Strict("\x80", 0, &cp, &len), Utf8Step::kInvalid);
  EXPECT_EQ(len, 1u);
}

TEST(Utf8, EncodeDecodeRoundTripOverRandomCodepoints) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<uint32_t> dist(0, 0x10FFFF);
  for (int i = 0; i < 20000; ++i) {
    uint32_t cp = dist(rng);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x1000;  // keep it valid for the strict check
    std::string s;
    AppendUtf8(cp, &s);
    ASSERT_TRUE(IsValidUtf8(s)) << cp;
    const Decoded d = Lenient(s);
    ASSERT_EQ(d.cp, cp);
    ASSERT_EQ(d.len, s.size());
  }
  char buf[4];
  EXPECT_EQ(EncodeUtf8(0x110000, buf), 0u);
}

TEST(Utf8, IsValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("a\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
}

}  // namespace
}  // namespace smollm::runtime

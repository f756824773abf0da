// Special-token partitioning: priority by length, non-overlap, parse_special.
#include "runtime/tokenizer/special_tokens.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

// Renders fragments as "raw text" or "#id" for compact expectations.
std::vector<std::string> Render(const SpecialTokenSplitter& s, std::string_view text,
                                bool parse_special) {
  std::vector<TextFragment> fragments;
  s.Split(text, parse_special, &fragments);
  std::vector<std::string> out;
  uint32_t expected_begin = 0;
  for (const TextFragment& f : fragments) {
    EXPECT_EQ(f.begin, expected_begin);
    EXPECT_LT(f.begin, f.end);
    expected_begin = f.end;
    out.push_back(f.token >= 0 ? "#" + std::to_string(f.token)
                               : std::string(text.substr(f.begin, f.end - f.begin)));
  }
  EXPECT_EQ(expected_begin, text.size());
  return out;
}

using V = std::vector<std::string>;

TEST(SpecialTokenSplitter, NoTokensGivesOneFragment) {
  SpecialTokenSplitter s;
  EXPECT_EQ(Render(s, "hello", true), V{"hello"});
  EXPECT_EQ(Render(s, "", true), V{});
}

TEST(SpecialTokenSplitter, ControlTokensNeedParseSpecial) {
  SpecialTokenSplitter s({{1, "<|x|>", false}, {3, "xyz", true}});
  EXPECT_EQ(Render(s, "a<|x|>b", true), (V{"a", "#1", "b"}));
  EXPECT_EQ(Render(s, "a<|x|>b", false), (V{"a<|x|>b"}));
  // User-defined tokens are split out either way.
  EXPECT_EQ(Render(s, "a<|x|>xyz", false), (V{"a<|x|>", "#3"}));
  EXPECT_EQ(Render(s, "xyz<|x|>xyz", true), (V{"#3", "#1", "#3"}));
}

TEST(SpecialTokenSplitter, LongerTokensClaimFirst) {
  SpecialTokenSplitter s({{1, "<|x|>", false}, {2, "<|x|><|x|>", false}});
  EXPECT_EQ(Render(s, "<|x|><|x|><|x|>", true), (V{"#2", "#1"}));
  EXPECT_EQ(Render(s, " <|x|> <|x|><|x|>", true), (V{" ", "#1", " ", "#2"}));
}

TEST(SpecialTokenSplitter, PriorityIsByLengthNotPosition) {
  // llama.cpp takes each token in turn over the whole text, longest first: the later,
  // longer "bcd" wins over the earlier "ab".
  SpecialTokenSplitter s({{7, "ab", false}, {8, "bcd", false}});
  EXPECT_EQ(Render(s, "abcd", true), (V{"a", "#8"}));
  EXPECT_EQ(Render(s, "ab bcd ab", true), (V{"#7", " ", "#8", " ", "#7"}));
}

TEST(SpecialTokenSplitter, EqualLengthTiesGoToTheLowerId) {
  SpecialTokenSplitter s({{6, "cdef", false}, {5, "abcd", false}});
  EXPECT_EQ(Render(s, "abcdef", true), (V{"#5", "ef"}));
}

TEST(SpecialTokenSplitter, OccurrencesOfOneTokenDoNotOverlap) {
  SpecialTokenSplitter s({{4, "aa", false}});
  EXPECT_EQ(Render(s, "aaaaa", true), (V{"#4", "#4", "a"}));
}

TEST(SpecialTokenSplitter, EmptyTextsAreIgnored) {
  SpecialTokenSplitter s({{1, "", false}, {2, "<s>", false}});
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(Render(s, "x<s>", true), (V{"x", "#2"}));
}

TEST(SpecialTokenSplitter, PrefixSharingTokens) {
  SpecialTokenSplitter s({{1, "<|im_start|>", false}, {2, "<|im_end|>", false},
                          {3, "<|im_", false}});
  EXPECT_EQ(Render(s, "<|im_start|>user<|im_end|><|im_x", true),
            (V{"#1", "user", "#2", "#3", "x"}));
  EXPECT_EQ(Render(s, "<|im_star", true), (V{"#3", "star"}));
}

}  // namespace
}  // namespace smollm::runtime

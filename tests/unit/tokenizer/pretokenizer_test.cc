// Pre-tokenizer splits on hand-picked cases (the corpus fixtures cover the rest).
#include "runtime/tokenizer/pretokenizer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Words = std::vector<std::string>;

Words Gpt2(std::string_view s) { return PreTokenize(PreTokenizerKind::kGpt2, s); }
Words SmolLm(std::string_view s) { return PreTokenize(PreTokenizerKind::kSmolLm, s); }
Words Llama3(std::string_view s) { return PreTokenize(PreTokenizerKind::kLlama3, s); }

TEST(PreTokenizerFromName, KnownNames) {
  EXPECT_EQ(PreTokenizerFromName("smollm")->kind, PreTokenizerKind::kSmolLm);
  EXPECT_EQ(PreTokenizerFromName("gpt-2")->kind, PreTokenizerKind::kGpt2);
  EXPECT_EQ(PreTokenizerFromName("llama-bpe")->kind, PreTokenizerKind::kLlama3);
  EXPECT_TRUE(PreTokenizerFromName("llama-bpe")->ignore_merges);
  EXPECT_EQ(PreTokenizerFromName("smaug-bpe")->kind, PreTokenizerKind::kLlama3);
  EXPECT_FALSE(PreTokenizerFromName("smaug-bpe")->ignore_merges);
  EXPECT_FALSE(PreTokenizerFromName("smollm")->ignore_merges);
}

TEST(PreTokenizerFromName, UnknownNameListsTheSupportedOnes) {
  const auto result = PreTokenizerFromName("qwen2");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("'qwen2'"));
  EXPECT_THAT(result.status().message(), HasSubstr("smollm"));
  EXPECT_THAT(result.status().message(), HasSubstr("smaug-bpe"));
  EXPECT_THAT(result.status().message(), HasSubstr("tokenizer.ggml.pre"));
}

TEST(PreTokenizer, EmptyText) {
  EXPECT_TRUE(Gpt2("").empty());
  EXPECT_TRUE(SmolLm("").empty());
  EXPECT_TRUE(Llama3("").empty());
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_THAT(Gpt2("Hello world's 123 !!"),
              ElementsAre("Hello", " world", "'s", " 123", " !!"));
  EXPECT_THAT(Gpt2("a   b"), ElementsAre("a", "  ", " b"));
  EXPECT_THAT(Gpt2("a  "), ElementsAre("a", "  "));
  EXPECT_THAT(Gpt2("x\n\ny"), ElementsAre("x", "\n", "\n", "y"));
  EXPECT_THAT(Gpt2("I'M"), ElementsAre("I", "'", "M"));  // case-sensitive contractions
  EXPECT_THAT(Gpt2("we'll've"), ElementsAre("we", "'ll", "'ve"));
}

TEST(PreTokenizer, SmolLmSplitsEveryNumberFirst) {
  EXPECT_THAT(SmolLm("abc 123"), ElementsAre("abc", " ", "1", "2", "3"));
  // The GPT-2 lookahead stops at the digit: the whole space run stays together.
  EXPECT_THAT(SmolLm("a   1"), ElementsAre("a", "   ", "1"));
  EXPECT_THAT(SmolLm("x\xC2\xB2y"), ElementsAre("x", "\xC2\xB2", "y"));  // superscript two
  EXPECT_THAT(SmolLm("v1.2"), ElementsAre("v", "1", ".", "2"));
}

TEST(PreTokenizer, Llama3) {
  EXPECT_THAT(Llama3("Hello world"), ElementsAre("Hello", " world"));
  EXPECT_THAT(Llama3("1234567"), ElementsAre("123", "456", "7"));
  EXPECT_THAT(Llama3("I'M HERE'S"), ElementsAre("I", "'M", " HERE", "'S"));
  EXPECT_THAT(Llama3("a\r\n\r\nb"), ElementsAre("a", "\r\n\r\n", "b"));
  EXPECT_THAT(Llama3("foo!!\n\nbar"), ElementsAre("foo", "!!\n\n", "bar"));
  EXPECT_THAT(Llama3("\tword  x"), ElementsAre("\tword", " ", " x"));
  EXPECT_THAT(Llama3("a 1"), ElementsAre("a", " ", "1"));
  EXPECT_THAT(Llama3("  \n  x"), ElementsAre("  \n", " ", " x"));
  EXPECT_THAT(Llama3("end "), ElementsAre("end", " "));
  EXPECT_THAT(Llama3("e\xCC\x81x"), ElementsAre("e", "\xCC\x81x"));  // combining mark
  EXPECT_THAT(Llama3("\xE4\xB8\xAD\xE6\x96\x87 ok"), ElementsAre("\xE4\xB8\xAD\xE6\x96\x87", " ok"));
}

TEST(PreTokenizer, InvalidBytesBecomeReplacementCharacters) {
  // U+FFFD is a symbol: it prefixes the following letters like any other.
  EXPECT_THAT(Llama3("a\xFF" "b"), ElementsAre("a", "\xEF\xBF\xBD" "b"));
  EXPECT_THAT(Gpt2("a\xFF\xFE"), ElementsAre("a", "\xEF\xBF\xBD\xEF\xBF\xBD"));
  // Overlong forms are shortened to the codepoint they spell.
  EXPECT_THAT(Gpt2("\xC1\x81" "b"), ElementsAre("Ab"));
}

TEST(PreTokenizer, WordsTileTheText) {
  const std::string text = "Mixed: \xD8\xB3\xD9\x84\xD8\xA7\xD9\x85 123,456\t\t end\r\n";
  for (auto kind : {PreTokenizerKind::kGpt2, PreTokenizerKind::kSmolLm, PreTokenizerKind::kLlama3}) {
    std::string joined;
    for (const std::string& w : PreTokenize(kind, text)) {
      EXPECT_FALSE(w.empty());
      joined += w;
    }
    EXPECT_EQ(joined, text);
  }
}

}  // namespace
}  // namespace smollm::runtime

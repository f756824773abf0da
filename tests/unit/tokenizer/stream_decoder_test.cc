// StreamDecoder: characters split across tokens, invalid bytes, flush.
#include "runtime/tokenizer/stream_decoder.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/unit/tokenizer/synthetic_vocab.h"

namespace smollm::runtime {
namespace {

using ::smollm::runtime::testing::SyntheticVocab;

const std::string kFffd = "\xEF\xBF\xBD";

class StreamDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v_.AddByteTokens();  // id == byte value
    zhong_head_ = v_.AddToken("\xE4\xB8");  // the first two bytes of 中
    im_end_ = v_.AddToken("<|im_end|>", TokenType::kControl);
    tok_.emplace(std::move(BpeTokenizer::Create(v_.data())).value());
  }
  // Pushes ids one at a time; returns the chunks emitted (flush last).
  std::vector<std::string> Stream(const std::vector<TokenId>& ids, bool render = false) {
    StreamDecoder d(*tok_, {.render_special = render});
    std::vector<std::string> chunks;
    for (TokenId id : ids) {
      auto chunk = d.Push(id);
      EXPECT_TRUE(chunk.ok()) << chunk.status();
      chunks.push_back(chunk.value_or("?"));
      EXPECT_LE(d.pending_bytes(), 3u);
    }
    chunks.push_back(d.Flush());
    EXPECT_EQ(d.pending_bytes(), 0u);
    return chunks;
  }
  SyntheticVocab v_;
  TokenId zhong_head_, im_end_;
  std::optional<BpeTokenizer> tok_;
};

using Chunks = std::vector<std::string>;

TEST_F(StreamDecoderTest, HoldsSplitCharactersUntilComplete) {
  EXPECT_EQ(Stream({'a', 0xC3, 0xA9, 'b'}), (Chunks{"a", "", "\xC3\xA9", "b", ""}));
  EXPECT_EQ(Stream({0xF0, 0x9F, 0x98, 0x80}), (Chunks{"", "", "", "\xF0\x9F\x98\x80", ""}));
  EXPECT_EQ(Stream({zhong_head_, 0xAD, '!'}), (Chunks{"", "\xE4\xB8\xAD", "!", ""}));
}

TEST_F(StreamDecoderTest, InvalidBytesBecomeReplacementAtOnce) {
  EXPECT_EQ(Stream({0xFF, 'a'}), (Chunks{kFffd, "a", ""}));
  EXPECT_EQ(Stream({0x80}), (Chunks{kFffd, ""}));
  // A sequence broken by an ASCII byte: one U+FFFD for the broken part.
  EXPECT_EQ(Stream({0xE2, 0x82, 'A'}), (Chunks{"", "", kFffd + "A", ""}));
  EXPECT_EQ(Stream({0xED, 0xA0, 0x80}), (Chunks{"", kFffd + kFffd, kFffd, ""}));  // surrogate
  EXPECT_EQ(Stream({0xC0, 0x80}), (Chunks{kFffd, kFffd, ""}));              // overlong
}

TEST_F(StreamDecoderTest, FlushReplacesAnUnfinishedCharacter) {
  EXPECT_EQ(Stream({'x', 0xF0, 0x9F}), (Chunks{"x", "", "", kFffd}));
  EXPECT_EQ(Stream({}), (Chunks{""}));
}

TEST_F(StreamDecoderTest, SpecialTokensFollowTheOption) {
  EXPECT_EQ(Stream({'a', im_end_}), (Chunks{"a", "", ""}));
  EXPECT_EQ(Stream({'a', im_end_}, true), (Chunks{"a", "<|im_end|>", ""}));
  // A special token in the middle of a character breaks it.
  EXPECT_EQ(Stream({0xC3, im_end_, 0xA9}, true), (Chunks{"", kFffd + "<|im_end|>", kFffd, ""}));
}

TEST_F(StreamDecoderTest, RejectsBadIdsWithoutLosingState) {
  StreamDecoder d(*tok_);
  std::string out;
  ASSERT_TRUE(d.Push(0xC3, &out).ok());
  EXPECT_EQ(d.Push(-5, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.Push(tok_->vocab_size(), &out).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(d.Push(0xA9, &out).ok());
  EXPECT_EQ(out, "\xC3\xA9");
}

// What the whole byte string becomes when converted at once.
std::string Sanitize(const std::string& bytes) {
  std::string out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint32_t cp;
    size_t len;
    switch (DecodeUtf8Strict(bytes, pos, &cp, &len)) {
      case Utf8Step::kValid:
        out.append(bytes, pos, len);
        pos += len;
        break;
      case Utf8Step::kInvalid:
        out += kFffd;
        pos += len;
        break;
      case Utf8Step::kIncomplete:
        return out + kFffd;
    }
  }
  return out;
}

TEST_F(StreamDecoderTest, StreamingEqualsWholeConversionOnRandomBytes) {
  std::mt19937 rng(99);
  // Mostly valid text with random damage, so both paths get exercised.
  const std::vector<std::string> atoms = {"a", " ", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80",
                                          "\xE2\x82", "\xFF", "\x80", "\xF0\x9F", "\xED\xA0\x80"};
  for (int trial = 0; trial < 500; ++trial) {
    std::string bytes;
    const int n = 1 + rng() % 30;
    for (int i = 0; i < n; ++i) bytes += atoms[rng() % atoms.size()];
    std::vector<TokenId> ids;
    for (char c : bytes) ids.push_back(static_cast<uint8_t>(c));
    std::string streamed;
    for (const std::string& chunk : Stream(ids)) {
      ASSERT_TRUE(IsValidUtf8(chunk));
      streamed += chunk;
    }
    ASSERT_EQ(streamed, Sanitize(bytes));
    // Valid input passes through unchanged.
    if (IsValidUtf8(bytes)) {
      ASSERT_EQ(streamed, bytes);
    }
  }
}

}  // namespace
}  // namespace smollm::runtime

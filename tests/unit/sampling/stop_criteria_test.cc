// StopCriteria: stop tokens, max tokens and stop strings over streamed pieces, with the
// held-back text never leaking part of a stop string.
#include "runtime/sampling/stop_criteria.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

constexpr int32_t kVocab = 1000;
constexpr TokenId kText = 5;  // an ordinary token
constexpr TokenId kEos = 999;

StopCriteria Make(std::vector<std::string> stops, int32_t max_tokens = 1000,
                  std::vector<TokenId> stop_tokens = {}) {
  SamplingParams params;
  params.stop_strings = std::move(stops);
  params.max_tokens = max_tokens;
  params.stop_token_ids = std::move(stop_tokens);
  const TokenId eos[] = {kEos};
  absl::StatusOr<StopCriteria> stop = StopCriteria::Create(params, kVocab, eos);
  EXPECT_TRUE(stop.ok()) << stop.status();
  return std::move(stop).value();
}

struct Streamed {
  std::string text;  // everything emitted, Flush included when not finished
  FinishReason reason = FinishReason::kNone;
  std::vector<std::string> emitted;  // per Feed
};

Streamed Stream(StopCriteria& stop, const std::vector<std::string>& pieces) {
  Streamed out;
  for (const std::string& piece : pieces) {
    StopUpdate update = stop.Feed(kText, piece);
    out.text += update.text;
    out.emitted.push_back(update.text);
    if (update.finished) {
      out.reason = update.reason;
      return out;
    }
  }
  out.text += stop.Flush();
  return out;
}

TEST(StopCriteriaTest, StopStringSplitAcrossPieces) {
  StopCriteria stop = Make({"</answer>"});
  const Streamed s = Stream(stop, {"The answer is 42", "</an", "swer", ">", " trailing"});
  EXPECT_EQ(s.reason, FinishReason::kStopString);
  EXPECT_EQ(s.text, "The answer is 42");
  // Nothing of the stop string was emitted while it was still forming.
  EXPECT_EQ(s.emitted, (std::vector<std::string>{"The answer is 42", "", "", ""}));
}

TEST(StopCriteriaTest, OverlappingPrefix) {
  StopCriteria stop = Make({"ab"});
  const Streamed s = Stream(stop, {"a", "a", "b", "c"});
  EXPECT_EQ(s.reason, FinishReason::kStopString);
  EXPECT_EQ(s.text, "a");
  // The first "a" is held (it may start "ab"), released when the second "a" comes.
  EXPECT_EQ(s.emitted, (std::vector<std::string>{"", "a", ""}));
}

TEST(StopCriteriaTest, SelfOverlappingStopString) {
  StopCriteria stop = Make({"aab"});
  EXPECT_EQ(Stream(stop, {"xaaa", "ab!"}).text, "xaa");
  StopCriteria stop2 = Make({"abab"});
  EXPECT_EQ(Stream(stop2, {"abaab", "ab"}).text, "aba");
}

TEST(StopCriteriaTest, FalseStartIsReleased) {
  StopCriteria stop = Make({"STOP"});
  const Streamed s = Stream(stop, {"ST", "OR", "Y ST", "ART"});
  EXPECT_EQ(s.reason, FinishReason::kNone);
  EXPECT_EQ(s.text, "STORY START");
  EXPECT_EQ(s.emitted, (std::vector<std::string>{"", "STOR", "Y ", "START"}));
}

TEST(StopCriteriaTest, MultipleStopStringsFirstCompletedWins) {
  StopCriteria stop = Make({"world", "lo w", "xyz"});
  const Streamed s = Stream(stop, {"hel", "lo wor", "ld"});
  EXPECT_EQ(s.reason, FinishReason::kStopString);
  EXPECT_EQ(s.text, "hel");  // "lo w" completes before "world"
  // Two ending at the same byte: the longer one is cut.
  StopCriteria stop2 = Make({"c", "abc"});
  EXPECT_EQ(Stream(stop2, {"xab", "cd"}).text, "x");
}

TEST(StopCriteriaTest, StopStringInsideOnePieceDropsTheRest) {
  StopCriteria stop = Make({"\n\n"});
  const Streamed s = Stream(stop, {"line one\n\nline two"});
  EXPECT_EQ(s.text, "line one");
  EXPECT_EQ(s.reason, FinishReason::kStopString);
  EXPECT_EQ(stop.Feed(kText, "more").text, "");  // finished: nothing more
  EXPECT_TRUE(stop.Feed(kText, "more").finished);
}

TEST(StopCriteriaTest, MultiByteUtf8StopString) {
  // "→" is E2 86 92; "↑" (E2 86 91) shares its first two bytes.
  StopCriteria stop = Make({"\xE2\x86\x92 end"});
  const Streamed s = Stream(stop, {"a \xE2\x86\x91 b ", "\xE2\x86\x92", " e", "nd"});
  EXPECT_EQ(s.text, "a \xE2\x86\x91 b ");
  EXPECT_EQ(s.reason, FinishReason::kStopString);
  // Emitted pieces are whole characters: the held part starts at a character boundary.
  EXPECT_EQ(s.emitted, (std::vector<std::string>{"a \xE2\x86\x91 b ", "", "", ""}));
}

TEST(StopCriteriaTest, FlushReleasesHeldText) {
  StopCriteria stop = Make({"<|end|>"});
  StopUpdate update = stop.Feed(kText, "done <|en");
  EXPECT_EQ(update.text, "done ");
  EXPECT_FALSE(update.finished);
  EXPECT_EQ(stop.held_bytes(), 4u);
  EXPECT_EQ(stop.Flush(), "<|en");
  EXPECT_EQ(stop.Flush(), "");
}

TEST(StopCriteriaTest, StopTokenReleasesHeldTextButNotItsPiece) {
  StopCriteria stop = Make({"###"}, 1000, {7});
  EXPECT_EQ(stop.Feed(kText, "x #").text, "x ");
  StopUpdate update = stop.Feed(7, "<stop piece>");
  EXPECT_TRUE(update.finished);
  EXPECT_EQ(update.reason, FinishReason::kStopToken);
  EXPECT_EQ(update.text, "#");
  // The extra (end-of-sequence) token stops too.
  StopCriteria stop2 = Make({});
  EXPECT_EQ(stop2.Feed(kEos, "</s>").reason, FinishReason::kStopToken);
}

TEST(StopCriteriaTest, MaxTokens) {
  StopCriteria stop = Make({"zz"}, 3);
  EXPECT_FALSE(stop.Feed(kText, "a").finished);
  EXPECT_FALSE(stop.Feed(kText, "b").finished);
  StopUpdate update = stop.Feed(kText, "cz");
  EXPECT_TRUE(update.finished);
  EXPECT_EQ(update.reason, FinishReason::kMaxTokens);
  EXPECT_EQ(update.text, "cz");  // the held "z" is released: generation is over
  EXPECT_EQ(stop.num_tokens(), 3);
  // A stop string completed by the last token still counts as a stop string.
  StopCriteria stop2 = Make({"zz"}, 2);
  EXPECT_EQ(stop2.Feed(kText, "az").text, "a");
  update = stop2.Feed(kText, "z");
  EXPECT_EQ(update.reason, FinishReason::kStopString);
  EXPECT_EQ(update.text, "");
}

TEST(StopCriteriaTest, RejectsInvalidParams) {
  SamplingParams params;
  params.stop_strings = {""};
  EXPECT_EQ(StopCriteria::Create(params, kVocab).status().code(),
            absl::StatusCode::kInvalidArgument);
  params.stop_strings = {};
  const TokenId bad[] = {kVocab};
  EXPECT_EQ(StopCriteria::Create(params, kVocab, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FinishReasonName(FinishReason::kStopString), "stop_string");
}

// Random texts over a tiny alphabet (many near-matches), random stop strings and random
// piece boundaries, against a direct search of the whole text.
TEST(StopCriteriaTest, RandomStreamsMatchWholeTextSearch) {
  std::mt19937 gen(12);
  auto random_string = [&](size_t len) {
    std::string s;
    for (size_t i = 0; i < len; ++i) s += "ab\xC3\xA9"[gen() % 3];  // bytes a, b, C3, A9
    return s;
  };
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::string> stops;
    const size_t num_stops = 1 + gen() % 4;
    for (size_t i = 0; i < num_stops; ++i) {
      std::string s;
      const size_t len = 1 + gen() % 5;
      for (size_t j = 0; j < len; ++j) s += gen() % 2 ? "a" : "b";
      stops.push_back(s);
    }
    const std::string text = random_string(gen() % 40);
    // Reference: the earliest end position of any stop; at that end, the longest stop.
    size_t cut = std::string::npos;
    for (size_t end = 1; end <= text.size() && cut == std::string::npos; ++end) {
      size_t longest = 0;
      for (const std::string& s : stops) {
        if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0) {
          longest = std::max(longest, s.size());
        }
      }
      if (longest > 0) cut = end - longest;
    }
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min(text.size() - pos, size_t{1} + gen() % 6);
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    StopCriteria stop = Make(stops);
    std::string streamed, fed;
    FinishReason reason = FinishReason::kNone;
    for (const std::string& piece : pieces) {
      const StopUpdate update = stop.Feed(kText, piece);
      streamed += update.text;
      fed += piece;
      if (update.finished) {
        reason = update.reason;
        break;
      }
      // Exactly the longest end of the text that could still start a stop string is
      // held: nothing more (the client sees text as early as possible), nothing less.
      size_t hold = 0;
      for (const std::string& s : stops) {
        for (size_t len = std::min(s.size() - 1, fed.size()); len > hold; --len) {
          if (fed.compare(fed.size() - len, len, s, 0, len) == 0) {
            hold = len;
            break;
          }
        }
      }
      ASSERT_EQ(stop.held_bytes(), hold) << "trial " << trial;
      ASSERT_EQ(streamed, fed.substr(0, fed.size() - hold));
    }
    if (reason == FinishReason::kNone) streamed += stop.Flush();
    const std::string expected = cut == std::string::npos ? text : text.substr(0, cut);
    ASSERT_EQ(streamed, expected) << "trial " << trial << " text " << text;
    ASSERT_EQ(reason, cut == std::string::npos ? FinishReason::kNone
                                               : FinishReason::kStopString);
  }
}

}  // namespace
}  // namespace smollm::runtime

// Validate(): defaults pass; every bad value is named with its limit.
#include "runtime/sampling/sampling_params.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

using smollm::testing::MessageContains;

constexpr int32_t kVocab = 49152;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Applies `edit` to default params and expects InvalidArgument mentioning each needle.
void ExpectInvalid(const std::function<void(SamplingParams&)>& edit,
                   std::initializer_list<std::string_view> needles) {
  SamplingParams params;
  edit(params);
  const absl::Status status = Validate(params, kVocab);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  for (std::string_view needle : needles) {
    EXPECT_TRUE(MessageContains(status, needle)) << status << " lacks " << needle;
  }
}

TEST(SamplingParamsTest, DefaultsAndBoundaryValuesAreValid) {
  EXPECT_TRUE(Validate(SamplingParams{}, kVocab).ok());
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_k = kVocab;
  p.top_p = 0.0f;
  p.min_p = 1.0f;
  p.repetition_penalty = kMaxRepetitionPenalty;
  p.repetition_window = kMaxRepetitionWindow;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.logit_bias = {{0, -kInf}, {kVocab - 1, 100.0f}, {7, -100.0f}};
  p.max_tokens = kMaxTokensLimit;
  p.stop_token_ids = {0, kVocab - 1};
  p.stop_strings.assign(kMaxStopStrings, std::string(kMaxStopStringBytes, 'x'));
  p.stop_strings[0] = "\xE2\x9C\x93 done";  // U+2713: multi-byte UTF-8 is fine
  p.top_logprobs = kMaxTopLogprobs;
  EXPECT_TRUE(Validate(p, kVocab).ok()) << Validate(p, kVocab);
}

TEST(SamplingParamsTest, RejectsBadFloats) {
  for (float bad : {kNaN, kInf, -kInf, -0.5f, 1e30f}) {
    SCOPED_TRACE(bad);
    ExpectInvalid([&](SamplingParams& p) { p.temperature = bad; }, {"temperature", "100"});
    ExpectInvalid([&](SamplingParams& p) { p.top_p = bad; }, {"top_p", "[0, 1]"});
    ExpectInvalid([&](SamplingParams& p) { p.min_p = bad; }, {"min_p", "[0, 1]"});
    ExpectInvalid([&](SamplingParams& p) { p.repetition_penalty = bad; },
                  {"repetition_penalty", "10"});
    if (bad != -0.5f) {  // -0.5 is a valid presence/frequency penalty
      ExpectInvalid([&](SamplingParams& p) { p.presence_penalty = bad; },
                    {"presence_penalty", "[-2, 2]"});
      ExpectInvalid([&](SamplingParams& p) { p.frequency_penalty = bad; },
                    {"frequency_penalty", "[-2, 2]"});
    }
  }
  ExpectInvalid([](SamplingParams& p) { p.repetition_penalty = 0.0f; },
                {"repetition_penalty"});
  ExpectInvalid([](SamplingParams& p) { p.presence_penalty = -2.5f; }, {"presence_penalty"});
  ExpectInvalid([](SamplingParams& p) { p.top_p = 1.0001f; }, {"top_p"});
}

TEST(SamplingParamsTest, RejectsBadIntegers) {
  ExpectInvalid([](SamplingParams& p) { p.top_k = -1; }, {"top_k", "49152"});
  ExpectInvalid([](SamplingParams& p) { p.top_k = kVocab + 1; }, {"top_k", "49153"});
  ExpectInvalid([](SamplingParams& p) { p.repetition_window = -1; }, {"repetition_window"});
  ExpectInvalid([](SamplingParams& p) { p.repetition_window = kMaxRepetitionWindow + 1; },
                {"repetition_window", "65536"});
  ExpectInvalid([](SamplingParams& p) { p.max_tokens = 0; }, {"max_tokens", "[1, "});
  ExpectInvalid([](SamplingParams& p) { p.max_tokens = -5; }, {"max_tokens"});
  ExpectInvalid([](SamplingParams& p) { p.max_tokens = kMaxTokensLimit + 1; },
                {"max_tokens", "1048576"});
  ExpectInvalid([](SamplingParams& p) { p.top_logprobs = 21; }, {"top_logprobs", "20"});
  ExpectInvalid([](SamplingParams& p) { p.top_logprobs = -1; }, {"top_logprobs"});
  EXPECT_EQ(Validate(SamplingParams{}, 0).code(), absl::StatusCode::kInvalidArgument);
}

TEST(SamplingParamsTest, RejectsBadLogitBias) {
  ExpectInvalid([](SamplingParams& p) { p.logit_bias[kVocab] = 1.0f; },
                {"logit_bias", "49152", "vocabulary"});
  ExpectInvalid([](SamplingParams& p) { p.logit_bias[-1] = 1.0f; }, {"logit_bias", "-1"});
  ExpectInvalid([](SamplingParams& p) { p.logit_bias[5] = kNaN; }, {"logit_bias[5]"});
  ExpectInvalid([](SamplingParams& p) { p.logit_bias[5] = kInf; }, {"logit_bias[5]", "-inf"});
  ExpectInvalid([](SamplingParams& p) { p.logit_bias[5] = 100.5f; }, {"logit_bias[5]", "100"});
  ExpectInvalid(
      [](SamplingParams& p) {
        for (int i = 0; i <= kMaxLogitBiasEntries; ++i) p.logit_bias[i] = 1.0f;
      },
      {"logit_bias", "1024"});
}

TEST(SamplingParamsTest, RejectsBadStops) {
  ExpectInvalid([](SamplingParams& p) { p.stop_token_ids = {3, kVocab}; },
                {"stop_token_ids[1]", "vocabulary"});
  ExpectInvalid([](SamplingParams& p) { p.stop_token_ids.assign(kMaxStopTokenIds + 1, 1); },
                {"stop_token_ids", "64"});
  ExpectInvalid([](SamplingParams& p) { p.stop_strings.assign(kMaxStopStrings + 1, "x"); },
                {"stop_strings", "16"});
  ExpectInvalid(
      [](SamplingParams& p) {
        p.stop_strings = {"ok", std::string(kMaxStopStringBytes + 1, 'y')};
      },
      {"stop_strings[1]", "257 bytes", "256"});
  ExpectInvalid([](SamplingParams& p) { p.stop_strings = {""}; }, {"stop_strings[0]", "0 bytes"});
  // A truncated character, a stray continuation byte, an overlong form, a surrogate.
  for (const char* bad : {"ab\xE2\x9C", "\x80", "\xC0\xAF", "\xED\xA0\x80"}) {
    ExpectInvalid([&](SamplingParams& p) { p.stop_strings = {bad}; },
                  {"stop_strings[0]", "UTF-8"});
  }
}

TEST(SamplingParamsTest, ErrorsCarryTheirFieldForCallersToReaddress) {
  struct Case {
    std::function<void(SamplingParams&)> edit;
    std::string field;
  };
  const Case cases[] = {
      {[](SamplingParams& p) { p.temperature = kNaN; }, "temperature"},
      {[](SamplingParams& p) { p.top_k = -1; }, "top_k"},
      {[](SamplingParams& p) { p.top_logprobs = 21; }, "top_logprobs"},
      {[](SamplingParams& p) { p.logit_bias[-3] = 1.0f; }, "logit_bias[-3]"},
      {[](SamplingParams& p) { p.logit_bias[4] = kInf; }, "logit_bias[4]"},
      {[](SamplingParams& p) { p.stop_token_ids = {1, kVocab}; }, "stop_token_ids[1]"},
      {[](SamplingParams& p) { p.stop_strings = {"a", ""}; }, "stop_strings[1]"},
      {[](SamplingParams& p) { p.stop_strings.assign(kMaxStopStrings + 1, "x"); },
       "stop_strings"},
  };
  for (const Case& c : cases) {
    SamplingParams params;
    c.edit(params);
    const absl::Status status = Validate(params, kVocab);
    const std::optional<SamplingFieldError> error = GetSamplingFieldError(status);
    ASSERT_TRUE(error.has_value()) << status;
    EXPECT_EQ(error->field, c.field) << status;
    // The description is the message after the field's name.
    EXPECT_EQ(std::string(status.message()), c.field + " " + error->description);
  }
  EXPECT_FALSE(GetSamplingFieldError(Validate(SamplingParams{}, 0)).has_value());
  EXPECT_FALSE(GetSamplingFieldError(absl::OkStatus()).has_value());
}

}  // namespace
}  // namespace smollm::runtime

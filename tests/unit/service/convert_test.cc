// Request validation: every SamplingParams field's bad values, texts, ids, messages.
#include "service/convert.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "service/status_map.h"

namespace smollm::service {
namespace {

constexpr int32_t kVocab = 1000;
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// The field payload the status carries, or "" when none.
std::string FieldOf(const absl::Status& status) {
  auto field = status.GetPayload(kFieldPayloadUrl);
  return field.has_value() ? std::string(*field) : "";
}

absl::Status Apply(const v1::SamplingParams& p) {
  runtime::SamplingParams out;
  return ApplySampling(p, "sampling", kVocab, &out);
}

// Each float field: NaN, +-inf, just outside either bound, all rejected naming the field.
TEST(ConvertTest, FloatFieldsRejectNonFiniteAndOutOfRange) {
  struct Case {
    const char* field;
    void (v1::SamplingParams::*set)(float);
    float lo, hi;
  };
  const Case cases[] = {
      {"temperature", &v1::SamplingParams::set_temperature, 0, 100},
      {"top_p", &v1::SamplingParams::set_top_p, 0, 1},
      {"min_p", &v1::SamplingParams::set_min_p, 0, 1},
      {"repetition_penalty", &v1::SamplingParams::set_repetition_penalty, 0.01f, 10},
      {"presence_penalty", &v1::SamplingParams::set_presence_penalty, -2, 2},
      {"frequency_penalty", &v1::SamplingParams::set_frequency_penalty, -2, 2},
  };
  for (const Case& c : cases) {
    for (float bad : {kNaN, kInf, -kInf, c.lo - 0.5f, c.hi + 0.5f, 1e30f}) {
      v1::SamplingParams p;
      (p.*c.set)(bad);
      const absl::Status st = Apply(p);
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field << " " << bad;
      EXPECT_EQ(FieldOf(st), std::string("sampling.") + c.field) << bad;
    }
    for (float good : {c.lo, c.hi, (c.lo + c.hi) / 2}) {
      v1::SamplingParams p;
      (p.*c.set)(good);
      EXPECT_TRUE(Apply(p).ok()) << c.field << " " << good;
    }
  }
}

TEST(ConvertTest, IntegerFieldsRejectOutOfRange) {
  struct Case {
    const char* field;
    void (v1::SamplingParams::*set)(int32_t);
    int64_t lo, hi;
  };
  const Case cases[] = {
      {"top_k", &v1::SamplingParams::set_top_k, 0, kVocab},
      {"repetition_window", &v1::SamplingParams::set_repetition_window, 0, 65536},
      {"max_tokens", &v1::SamplingParams::set_max_tokens, 1, runtime::kMaxTokensLimit},
  };
  for (const Case& c : cases) {
    for (int64_t bad : {c.lo - 1, c.hi + 1, int64_t{std::numeric_limits<int32_t>::min()}}) {
      v1::SamplingParams p;
      (p.*c.set)(static_cast<int32_t>(bad));
      const absl::Status st = Apply(p);
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field << " " << bad;
      EXPECT_EQ(FieldOf(st), std::string("sampling.") + c.field);
      EXPECT_TRUE(absl::StrContains(st.message(), std::to_string(c.hi))) << st;  // the limit
    }
  }
}

TEST(ConvertTest, LogitBias) {
  v1::SamplingParams p;
  (*p.mutable_logit_bias())[kVocab] = 1;  // outside the vocabulary
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.logit_bias[1000]");
  p.clear_logit_bias();
  (*p.mutable_logit_bias())[-1] = 1;
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.logit_bias[-1]");
  for (float bad : {kNaN, kInf, 100.5f, -101.0f}) {
    p.clear_logit_bias();
    (*p.mutable_logit_bias())[7] = bad;
    EXPECT_EQ(FieldOf(Apply(p)), "sampling.logit_bias[7]") << bad;
  }
  p.clear_logit_bias();
  (*p.mutable_logit_bias())[7] = -kInf;  // a ban
  (*p.mutable_logit_bias())[8] = -100;
  runtime::SamplingParams out;
  ASSERT_TRUE(ApplySampling(p, "sampling", kVocab, &out).ok());
  EXPECT_EQ(out.logit_bias.size(), 2u);
  EXPECT_TRUE(std::isinf(out.logit_bias[7]));
  // One entry too many, in a vocabulary big enough that only the count fails.
  runtime::SamplingParams big;
  v1::SamplingParams many;
  for (int i = 0; i <= runtime::kMaxLogitBiasEntries; ++i) (*many.mutable_logit_bias())[i] = 0;
  EXPECT_EQ(FieldOf(ApplySampling(many, "sampling", 1 << 20, &big)), "sampling.logit_bias");
}

TEST(ConvertTest, StopsAndStopTokens) {
  v1::SamplingParams p;
  p.add_stop("");
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.stop[0]");
  p.clear_stop();
  p.add_stop("ok");
  p.add_stop(std::string(runtime::kMaxStopStringBytes + 1, 'a'));
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.stop[1]");
  p.clear_stop();
  p.add_stop("\xff\xfe");
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.stop[0]");
  p.clear_stop();
  for (int i = 0; i <= runtime::kMaxStopStrings; ++i) p.add_stop("x");
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.stop");
  p.clear_stop();
  p.add_stop_token_ids(5);
  p.add_stop_token_ids(kVocab);
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.stop_token_ids[1]");
  p.clear_stop_token_ids();
  for (int i = 0; i <= runtime::kMaxStopTokenIds; ++i) p.add_stop_token_ids(i);
  EXPECT_EQ(FieldOf(Apply(p)), "sampling.stop_token_ids");
}

TEST(ConvertTest, UnsetFieldsKeepTheBaseAndSetOnesOverride) {
  runtime::SamplingParams base;
  base.temperature = 0.25f;
  base.top_k = 40;
  base.stop_strings = {"END"};
  v1::SamplingParams p;
  p.set_top_k(5);
  p.set_seed(99);
  ASSERT_TRUE(ApplySampling(p, "turn.sampling", kVocab, &base).ok());
  EXPECT_EQ(base.temperature, 0.25f);
  EXPECT_EQ(base.top_k, 5);
  EXPECT_EQ(base.seed, 99u);
  EXPECT_EQ(base.stop_strings, std::vector<std::string>{"END"});
  p.set_top_p(2);
  EXPECT_EQ(FieldOf(ApplySampling(p, "turn.sampling", kVocab, &base)), "turn.sampling.top_p");
}

TEST(ConvertTest, Logprobs) {
  runtime::SamplingParams out;
  v1::LogprobOptions lp;
  lp.set_top_logprobs(21);
  EXPECT_EQ(FieldOf(ApplyLogprobs(lp, "logprobs", &out)), "logprobs.top_logprobs");
  lp.set_top_logprobs(-1);
  EXPECT_EQ(FieldOf(ApplyLogprobs(lp, "logprobs", &out)), "logprobs.top_logprobs");
  lp.set_top_logprobs(3);
  ASSERT_TRUE(ApplyLogprobs(lp, "logprobs", &out).ok());
  EXPECT_TRUE(out.logprobs);  // implied by top_logprobs
  EXPECT_EQ(out.top_logprobs, 3);
}

TEST(ConvertTest, TextChecks) {
  EXPECT_EQ(FieldOf(CheckText("", "prompt", 10, false)), "prompt");
  EXPECT_TRUE(CheckText("", "prompt", 10, true).ok());
  const absl::Status big = CheckText(std::string(11, 'a'), "prompt", 10, false);
  EXPECT_EQ(FieldOf(big), "prompt");
  EXPECT_TRUE(absl::StrContains(big.message(), "10")) << big;
  for (const char* bad : {"\xc3", "a\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf"}) {
    EXPECT_EQ(FieldOf(CheckText(bad, "prompt", 10, false)), "prompt") << bad;
  }
  EXPECT_TRUE(CheckText("h\xc3\xa9llo \xf0\x9f\x98\x80", "prompt", 100, false).ok());
}

TEST(ConvertTest, PrioritySessionIdAndSeed) {
  EXPECT_EQ(FieldOf(CheckPriority(11)), "priority");
  EXPECT_EQ(FieldOf(CheckPriority(-11)), "priority");
  EXPECT_TRUE(CheckPriority(-10).ok() && CheckPriority(10).ok());
  for (const char* bad : {"", "abc", "0123456789ABCDEF0123456789abcdef",
                          "0123456789abcdef0123456789abcdeg",
                          "0123456789abcdef0123456789abcdef0"}) {
    EXPECT_EQ(FieldOf(ParseSessionIdField(bad, "session_id").status()), "session_id") << bad;
  }
  EXPECT_TRUE(ParseSessionIdField("0123456789abcdef0123456789abcdef", "x").ok());
  EXPECT_NE(RandomSeed(), RandomSeed());  // 2^-64 to fail by chance
}

TEST(ConvertTest, Messages) {
  RequestLimits limits;
  limits.max_prompt_bytes = 20;
  limits.max_messages = 3;
  v1::ChatMessages m;
  EXPECT_EQ(FieldOf(MessagesFromProto(m, limits).status()), "messages.messages");
  for (int i = 0; i < 4; ++i) {
    auto* msg = m.add_messages();
    msg->set_role("user");
    msg->set_content("hi");
  }
  EXPECT_EQ(FieldOf(MessagesFromProto(m, limits).status()), "messages.messages");
  m.mutable_messages()->RemoveLast();
  m.mutable_messages(1)->set_role("robot");
  EXPECT_EQ(FieldOf(MessagesFromProto(m, limits).status()), "messages.messages[1].role");
  m.mutable_messages(1)->set_role("assistant");
  m.mutable_messages(2)->set_content("\xff");
  EXPECT_EQ(FieldOf(MessagesFromProto(m, limits).status()), "messages.messages[2].content");
  m.mutable_messages(2)->set_content(std::string(17, 'x'));  // 2 + 2 + 17 > 20 in total
  EXPECT_EQ(FieldOf(MessagesFromProto(m, limits).status()), "messages.messages[2].content");
  m.mutable_messages(2)->set_content("fine");
  absl::StatusOr<std::vector<runtime::ChatMessage>> ok = MessagesFromProto(m, limits);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[1].role, "assistant");
  EXPECT_EQ((*ok)[2].content, "fine");
}

TEST(ConvertTest, RuntimeToProto) {
  runtime::TokenEvent event;
  event.text = "ab";
  event.tokens = {3, 4};
  event.logprobs = {-0.5f, -1.5f};
  event.top_logprobs = {{{3, -0.5f}, {9, -2.0f}}, {{4, -1.5f}}};
  v1::TokenDelta delta;
  AppendDelta(event, &delta);
  AppendDelta(event, &delta);  // deltas append
  EXPECT_EQ(delta.text(), "abab");
  ASSERT_EQ(delta.token_ids_size(), 4);
  EXPECT_EQ(delta.logprobs(1), -1.5f);
  ASSERT_EQ(delta.top_logprobs_size(), 4);
  EXPECT_EQ(delta.top_logprobs(0).alternatives(1).token_id(), 9);
  runtime::Usage usage;
  usage.prompt_tokens = 10;
  usage.cached_tokens = 4;
  usage.completion_tokens = 3;
  usage.time_to_first_token = absl::Milliseconds(1500);
  v1::Usage u;
  UsageToProto(usage, absl::Seconds(2), &u);
  EXPECT_EQ(u.prompt_tokens(), 10);
  EXPECT_EQ(u.time_to_first_token().seconds(), 1);
  EXPECT_EQ(u.time_to_first_token().nanos(), 500000000);
  EXPECT_EQ(u.total_time().seconds(), 2);
  EXPECT_EQ(FinishReasonToProto(runtime::FinishReason::kStopString),
            v1::FINISH_REASON_STOP_STRING);
  EXPECT_EQ(FinishReasonToProto(runtime::FinishReason::kLength), v1::FINISH_REASON_LENGTH);
}

}  // namespace
}  // namespace smollm::service

// Request validation and proto <-> runtime conversion.
#include "service/convert.h"

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/utf8.h"
#include "service/status_map.h"

namespace smollm::service {
namespace {

std::string Path(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

// A runtime::Validate error readdressed to the request: the SamplingParams field it
// names becomes the proto field path ("top_p" under "sampling" -> "sampling.top_p";
// stop_strings is the proto's `stop`; top_logprobs lives in LogprobOptions).
absl::Status ToRequestField(const absl::Status& status, absl::string_view sampling_path,
                            absl::string_view logprobs_path) {
  std::optional<runtime::SamplingFieldError> error = runtime::GetSamplingFieldError(status);
  if (!error.has_value()) return status;
  constexpr absl::string_view kStopStrings = "stop_strings";
  std::string field = std::move(error->field);
  absl::string_view prefix = sampling_path;
  if (absl::StartsWith(field, kStopStrings)) {
    field.replace(0, kStopStrings.size(), "stop");
  } else if (field == "top_logprobs") {
    prefix = logprobs_path;
  }
  return FieldError(Path(prefix, field), error->description);
}

}  // namespace

absl::Status CheckText(absl::string_view text, absl::string_view field, int64_t max_bytes,
                       bool allow_empty) {
  if (text.empty() && !allow_empty) return FieldError(field, "must not be empty");
  if (static_cast<int64_t>(text.size()) > max_bytes) {
    return FieldError(field, absl::StrCat("is ", text.size(), " bytes; the limit is ",
                                          max_bytes));
  }
  if (!runtime::IsValidUtf8(std::string_view(text.data(), text.size()))) {
    return FieldError(field, "is not valid UTF-8");
  }
  return absl::OkStatus();
}

absl::Status ApplySampling(const v1::SamplingParams& p, absl::string_view path,
                           int32_t vocab_size, runtime::SamplingParams* out) {
  runtime::SamplingParams params = *out;
  if (p.has_temperature()) params.temperature = p.temperature();
  if (p.has_top_k()) params.top_k = p.top_k();
  if (p.has_top_p()) params.top_p = p.top_p();
  if (p.has_min_p()) params.min_p = p.min_p();
  if (p.has_repetition_penalty()) params.repetition_penalty = p.repetition_penalty();
  if (p.has_repetition_window()) params.repetition_window = p.repetition_window();
  if (p.has_presence_penalty()) params.presence_penalty = p.presence_penalty();
  if (p.has_frequency_penalty()) params.frequency_penalty = p.frequency_penalty();
  if (p.has_seed()) params.seed = p.seed();
  if (p.has_max_tokens()) params.max_tokens = p.max_tokens();
  // Lists replace the base's when given (their size is bounded by the message size).
  if (p.logit_bias_size() > 0) {
    params.logit_bias.clear();
    for (const auto& [id, bias] : p.logit_bias()) params.logit_bias[id] = bias;
  }
  if (p.stop_size() > 0) params.stop_strings.assign(p.stop().begin(), p.stop().end());
  if (p.stop_token_ids_size() > 0) {
    params.stop_token_ids.assign(p.stop_token_ids().begin(), p.stop_token_ids().end());
  }
  // The base passed this check, so an error is about a field `p` sets.
  RETURN_IF_ERROR(ToRequestField(runtime::Validate(params, vocab_size), path, ""));
  *out = std::move(params);
  return absl::OkStatus();
}

absl::Status ApplyLogprobs(const v1::LogprobOptions& proto, absl::string_view path,
                           runtime::SamplingParams* out) {
  runtime::SamplingParams params = *out;
  params.top_logprobs = proto.top_logprobs();
  params.logprobs = proto.enabled() || proto.top_logprobs() > 0;
  // The token ids in *out were checked against the model's vocabulary already; a
  // vocabulary that admits every id leaves only the logprobs fields to fail.
  RETURN_IF_ERROR(ToRequestField(
      runtime::Validate(params, std::numeric_limits<int32_t>::max()), "", path));
  *out = std::move(params);
  return absl::OkStatus();
}

uint64_t RandomSeed() {
  thread_local absl::BitGen gen;
  return absl::Uniform<uint64_t>(gen);
}

absl::Status CheckPriority(int32_t priority) {
  if (priority < kMinPriority || priority > kMaxPriority) {
    return FieldError("priority", absl::StrCat("must be in [", kMinPriority, ", ",
                                               kMaxPriority, "], got ", priority));
  }
  return absl::OkStatus();
}

absl::StatusOr<runtime::SessionId> ParseSessionIdField(absl::string_view text,
                                                        absl::string_view field) {
  absl::StatusOr<runtime::SessionId> id = runtime::SessionId::Parse(text);
  if (!id.ok()) {
    return FieldError(field, absl::StrCat("must be 32 lowercase hex characters (",
                                          id.status().message(), ")"));
  }
  return id;
}

absl::StatusOr<std::vector<runtime::ChatMessage>> MessagesFromProto(
    const v1::ChatMessages& proto, const RequestLimits& limits) {
  const int n = proto.messages_size();
  if (n < 1 || n > limits.max_messages) {
    return FieldError("messages.messages", absl::StrCat("has ", n, " messages; allowed 1..",
                                                        limits.max_messages));
  }
  std::vector<runtime::ChatMessage> out;
  out.reserve(n);
  int64_t total = 0;
  for (int i = 0; i < n; ++i) {
    const v1::ChatMessage& m = proto.messages(i);
    const std::string field = absl::StrCat("messages.messages[", i, "]");
    if (m.role() != "system" && m.role() != "user" && m.role() != "assistant" &&
        m.role() != "tool") {
      return FieldError(absl::StrCat(field, ".role"),
                        "must be \"system\", \"user\", \"assistant\" or \"tool\"");
    }
    total += static_cast<int64_t>(m.content().size());
    if (total > limits.max_prompt_bytes) {
      return FieldError(absl::StrCat(field, ".content"),
                        absl::StrCat("the messages' text passes ", limits.max_prompt_bytes,
                                     " bytes, the limit per request"));
    }
    RETURN_IF_ERROR(CheckText(m.content(), absl::StrCat(field, ".content"),
                                 limits.max_prompt_bytes, /*allow_empty=*/true));
    out.push_back({m.role(), m.content(), "", ""});
  }
  return out;
}

v1::FinishReason FinishReasonToProto(runtime::FinishReason reason) {
  switch (reason) {
    case runtime::FinishReason::kNone: return v1::FINISH_REASON_UNSPECIFIED;
    case runtime::FinishReason::kStopToken: return v1::FINISH_REASON_STOP;
    case runtime::FinishReason::kStopString: return v1::FINISH_REASON_STOP_STRING;
    case runtime::FinishReason::kMaxTokens: return v1::FINISH_REASON_MAX_TOKENS;
    case runtime::FinishReason::kLength: return v1::FINISH_REASON_LENGTH;
    case runtime::FinishReason::kCancelled: return v1::FINISH_REASON_CANCELLED;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

void SamplingToProto(const runtime::SamplingParams& s, v1::SamplingParams* out) {
  out->set_temperature(s.temperature);
  out->set_top_k(s.top_k);
  out->set_top_p(s.top_p);
  out->set_min_p(s.min_p);
  out->set_repetition_penalty(s.repetition_penalty);
  out->set_repetition_window(s.repetition_window);
  out->set_presence_penalty(s.presence_penalty);
  out->set_frequency_penalty(s.frequency_penalty);
  out->set_max_tokens(s.max_tokens);
  for (const auto& [id, bias] : s.logit_bias) (*out->mutable_logit_bias())[id] = bias;
  for (const std::string& stop : s.stop_strings) out->add_stop(stop);
  for (runtime::TokenId id : s.stop_token_ids) out->add_stop_token_ids(id);
}

void AppendDelta(const runtime::TokenEvent& event, v1::TokenDelta* out) {
  out->mutable_text()->append(event.text);
  for (runtime::TokenId id : event.tokens) out->add_token_ids(id);
  for (float lp : event.logprobs) out->add_logprobs(lp);
  for (const std::vector<runtime::TokenLogprob>& alternatives : event.top_logprobs) {
    v1::TopLogprobs* top = out->add_top_logprobs();
    for (const runtime::TokenLogprob& alt : alternatives) {
      v1::TokenLogprob* t = top->add_alternatives();
      t->set_token_id(alt.token);
      t->set_logprob(alt.logprob);
    }
  }
}

void DurationToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void UsageToProto(const runtime::Usage& usage, absl::Duration total_time, v1::Usage* out) {
  out->set_prompt_tokens(usage.prompt_tokens);
  out->set_cached_tokens(usage.cached_tokens);
  out->set_completion_tokens(usage.completion_tokens);
  DurationToProto(usage.queue_time, out->mutable_queue_time());
  DurationToProto(usage.time_to_first_token, out->mutable_time_to_first_token());
  DurationToProto(total_time, out->mutable_total_time());
}

v1::SessionInfo SessionInfoToProto(const runtime::SessionInfo& info) {
  v1::SessionInfo out;
  out.set_session_id(info.id.ToString());
  out.set_state(info.state == runtime::SessionState::kGenerating
                    ? v1::SESSION_STATE_GENERATING
                    : v1::SESSION_STATE_IDLE);
  out.set_history_tokens(info.history_tokens);
  out.set_turns(info.turns);
  out.set_cached_tokens(info.cached_tokens);
  TimeToProto(info.created, out.mutable_created());
  TimeToProto(info.last_used, out.mutable_last_used());
  if (info.expires != absl::InfiniteFuture()) TimeToProto(info.expires, out.mutable_expires());
  out.set_system_prompt(info.options.system_prompt);
  if (info.options.enable_thinking.has_value()) {
    out.set_enable_thinking(*info.options.enable_thinking);
  }
  SamplingToProto(info.options.sampling, out.mutable_sampling());
  return out;
}

}  // namespace smollm::service

// Proto <-> runtime structs, and the validation of every request field before the engine
// sees it (InvalidArgument naming the proto field path and its limit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/engine/engine.h"
#include "runtime/tokenizer/chat_template.h"
#include "smollm/v1/inference.pb.h"

namespace smollm::service {

namespace v1 = ::smollm::v1;

// Limits that depend on the model and the server's configuration.
struct RequestLimits {
  int32_t max_prompt_bytes = 1 << 20;  // bytes of prompt / message text per request
  int32_t max_messages = 256;          // chat messages per Generate request
  int32_t vocab_size = 0;
  int32_t context_length = 0;          // tokens per sequence
};

inline constexpr int32_t kMinPriority = -10;
inline constexpr int32_t kMaxPriority = 10;

// Checks one request string: valid UTF-8, at most `max_bytes` bytes, and non-empty unless
// `allow_empty`. Errors are FieldError(field, ...) with the limit in the message.
absl::Status CheckText(absl::string_view text, absl::string_view field, int64_t max_bytes,
                       bool allow_empty);

// Overwrites the fields of *out that `proto` sets, once the result passes
// runtime::Validate (the one check of every limit); its error is readdressed to the proto
// field, `path` prefixing it ("sampling" -> "sampling.top_p", "open.sampling.stop[2]").
// An unset field leaves *out as it is, so callers layer: runtime defaults, then session
// defaults, then the turn's overrides. *out must be valid; on error it is unchanged.
absl::Status ApplySampling(const v1::SamplingParams& proto, absl::string_view path,
                           int32_t vocab_size, runtime::SamplingParams* out);

// logprobs / top_logprobs of `proto` into *out (path e.g. "logprobs"), checked by
// runtime::Validate as ApplySampling is. *out must be valid (its token ids are not
// checked against the vocabulary again); on error it is unchanged.
absl::Status ApplyLogprobs(const v1::LogprobOptions& proto, absl::string_view path,
                           runtime::SamplingParams* out);

// A fresh random seed (for requests that set none).
uint64_t RandomSeed();

// `priority` in [kMinPriority, kMaxPriority].
absl::Status CheckPriority(int32_t priority);

// The session id spelled by `text` (32 lowercase hex characters); FieldError(field) when
// it is not one.
absl::StatusOr<runtime::SessionId> ParseSessionIdField(absl::string_view text,
                                                        absl::string_view field);

// Validated chat messages (1..max_messages, known roles, UTF-8 content, the total within
// max_prompt_bytes) as the tokenizer's ChatMessage.
absl::StatusOr<std::vector<runtime::ChatMessage>> MessagesFromProto(
    const v1::ChatMessages& proto, const RequestLimits& limits);

// ---- runtime -> proto ----
v1::FinishReason FinishReasonToProto(runtime::FinishReason reason);
void SamplingToProto(const runtime::SamplingParams& params, v1::SamplingParams* out);
// Appends `event` to *out (text, ids, logprobs, top logprobs).
void AppendDelta(const runtime::TokenEvent& event, v1::TokenDelta* out);
void UsageToProto(const runtime::Usage& usage, absl::Duration total_time, v1::Usage* out);
void DurationToProto(absl::Duration d, google::protobuf::Duration* out);
void TimeToProto(absl::Time t, google::protobuf::Timestamp* out);
v1::SessionInfo SessionInfoToProto(const runtime::SessionInfo& info);

}  // namespace smollm::service

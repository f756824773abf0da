// Submit-time checks: request validity, queue limits, and the retry hint they carry.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/engine/scheduler_types.h"

namespace smollm::runtime {

// The payload under which a RESOURCE_EXHAUSTED status carries its retry hint: the
// decimal number of milliseconds after which a retry is likely to be accepted.
inline constexpr absl::string_view kRetryAfterPayloadUrl = "type.smollm.dev/retry_after_ms";

// The hint of a status made by CheckQueueRoom, or nullopt when it has none.
std::optional<absl::Duration> RetryAfter(const absl::Status& status);

// Pages that hold `tokens` tokens.
inline int PagesFor(int64_t tokens, int page_size) {
  return static_cast<int>((tokens + page_size - 1) / page_size);
}

// A cached prefix of a sequence with `known_tokens` tokens: within them, page aligned
// unless it stops short of the last one (a session turn's own partly filled page), and at
// most its pages shared. InvalidArgument naming the field otherwise.
absl::Status CheckCachedPrefix(const SchedulerConfig& config, const CachedPrefix& cached,
                               int known_tokens);

// Whether a request can ever run, whatever the load:
//   InvalidArgument: prompt_tokens < 1, max_new_tokens < 1, or a malformed cached prefix;
//   OutOfRange: prompt + max_new_tokens exceeds the context, or its pages and the reserve
//   exceed the KV pool (it could never be admitted beside the reserve).
absl::Status CheckRequest(const SchedulerConfig& config, const SeqRequest& request);

// What is queued when a request arrives.
struct QueueLoad {
  int waiting = 0;            // requests waiting, preempted ones included
  int64_t queued_tokens = 0;  // tokens they still have to prefill
};

// RESOURCE_EXHAUSTED (with `retry_after` in the message and as the payload) when one more
// request of `request_tokens` tokens to prefill would pass max_queued_requests or
// max_queued_prompt_tokens; OK otherwise.
absl::Status CheckQueueRoom(const SchedulerConfig& config, const QueueLoad& load,
                            int64_t request_tokens, absl::Duration retry_after);

// Forward throughput, smoothed over steps (exponential moving average), from the tokens
// each step ran and how long it took. Used to turn a queue into a wait estimate.
class ThroughputMeter {
 public:
  // Steps that took no time or ran no tokens are ignored.
  void Observe(int tokens, absl::Duration elapsed);
  double tokens_per_second() const { return tokens_per_second_; }
  // Time to run `tokens` at the measured rate; `fallback` before any measurement.
  absl::Duration EstimateWait(int64_t tokens, absl::Duration fallback) const;

 private:
  double tokens_per_second_ = 0;
};

}  // namespace smollm::runtime

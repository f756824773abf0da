// Submit-time checks and retry hints.
#include "runtime/engine/admission.h"

#include <algorithm>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"

namespace smollm::runtime {
namespace {

// Hints are whole milliseconds, at least 1 and at most 10 minutes: a caller that waits
// longer should re-read the load rather than trust an old estimate.
int64_t HintMillis(absl::Duration retry_after) {
  return std::clamp<int64_t>(absl::ToInt64Milliseconds(retry_after), 1, 600'000);
}

}  // namespace

std::optional<absl::Duration> RetryAfter(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  int64_t millis = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &millis) || millis < 0) return std::nullopt;
  return absl::Milliseconds(millis);
}

absl::Status CheckCachedPrefix(const SchedulerConfig& config, const CachedPrefix& cached,
                               int known_tokens) {
  const int ps = config.page_size;
  if (cached.tokens < 0 || cached.tokens > known_tokens ||
      (cached.tokens % ps != 0 && cached.tokens >= known_tokens)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cached.tokens is ", cached.tokens, "; it must be within the sequence's ", known_tokens,
        " tokens, and a multiple of the page size ", ps, " unless it is short of the last one"));
  }
  const int pages = PagesFor(cached.tokens, ps);
  if (cached.shared_pages < 0 || cached.shared_pages > pages) {
    return absl::InvalidArgumentError(absl::StrCat("cached.shared_pages is ", cached.shared_pages,
                                                   "; the cached prefix has ", pages, " pages"));
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const SchedulerConfig& config, const SeqRequest& request) {
  if (request.prompt_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("prompt_tokens is ", request.prompt_tokens,
                                                   "; a prompt has a token at least"));
  }
  if (request.max_new_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_new_tokens is ", request.max_new_tokens, "; it must be at least 1"));
  }
  RETURN_IF_ERROR(CheckCachedPrefix(config, request.cached, request.prompt_tokens));
  const int64_t total = int64_t{request.prompt_tokens} + request.max_new_tokens;
  if (total > config.context_length) {
    return absl::OutOfRangeError(absl::StrCat(
        "prompt_tokens + max_new_tokens is ", request.prompt_tokens, " + ", request.max_new_tokens,
        " = ", total, "; the context holds ", config.context_length));
  }
  const int64_t pages = PagesFor(total, config.page_size);
  if (pages + config.kv_reserve_pages > config.kv_pages) {
    return absl::OutOfRangeError(
        absl::StrCat("prompt_tokens + max_new_tokens needs ", pages, " KV pages; the pool has ",
                     config.kv_pages, " of which ", config.kv_reserve_pages, " are reserved"));
  }
  return absl::OkStatus();
}

absl::Status CheckQueueRoom(const SchedulerConfig& config, const QueueLoad& load,
                            int64_t request_tokens, absl::Duration retry_after) {
  std::string why;
  if (load.waiting + 1 > config.max_queued_requests) {
    why = absl::StrCat("the queue holds ", load.waiting, " requests (limit ",
                       config.max_queued_requests, ")");
  } else if (load.queued_tokens + request_tokens > config.max_queued_prompt_tokens) {
    why = absl::StrCat("the queue holds ", load.queued_tokens,
                       " prompt tokens and this request adds ", request_tokens, " (limit ",
                       config.max_queued_prompt_tokens, ")");
  } else {
    return absl::OkStatus();
  }
  const int64_t millis = HintMillis(retry_after);
  absl::Status status =
      absl::ResourceExhaustedError(absl::StrCat(why, "; retry after about ", millis, " ms"));
  status.SetPayload(kRetryAfterPayloadUrl, absl::Cord(absl::StrCat(millis)));
  return status;
}

void ThroughputMeter::Observe(int tokens, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (tokens <= 0 || !(seconds > 0)) return;
  const double rate = tokens / seconds;
  // A new estimate weighs one step in five: steady under the noise of mixed steps, yet it
  // follows a change of load within a few dozen steps.
  tokens_per_second_ = tokens_per_second_ == 0 ? rate : 0.8 * tokens_per_second_ + 0.2 * rate;
}

absl::Duration ThroughputMeter::EstimateWait(int64_t tokens, absl::Duration fallback) const {
  if (tokens_per_second_ <= 0) return fallback;
  return absl::Seconds(static_cast<double>(std::max<int64_t>(tokens, 0)) / tokens_per_second_);
}

}  // namespace smollm::runtime

// Scheduler config validation and enum names.
#include "runtime/engine/scheduler_types.h"

#include "absl/strings/str_cat.h"

namespace smollm::runtime {
namespace {

absl::Status AtLeast(absl::string_view field, int64_t value, int64_t minimum) {
  if (value >= minimum) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("scheduler config: ", field, " is ", value, "; it must be at least ", minimum));
}

}  // namespace

absl::Status ValidateSchedulerConfig(const SchedulerConfig& c) {
  for (const absl::Status& s : {
           AtLeast("context_length", c.context_length, 2),  // a prompt token and a new one
           AtLeast("page_size", c.page_size, 1),
           AtLeast("kv_pages", c.kv_pages, 1),
           AtLeast("kv_reserve_pages", c.kv_reserve_pages, 0),
           AtLeast("max_tokens_per_step", c.max_tokens_per_step, 1),
           AtLeast("max_seqs_per_step", c.max_seqs_per_step, 1),
           AtLeast("max_running", c.max_running, 1),
           AtLeast("prefill_chunk", c.prefill_chunk, 1),
           AtLeast("max_queued_requests", c.max_queued_requests, 1),
           // Any request the context admits then fits an empty queue.
           AtLeast("max_queued_prompt_tokens", c.max_queued_prompt_tokens, c.context_length),
       }) {
    if (!s.ok()) return s;
  }
  // A pool that cannot hold one page beside the reserve admits nothing.
  if (c.kv_reserve_pages >= c.kv_pages) {
    return absl::InvalidArgumentError(absl::StrCat("scheduler config: kv_reserve_pages is ",
                                                   c.kv_reserve_pages, "; the pool has ",
                                                   c.kv_pages, " pages"));
  }
  if (!(c.long_prefill_share > 0 && c.long_prefill_share <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("scheduler config: long_prefill_share is ",
                                                   c.long_prefill_share, "; it must be in (0, 1]"));
  }
  if (c.default_retry_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("scheduler config: default_retry_after must be positive");
  }
  return absl::OkStatus();
}

absl::string_view ReleaseReasonName(ReleaseReason reason) {
  switch (reason) {
    case ReleaseReason::kFinished:
      return "finished";
    case ReleaseReason::kCancelled:
      return "cancelled";
    case ReleaseReason::kDeadlineExceeded:
      return "deadline_exceeded";
    case ReleaseReason::kPreempted:
      return "preempted";
  }
  return "unknown";
}

}  // namespace smollm::runtime

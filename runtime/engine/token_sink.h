// The bounded mailbox through which the engine streams one request's tokens to its caller.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/core/types.h"
#include "runtime/sampling/sampler.h"
#include "runtime/sampling/stop_criteria.h"

namespace smollm::runtime {

// Text and tokens produced since the consumer last drained the mailbox. Deltas coalesce:
// one TokenEvent may carry many tokens.
struct TokenEvent {
  std::string text;               // valid UTF-8, whole characters, stop strings withheld
  std::vector<TokenId> tokens;    // sampled ids, in order
  std::vector<float> logprobs;    // [tokens] when the request asked for logprobs, else empty
  // [tokens] when the request asked for top_logprobs > 0, else empty: each token's
  // SampleResult::top_logprobs(), the most likely first (the sampled token may be absent).
  std::vector<std::vector<TokenLogprob>> top_logprobs;
};

struct Usage {
  int prompt_tokens = 0;      // the whole prompt (a session turn: the whole history)
  int cached_tokens = 0;      // of those, reused from the prefix cache at first admission
  int completion_tokens = 0;  // tokens sampled
  absl::Duration queue_time = absl::ZeroDuration();           // submit -> first admission
  absl::Duration time_to_first_token = absl::ZeroDuration();  // submit -> first token
  FinishReason finish_reason = FinishReason::kNone;
};

// The last event of a request. `status` is OK for a normal end (finish_reason says why);
// Cancelled, DeadlineExceeded, or the error that stopped it otherwise.
struct FinalEvent {
  absl::Status status;
  Usage usage;
};

// Thread-safe. The engine thread pushes (never blocks); one consumer drains with Take /
// TakeFinal and may wait with WaitForEvent or be told through a listener. Memory is bounded:
// once `max_buffered_tokens` tokens are waiting the engine pauses the sequence (it is not
// scheduled, keeps its pages) until a Take brings the backlog under the bound.
class TokenSink {
 public:
  explicit TokenSink(int max_buffered_tokens = 256);
  TokenSink(const TokenSink&) = delete;
  TokenSink& operator=(const TokenSink&) = delete;

  // ---- consumer side ----
  // Moves the coalesced pending delta to *out; false when nothing is pending.
  bool Take(TokenEvent* out);
  // The final event once the request ended AND every delta was taken; nullopt before.
  std::optional<FinalEvent> TakeFinal();
  // Whether the request ended (the final event was pushed), taken or not.
  bool finished() const;
  // Blocks until a delta or the final event is pending, or `timeout` passes. Returns
  // whether something is pending.
  bool WaitForEvent(absl::Duration timeout);
  // Called (on the engine thread, without locks held) after every push and at the end.
  // It must not block; set it before Submit.
  void SetListener(std::function<void()> listener);

  // ---- engine side ----
  // Appends to the pending delta; returns whether the backlog is at or over the bound.
  bool Push(TokenEvent delta);
  void Finish(FinalEvent final_event);
  int buffered_tokens() const;
  int max_buffered_tokens() const { return max_buffered_tokens_; }
  bool over_bound() const;
  // Called (on the consumer's thread) when a Take brings an over-bound backlog under it.
  void SetDrainHook(std::function<void()> hook);

 private:
  void Notify();

  const int max_buffered_tokens_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  TokenEvent pending_ ABSL_GUARDED_BY(mu_);
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<FinalEvent> final_ ABSL_GUARDED_BY(mu_);
  bool final_taken_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> listener_ ABSL_GUARDED_BY(mu_);
  std::function<void()> drain_hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace smollm::runtime

// The continuous-batching scheduler: plain data in, a StepPlan out, results back in.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/engine/admission.h"
#include "runtime/engine/scheduler_types.h"

namespace smollm::runtime {

// Decides what each forward pass runs; touches no tensor, page, thread or clock (time comes
// in as arguments). The same calls give the same plans. The engine loop is:
//
//   plan = Schedule(now, kv)  ->  apply plan (see StepPlan), run forward, sample
//        ->  Update(plan, finished ids, now)
//
// Policy, each step:
//  1. Step boundary: cancelled, finished and deadline-passed sequences leave; running ones
//     are listed in StepPlan::released with their pages.
//  2. Decodes: every running, unpaused sequence with one token left to compute gets it,
//     highest rank first (priority, then earliest admitted), before any prefill.
//  3. Running prefills, by rank, then admissions from the waiting queue (priority, then
//     arrival; preempted sequences go back to its front). A prefill runs at most
//     prefill_chunk tokens; long prefills share the step per long_prefill_share, and a
//     long request held back by that share lets shorter ones behind it be admitted.
//  4. Memory: running sequences may use every free page; an admission must leave
//     kv_reserve_pages free beside it, or admissions stop for the step (no request jumps
//     another for memory). A running sequence that cannot get a page for its next token
//     stalls, and lower-ranked running sequences not yet scheduled this step are preempted
//     (lowest first) until their pages cover the stall; their pages come back in the next
//     step's KvBudget, and no admission happens in a step with a stall. Preemption is
//     recompute: the sequence keeps its tokens and runs them again on re-admission.
//  5. Paused sequences are skipped and keep their place; they can still be preempted.
//
// Liveness: the highest-ranked unpaused running sequence can always preempt everyone
// below it, and CheckRequest guarantees each sequence fits the pool beside the reserve,
// so it completes provided the engine counts every page it could reclaim in KvBudget.
// With equal priorities nobody starves: admission order is arrival order, long requests
// always get their share, and running sequences always finish (max_new_tokens).
// Strict priority can starve lower priorities under a constant higher-priority load.
//
// Not thread-safe: owned by the engine thread.
class Scheduler {
 public:
  // InvalidArgument for a config ValidateSchedulerConfig refuses.
  static absl::StatusOr<Scheduler> Create(const SchedulerConfig& config);

  // Queues a request. InvalidArgument / OutOfRange as CheckRequest; AlreadyExists for a
  // live id; RESOURCE_EXHAUSTED with a retry hint (see RetryAfter) when the queue is full.
  absl::Status Submit(const SeqRequest& request);

  // Marks a sequence cancelled; it leaves at the next step boundary (its pages are listed
  // then). Idempotent; NotFound for an id that is not live.
  absl::Status Cancel(SeqId id);

  // A paused sequence (its consumer is behind) is not scheduled and keeps its place and
  // pages. NotFound for an id that is not live.
  absl::Status SetPaused(SeqId id, bool paused);

  // Refreshes a waiting sequence's cached prefix (the prefix cache changes between steps,
  // and a preempted sequence starts with none). Call before Schedule for the sequences it
  // may admit: Schedule trusts it. NotFound; FailedPrecondition when the sequence is not
  // waiting; InvalidArgument for a prefix beyond its tokens, or one not page aligned that
  // reaches its last token.
  absl::Status SetCachedPrefix(SeqId id, const CachedPrefix& cached);

  // Plans one step. FailedPrecondition while the previous plan awaits Update;
  // InvalidArgument for a negative budget.
  absl::StatusOr<StepPlan> Schedule(absl::Time now, const KvBudget& kv);

  // Applies a step's outcome: every scheduled sequence computed its tokens, those with
  // `samples` gained one token, and `finished` (a subset of those) stopped. A sequence
  // also finishes when it reaches max_new_tokens. `now` times the step for the retry
  // hints. FailedPrecondition for a plan other than the last one scheduled;
  // InvalidArgument (and nothing applied) for a finished id that did not sample.
  absl::Status Update(const StepPlan& plan, std::span<const SeqId> finished, absl::Time now);

  std::optional<SeqView> Find(SeqId id) const;
  // Waiting sequences in admission order.
  std::vector<SeqId> WaitingOrder() const;
  // Running sequences, highest rank first.
  std::vector<SeqId> RunningOrder() const;
  SchedulerStats stats() const;
  // Whether live sequences other than paused ones exist, or releases are pending
  // (deadlines aside). An empty plan while HasWork() means memory blocks every one of them:
  // the loop should wait for an event (a release elsewhere, Submit, Cancel, unpause)
  // rather than spin.
  bool HasWork() const;
  const SchedulerConfig& config() const { return config_; }

 private:
  struct SeqState {
    SeqRequest request;  // cached prefix kept current while waiting
    int known_tokens = 0;
    int computed_tokens = 0;
    int generated_tokens = 0;
    int pages_held = 0;
    int preemptions = 0;
    bool running = false;
    bool paused = false;
    bool cancelled = false;
    bool finished = false;
    int64_t queue_pos = 0;       // waiting: order within its priority
    int64_t admit_order = 0;     // running: admission counter
    int64_t scheduled_step = 0;  // the last step it was scheduled or stalled in
  };
  // Ordered by priority (highest first), then queue position, then id.
  using WaitKey = std::tuple<int, int64_t, SeqId>;
  struct StepBudget;

  explicit Scheduler(const SchedulerConfig& config) : config_(config) {}

  static WaitKey KeyOf(const SeqState& s) {
    return {-s.request.priority, s.queue_pos, s.request.id};
  }
  // Whether a ranks above b (kept first in running_, preempted last).
  static bool RanksAbove(const SeqState& a, const SeqState& b);
  // The cached prefix admission may use: short of the last known token, so the final
  // chunk runs at least one token and yields logits (cut back to whole pages if needed).
  int UsableCachedTokens(const SeqState& s) const;
  // Tokens a waiting sequence still has to prefill.
  int64_t PendingTokens(const SeqState& s) const;

  void Enqueue(SeqState& s);
  void Dequeue(SeqState& s);
  void InsertRunning(SeqState& s);
  void EraseRunning(SeqId id);

  // Schedule's passes (scheduler_step.cc).
  void ReleaseAtBoundary(absl::Time now, StepPlan& plan);
  void ScheduleDecodes(StepBudget& b, StepPlan& plan);
  int LongPrefillQuota(const StepBudget& b) const;
  void ScheduleRunningPrefills(StepBudget& b, StepPlan& plan);
  void AdmitWaiting(StepBudget& b, StepPlan& plan);
  // Records that running_[index] stalls short of `pages` and preempts below it.
  void Stall(size_t index, int pages, StepBudget& b, StepPlan& plan);
  void Preempt(SeqState& s, StepPlan& plan);
  void AddToPlan(SeqState& s, int n_tokens, int new_pages, bool admitted, StepPlan& plan);

  SchedulerConfig config_;
  absl::flat_hash_map<SeqId, SeqState> seqs_;  // every live sequence; never iterated to decide
  std::set<WaitKey> waiting_;
  std::vector<SeqId> running_;  // highest rank first
  int64_t queued_tokens_ = 0;   // sum of PendingTokens over waiting_
  int64_t next_back_pos_ = 0;   // queue positions: arrivals count up from 0,
  int64_t next_front_pos_ = 0;  // preempted sequences count down from -1
  int64_t next_admit_order_ = 0;
  int64_t step_ = 0;
  bool plan_outstanding_ = false;
  absl::Time plan_time_;
  ThroughputMeter meter_;
  SchedulerStats counters_;  // steps, admissions, preemptions, rejected
};

}  // namespace smollm::runtime

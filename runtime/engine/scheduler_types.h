// Plain data exchanged with the scheduler: config, requests, KV budget, step plans.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smollm::runtime {

using SeqId = int64_t;  // chosen by the engine, unique among live sequences

// Every knob of the policy. Validated once by ValidateSchedulerConfig (Scheduler::Create).
struct SchedulerConfig {
  int context_length = 8192;  // tokens one sequence may hold: prompt + generated
  int page_size = 16;         // tokens per KV page
  int kv_pages = 4096;        // pages in the whole KV pool
  // Headroom for running sequences: an admission must leave this many pages free.
  // Running sequences (decode and prefill chunks) may use it.
  int kv_reserve_pages = 0;
  int max_tokens_per_step = 512;  // tokens in one forward pass
  int max_seqs_per_step = 64;     // sequences in one forward pass (bounds the logit rows)
  int max_running = 64;           // admitted sequences, paused ones included
  int prefill_chunk = 512;        // most prompt tokens one sequence runs in one step
  // Fairness between long and short prompts. A prefill is "long" when it needs more than
  // one chunk to finish. While short prefills are waiting or running, long ones together
  // get at most this share of the step's prefill tokens (rounded up, at least one token);
  // the rest is held for the short ones. With no short prefill about, long ones may use
  // everything. 1.0 is plain FCFS.
  double long_prefill_share = 0.5;
  // Admission control at Submit: beyond either limit, RESOURCE_EXHAUSTED.
  int max_queued_requests = 256;
  int64_t max_queued_prompt_tokens = int64_t{1} << 20;  // tokens still to prefill, queued
  // Retry hint used before any step has been timed.
  absl::Duration default_retry_after = absl::Seconds(1);
};

// InvalidArgument naming the field when a knob is out of range.
absl::Status ValidateSchedulerConfig(const SchedulerConfig& config);

// A prompt prefix whose KV pages are already resident in the prefix cache.
struct CachedPrefix {
  // Leading prompt tokens covered by cached pages: a multiple of page_size, except for a
  // session turn's own retained KV, whose private last page may be partly filled (the turn
  // writes on into it); such a prefix must then stop short of the last known token.
  int tokens = 0;
  // Of those pages, how many are already referenced elsewhere (a running sequence, a
  // session, a session turn's retained KV) and therefore not counted in
  // KvBudget::free_pages: taking them costs no free page. The engine fills it from the
  // pool's reference counts (PrefixCache::CountCachedPages). Zero is always safe but
  // overcharges: every cached page is then charged as if it came from the free count (an
  // unreferenced cached page is evictable, so it is counted there).
  int shared_pages = 0;
};

// A new request as the scheduler sees it: lengths, not tokens.
struct SeqRequest {
  SeqId id = 0;
  int prompt_tokens = 0;   // >= 1
  int max_new_tokens = 1;  // >= 1; prompt_tokens + max_new_tokens <= context_length
  int priority = 0;        // higher first; equal priorities are first come, first served
  absl::Time deadline = absl::InfiniteFuture();  // dropped at the first step after it
  CachedPrefix cached;
};

// The KV pool as one step sees it.
struct KvBudget {
  // Pages the engine can hand out now: free pages plus unreferenced (evictable) cached
  // pages. Pages released by the plan being made are not in it: they may be shared, so
  // they count from the next step's budget on.
  int free_pages = 0;
};

// One sequence's work in a step: run tokens [first_token, first_token + n_tokens).
struct ScheduledSeq {
  SeqId id = 0;
  int first_token = 0;    // tokens before it already have KV
  int n_tokens = 0;       // >= 1: 1 for a decode, up to prefill_chunk for a prefill chunk
  int new_pages = 0;      // pages to allocate and append to its page table first
  bool admitted = false;  // newly admitted (or re-admitted after preemption) this step
  // Admitted only: leading tokens reused from the prefix cache (or a session's retained
  // KV); attach their ceil(cached_tokens / page_size) pages before allocating new_pages.
  // Equals first_token.
  int cached_tokens = 0;
  bool samples = false;  // the chunk reaches the last known token: sample one token
};

enum class ReleaseReason {
  kFinished,          // Update reported it finished, or it reached max_new_tokens
  kCancelled,         // Cancel()
  kDeadlineExceeded,  // its deadline passed before the step
  kPreempted,         // pages taken back; tokens kept, it is waiting to be recomputed
};
absl::string_view ReleaseReasonName(ReleaseReason reason);

struct ReleasedSeq {
  SeqId id = 0;
  ReleaseReason reason = ReleaseReason::kFinished;
  int pages = 0;  // pages its page table holds (0 for one that never ran)
};

// What one forward pass runs. The engine applies it in this order: release every page of
// `released` (a preempted sequence keeps its tokens and sampler state; the others are
// gone), attach the cached prefix pages of admitted sequences, allocate new_pages for each
// scheduled sequence, run the forward, then call Scheduler::Update. With KvBudget filled
// in as documented, the allocations cannot fail.
struct StepPlan {
  int64_t step = 0;                   // 1, 2, ...: Update takes back the same plan
  std::vector<ScheduledSeq> seqs;     // decodes first, then prefill chunks
  std::vector<ReleasedSeq> released;  // sequences leaving the running set or the queue
  int n_tokens = 0;                   // sum of seqs[i].n_tokens
  int n_new_pages = 0;                // sum of seqs[i].new_pages
  int n_charged_pages = 0;            // new pages plus cached pages taken from the free count
  // Pages that running sequences needed and did not get this step: they stalled. The
  // engine may reclaim memory it holds outside the running sequences (idle sessions).
  int stalled_pages = 0;
  // Pages the first waiting sequence that memory held back lacked (beyond the reserve);
  // 0 when nothing waits on memory. Like stalled_pages, a cue to reclaim idle memory: a
  // request must not wait for running ones to finish while idle sessions hold pages.
  int blocked_pages = 0;
};

enum class SeqPhase { kWaiting, kPrefill, kDecode, kDone };

// A snapshot of one sequence, for the engine and tests.
struct SeqView {
  SeqId id = 0;
  SeqPhase phase = SeqPhase::kWaiting;
  int known_tokens = 0;     // prompt + generated
  int computed_tokens = 0;  // tokens with KV in its pages
  int generated_tokens = 0;
  int pages_held = 0;
  int preemptions = 0;
  bool paused = false;
  bool cancelled = false;
};

struct SchedulerStats {
  int waiting = 0;
  int running = 0;  // paused included
  int paused = 0;
  int64_t queued_tokens = 0;  // tokens the waiting sequences still have to prefill
  int64_t steps = 0;
  int64_t admissions = 0;  // re-admissions after preemption included
  int64_t preemptions = 0;
  int64_t rejected = 0;          // Submit calls refused with RESOURCE_EXHAUSTED
  double tokens_per_second = 0;  // smoothed forward throughput; 0 before any timed step
};

}  // namespace smollm::runtime

// Scheduler::Schedule: the passes that build one step's plan.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "runtime/engine/scheduler.h"

namespace smollm::runtime {

// What is left of the step while the passes fill it.
struct Scheduler::StepBudget {
  int tokens = 0;       // tokens the forward can still take
  int seqs = 0;         // sequence slots left in the forward
  int pages = 0;        // free pages left
  int long_tokens = 0;  // tokens long prefills may still take
  int stalled = 0;      // pages stalled running sequences needed
  int freeing = 0;      // pages held by the sequences preempted for them
  int blocked = 0;      // pages the first waiting sequence held back by memory lacked

  void Spend(int n_tokens, int charged_pages) {
    tokens -= n_tokens;
    seqs -= 1;
    pages -= charged_pages;
  }
};

absl::StatusOr<StepPlan> Scheduler::Schedule(absl::Time now, const KvBudget& kv) {
  if (plan_outstanding_) {
    return absl::FailedPreconditionError(
        absl::StrCat("step ", step_, " awaits Update before the next Schedule"));
  }
  if (kv.free_pages < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KvBudget.free_pages is ", kv.free_pages, "; it cannot be negative"));
  }
  StepPlan plan;
  plan.step = ++step_;
  ReleaseAtBoundary(now, plan);
  StepBudget b;
  b.tokens = config_.max_tokens_per_step;
  b.seqs = config_.max_seqs_per_step;
  b.pages = kv.free_pages;
  ScheduleDecodes(b, plan);
  b.long_tokens = LongPrefillQuota(b);
  ScheduleRunningPrefills(b, plan);
  // A stall means memory is short: the pages go to running sequences, not newcomers.
  if (b.stalled == 0) AdmitWaiting(b, plan);
  plan.n_charged_pages = kv.free_pages - b.pages;
  plan.stalled_pages = b.stalled;
  plan.blocked_pages = b.blocked;
  plan_outstanding_ = true;
  plan_time_ = now;
  return plan;
}

void Scheduler::ReleaseAtBoundary(absl::Time now, StepPlan& plan) {
  for (size_t i = 0; i < running_.size();) {
    const SeqId id = running_[i];
    const SeqState& s = seqs_.at(id);
    ReleaseReason reason;
    if (s.finished) {  // a cancel after the last token changes nothing
      reason = ReleaseReason::kFinished;
    } else if (s.cancelled) {
      reason = ReleaseReason::kCancelled;
    } else if (s.request.deadline <= now) {
      reason = ReleaseReason::kDeadlineExceeded;
    } else {
      ++i;
      continue;
    }
    plan.released.push_back({id, reason, s.pages_held});
    running_.erase(running_.begin() + static_cast<ptrdiff_t>(i));
    seqs_.erase(id);
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const SeqId id = std::get<2>(*it);
    const SeqState& s = seqs_.at(id);
    ReleaseReason reason;
    if (s.cancelled) {
      reason = ReleaseReason::kCancelled;
    } else if (s.request.deadline <= now) {
      reason = ReleaseReason::kDeadlineExceeded;
    } else {
      ++it;
      continue;
    }
    plan.released.push_back({id, reason, 0});  // waiting sequences hold no pages
    queued_tokens_ -= PendingTokens(s);
    it = waiting_.erase(it);
    seqs_.erase(id);
  }
}

void Scheduler::AddToPlan(SeqState& s, int n_tokens, int new_pages, bool admitted, StepPlan& plan) {
  ScheduledSeq p;
  p.id = s.request.id;
  p.first_token = s.computed_tokens;
  p.n_tokens = n_tokens;
  p.new_pages = new_pages;
  p.admitted = admitted;
  p.cached_tokens = admitted ? s.computed_tokens : 0;
  p.samples = s.computed_tokens + n_tokens == s.known_tokens;
  plan.seqs.push_back(p);
  plan.n_tokens += n_tokens;
  plan.n_new_pages += new_pages;
  s.pages_held += new_pages;
  s.scheduled_step = step_;
}

void Scheduler::ScheduleDecodes(StepBudget& b, StepPlan& plan) {
  for (size_t i = 0; i < running_.size(); ++i) {
    SeqState& s = seqs_.at(running_[i]);
    if (s.paused || s.known_tokens - s.computed_tokens != 1) continue;
    if (b.tokens < 1 || b.seqs < 1) break;  // the rest rank lower
    const int need = PagesFor(s.computed_tokens + 1, config_.page_size) - s.pages_held;
    if (need > b.pages) {
      Stall(i, need, b, plan);
      continue;
    }
    b.Spend(1, need);
    AddToPlan(s, 1, need, /*admitted=*/false, plan);
  }
}

int Scheduler::LongPrefillQuota(const StepBudget& b) const {
  const int chunk = config_.prefill_chunk;
  // Tokens the short prefills could use this step, as far as the slots allow.
  int64_t short_demand = 0;
  int slots = b.seqs;
  for (SeqId id : running_) {
    const SeqState& s = seqs_.at(id);
    const int remaining = s.known_tokens - s.computed_tokens;
    if (slots == 0 || short_demand >= b.tokens) break;
    if (s.paused || s.scheduled_step == step_ || remaining <= 1 || remaining > chunk) continue;
    short_demand += remaining;
    --slots;
  }
  if (b.stalled == 0) {  // otherwise nothing is admitted this step
    int room = config_.max_running - static_cast<int>(running_.size());
    for (const WaitKey& key : waiting_) {
      if (slots == 0 || room == 0 || short_demand >= b.tokens) break;
      const SeqState& s = seqs_.at(std::get<2>(key));
      const int64_t pending = PendingTokens(s);
      if (s.paused || pending > chunk) continue;
      short_demand += pending;
      --slots;
      --room;
    }
  }
  const int always_long =
      std::min(b.tokens, static_cast<int>(std::ceil(b.tokens * config_.long_prefill_share)));
  return b.tokens - static_cast<int>(std::min<int64_t>(short_demand, b.tokens - always_long));
}

void Scheduler::ScheduleRunningPrefills(StepBudget& b, StepPlan& plan) {
  const int ps = config_.page_size;
  for (size_t i = 0; i < running_.size(); ++i) {
    SeqState& s = seqs_.at(running_[i]);
    const int remaining = s.known_tokens - s.computed_tokens;
    if (s.paused || remaining <= 1) continue;
    if (b.tokens < 1 || b.seqs < 1) break;
    const bool is_long = remaining > config_.prefill_chunk;
    int n = std::min({remaining, config_.prefill_chunk, b.tokens});
    if (is_long) n = std::min(n, b.long_tokens);
    if (n == 0) continue;
    // A running prefill shrinks its chunk to the memory left rather than wait.
    const int64_t fits = int64_t{s.pages_held} * ps - s.computed_tokens + int64_t{b.pages} * ps;
    n = static_cast<int>(std::min<int64_t>(n, fits));
    if (n == 0) {
      Stall(i, 1, b, plan);
      continue;
    }
    const int need = PagesFor(s.computed_tokens + n, ps) - s.pages_held;
    b.Spend(n, need);
    if (is_long) b.long_tokens -= n;
    AddToPlan(s, n, need, /*admitted=*/false, plan);
  }
}

void Scheduler::AdmitWaiting(StepBudget& b, StepPlan& plan) {
  const int ps = config_.page_size;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (static_cast<int>(running_.size()) >= config_.max_running) break;
    if (b.tokens < 1 || b.seqs < 1) break;
    SeqState& s = seqs_.at(std::get<2>(*it));
    if (s.paused) {
      ++it;
      continue;
    }
    const int cached = UsableCachedTokens(s);
    const int remaining = s.known_tokens - cached;
    const bool is_long = remaining > config_.prefill_chunk;
    int n = std::min({remaining, config_.prefill_chunk, b.tokens});
    if (is_long) n = std::min(n, b.long_tokens);
    if (n == 0) {  // a long request held back by the share: shorter ones may pass it
      ++it;
      continue;
    }
    // Cached pages come out of the free count unless already referenced elsewhere; if the
    // usable prefix dropped pages, assume the dropped ones were the shared ones.
    const int cached_pages = PagesFor(cached, ps);
    const int dropped = PagesFor(s.request.cached.tokens, ps) - cached_pages;
    const int shared = std::max(0, s.request.cached.shared_pages - dropped);
    const int new_pages = PagesFor(cached + n, ps) - cached_pages;
    const int charge = cached_pages - shared + new_pages;
    if (b.pages - charge < config_.kv_reserve_pages) {  // memory is FCFS: no jumping
      b.blocked = charge - (b.pages - config_.kv_reserve_pages);
      break;
    }

    queued_tokens_ -= PendingTokens(s);
    it = waiting_.erase(it);
    s.running = true;
    s.computed_tokens = cached;
    s.pages_held = cached_pages;
    s.admit_order = ++next_admit_order_;
    InsertRunning(s);
    ++counters_.admissions;
    b.Spend(n, charge);
    if (is_long) b.long_tokens -= n;
    AddToPlan(s, n, new_pages, /*admitted=*/true, plan);
  }
}

void Scheduler::Stall(size_t index, int pages, StepBudget& b, StepPlan& plan) {
  b.stalled += pages;
  // Victims rank below the stalled sequence and have not run this step, lowest first.
  for (size_t j = running_.size(); j-- > index + 1 && b.freeing < b.stalled;) {
    SeqState& victim = seqs_.at(running_[j]);
    if (victim.scheduled_step == step_) continue;
    b.freeing += victim.pages_held;
    Preempt(victim, plan);
  }
}

void Scheduler::Preempt(SeqState& s, StepPlan& plan) {
  plan.released.push_back({s.request.id, ReleaseReason::kPreempted, s.pages_held});
  EraseRunning(s.request.id);
  s.running = false;
  s.computed_tokens = 0;
  s.pages_held = 0;
  s.request.cached = {};  // the engine refreshes it from the prefix cache
  ++s.preemptions;
  ++counters_.preemptions;
  s.queue_pos = --next_front_pos_;
  Enqueue(s);
}

}  // namespace smollm::runtime

// Scheduler state: submission, cancellation, pausing, results, and the queue bookkeeping.
#include "runtime/engine/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"

namespace smollm::runtime {
namespace {

absl::Status NotLive(SeqId id) {
  return absl::NotFoundError(absl::StrCat("sequence ", id, " is not live"));
}

}  // namespace

absl::StatusOr<Scheduler> Scheduler::Create(const SchedulerConfig& config) {
  RETURN_IF_ERROR(ValidateSchedulerConfig(config));
  return Scheduler(config);
}

bool Scheduler::RanksAbove(const SeqState& a, const SeqState& b) {
  if (a.request.priority != b.request.priority) return a.request.priority > b.request.priority;
  return a.admit_order < b.admit_order;
}

int Scheduler::UsableCachedTokens(const SeqState& s) const {
  // A prefix short of the last known token is used whole, partial last page included (a
  // session's own pages); a longer one is cut back to whole pages, since only a page held
  // by this sequence alone may be cut inside.
  if (s.request.cached.tokens <= s.known_tokens - 1) return s.request.cached.tokens;
  const int ps = config_.page_size;
  return (s.known_tokens - 1) / ps * ps;
}

int64_t Scheduler::PendingTokens(const SeqState& s) const {
  return s.known_tokens - UsableCachedTokens(s);
}

void Scheduler::Enqueue(SeqState& s) {
  waiting_.insert(KeyOf(s));
  queued_tokens_ += PendingTokens(s);
}

void Scheduler::Dequeue(SeqState& s) {
  waiting_.erase(KeyOf(s));
  queued_tokens_ -= PendingTokens(s);
}

void Scheduler::InsertRunning(SeqState& s) {
  auto it =
      std::upper_bound(running_.begin(), running_.end(), s.request.id,
                       [this, &s](SeqId, SeqId other) { return RanksAbove(s, seqs_.at(other)); });
  running_.insert(it, s.request.id);
}

void Scheduler::EraseRunning(SeqId id) {
  running_.erase(std::find(running_.begin(), running_.end(), id));
}

absl::Status Scheduler::Submit(const SeqRequest& request) {
  RETURN_IF_ERROR(CheckRequest(config_, request));
  if (seqs_.contains(request.id)) {
    return absl::AlreadyExistsError(absl::StrCat("sequence ", request.id, " is already live"));
  }
  SeqState s;
  s.request = request;
  s.known_tokens = request.prompt_tokens;
  const int64_t pending = PendingTokens(s);
  // The wait estimate covers the queue ahead and this request's own prefill.
  const absl::Status room =
      CheckQueueRoom(config_, {static_cast<int>(waiting_.size()), queued_tokens_}, pending,
                     meter_.EstimateWait(queued_tokens_ + pending, config_.default_retry_after));
  if (!room.ok()) {
    ++counters_.rejected;
    return room;
  }
  s.queue_pos = next_back_pos_++;
  auto [it, inserted] = seqs_.emplace(request.id, s);
  Enqueue(it->second);
  return absl::OkStatus();
}

absl::Status Scheduler::Cancel(SeqId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return NotLive(id);
  it->second.cancelled = true;
  return absl::OkStatus();
}

absl::Status Scheduler::SetPaused(SeqId id, bool paused) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return NotLive(id);
  it->second.paused = paused;
  return absl::OkStatus();
}

absl::Status Scheduler::SetCachedPrefix(SeqId id, const CachedPrefix& cached) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return NotLive(id);
  SeqState& s = it->second;
  if (s.running) {
    return absl::FailedPreconditionError(
        absl::StrCat("sequence ", id, " is running; its cached prefix is fixed at admission"));
  }
  RETURN_IF_ERROR(CheckCachedPrefix(config_, cached, s.known_tokens));
  queued_tokens_ -= PendingTokens(s);
  s.request.cached = cached;
  queued_tokens_ += PendingTokens(s);
  return absl::OkStatus();
}

absl::Status Scheduler::Update(const StepPlan& plan, std::span<const SeqId> finished,
                               absl::Time now) {
  if (!plan_outstanding_ || plan.step != step_) {
    return absl::FailedPreconditionError(
        absl::StrCat("Update got the plan of step ", plan.step, "; the step awaiting results is ",
                     plan_outstanding_ ? absl::StrCat(step_) : std::string("none")));
  }
  for (SeqId id : finished) {
    auto in_plan = std::find_if(plan.seqs.begin(), plan.seqs.end(),
                                [id](const ScheduledSeq& s) { return s.id == id; });
    if (in_plan == plan.seqs.end() || !in_plan->samples) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", id, " finished but did not sample a token in step ", step_));
    }
  }
  for (const ScheduledSeq& p : plan.seqs) {
    SeqState& s = seqs_.at(p.id);  // releases happen in Schedule, so it is still live
    s.computed_tokens += p.n_tokens;
    if (!p.samples) continue;
    ++s.known_tokens;
    ++s.generated_tokens;
    if (s.generated_tokens >= s.request.max_new_tokens) s.finished = true;
  }
  for (SeqId id : finished) seqs_.at(id).finished = true;
  meter_.Observe(plan.n_tokens, now - plan_time_);
  plan_outstanding_ = false;
  return absl::OkStatus();
}

std::optional<SeqView> Scheduler::Find(SeqId id) const {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return std::nullopt;
  const SeqState& s = it->second;
  SeqView v;
  v.id = id;
  if (s.finished || s.cancelled) {
    v.phase = SeqPhase::kDone;
  } else if (!s.running) {
    v.phase = SeqPhase::kWaiting;
  } else {
    v.phase = s.known_tokens - s.computed_tokens == 1 ? SeqPhase::kDecode : SeqPhase::kPrefill;
  }
  v.known_tokens = s.known_tokens;
  v.computed_tokens = s.computed_tokens;
  v.generated_tokens = s.generated_tokens;
  v.pages_held = s.pages_held;
  v.preemptions = s.preemptions;
  v.paused = s.paused;
  v.cancelled = s.cancelled;
  return v;
}

std::vector<SeqId> Scheduler::WaitingOrder() const {
  std::vector<SeqId> ids;
  ids.reserve(waiting_.size());
  for (const WaitKey& key : waiting_) ids.push_back(std::get<2>(key));
  return ids;
}

std::vector<SeqId> Scheduler::RunningOrder() const { return running_; }

SchedulerStats Scheduler::stats() const {
  SchedulerStats st = counters_;
  st.waiting = static_cast<int>(waiting_.size());
  st.running = static_cast<int>(running_.size());
  st.paused = 0;
  for (SeqId id : running_) st.paused += seqs_.at(id).paused ? 1 : 0;
  st.queued_tokens = queued_tokens_;
  st.steps = step_;
  st.tokens_per_second = meter_.tokens_per_second();
  return st;
}

bool Scheduler::HasWork() const {
  for (SeqId id : running_) {
    const SeqState& s = seqs_.at(id);
    if (!s.paused || s.cancelled || s.finished) return true;
  }
  for (const WaitKey& key : waiting_) {
    const SeqState& s = seqs_.at(std::get<2>(key));
    if (!s.paused || s.cancelled) return true;
  }
  return false;
}

}  // namespace smollm::runtime

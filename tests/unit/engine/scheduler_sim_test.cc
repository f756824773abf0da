// Randomized simulation: thousands of steps of arrivals, cancels, pauses and stops against
// a fake KV pool with page ids, reference counts and a prefix cache, checking invariants.
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/engine/scheduler.h"
#include "tests/unit/engine/scheduler_sim_pool.h"

namespace smollm::runtime {
namespace {

using sched_test::FakePool;

constexpr int kPageSize = 16;
// Prompts in a group share their first group_len tokens, so full pages inside that prefix
// are shared through the prefix cache.
constexpr int kGroupLen[] = {64, 256, 512};

struct SimOptions {
  uint64_t seed = 1;
  int load_steps = 3000;
  bool priorities = false;
};

struct SimSeq {
  int group = -1;
  int prompt = 0;
  int max_new = 0;
  int known = 0;
  int computed = 0;
  int generated = 0;
  std::vector<int> pages;
  int submit_step = 0;
  int first_token_step = -1;
  bool paused = false;
  bool cancelled = false;
};

struct SimResult {
  std::string digest;  // every plan, for the determinism check
  int accepted = 0;
  int finished = 0;
  int cancelled = 0;
  int expired = 0;
  int rejected = 0;
  int64_t preemptions = 0;
  int cached_admissions = 0;  // admissions that reused prefix-cache pages
  int stalled_steps = 0;
  int max_wait_steps = 0;  // submit to first token, over the requests that got one
  int drain_steps = 0;
};

SchedulerConfig SimConfig() {
  SchedulerConfig c;
  c.context_length = 4096;
  c.page_size = kPageSize;
  c.kv_pages = 400;
  c.kv_reserve_pages = 8;
  c.max_tokens_per_step = 256;
  c.max_seqs_per_step = 24;
  c.max_running = 32;
  c.prefill_chunk = 128;
  c.long_prefill_share = 0.5;
  c.max_queued_requests = 40;
  c.max_queued_prompt_tokens = 20000;
  return c;
}

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options),
        config_(SimConfig()),
        scheduler_(*Scheduler::Create(config_)),
        pool_(config_.kv_pages),
        rng_(options.seed) {}

  SimResult Run() {
    for (step_ = 1; step_ <= options_.load_steps && !::testing::Test::HasFatalFailure(); ++step_) {
      Arrivals();
      Disturb();
      Step();
    }
    // Drain: nothing new, nobody paused; everything must end.
    for (auto& [id, s] : seqs_) {
      if (s.paused) {
        EXPECT_TRUE(scheduler_.SetPaused(id, false).ok());
      }
      s.paused = false;
    }
    const int drain_start = step_;
    while (!seqs_.empty() && !::testing::Test::HasFatalFailure()) {
      if (step_ - drain_start > 20000) {
        ADD_FAILURE() << seqs_.size() << " sequences never ended";
        break;
      }
      Step();
      ++step_;
    }
    result_.drain_steps = step_ - drain_start;
    if (::testing::Test::HasFatalFailure()) return result_;
    result_.preemptions = scheduler_.stats().preemptions;
    EXPECT_EQ(result_.finished + result_.cancelled + result_.expired, result_.accepted);
    EXPECT_EQ(pool_.available(), pool_.size());  // every page back
    EXPECT_FALSE(scheduler_.HasWork());
    return result_;
  }

 private:
  template <typename T>
  T Uniform(T lo, T hi) {
    return std::uniform_int_distribution<T>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  absl::Time Now() const {
    return absl::FromUnixSeconds(1'000'000) + absl::Milliseconds(10) * step_;
  }

  void Arrivals() {
    const int n = Chance(0.35) ? Uniform(1, 3) : 0;
    for (int i = 0; i < n; ++i) {
      SimSeq s;
      SeqRequest r;
      r.id = next_id_++;
      if (Chance(0.5)) {
        s.group = Uniform(0, 2);
        r.prompt_tokens = kGroupLen[s.group] + Uniform(1, 300);
      } else {
        r.prompt_tokens = Chance(0.8) ? Uniform(1, 200) : Uniform(200, 3000);
      }
      r.max_new_tokens = Uniform(1, 64);
      const bool oversized = Chance(0.03);
      if (oversized) r.max_new_tokens = config_.context_length - r.prompt_tokens + 1;
      if (options_.priorities) r.priority = Uniform(0, 2);
      if (Chance(0.1)) r.deadline = Now() + absl::Milliseconds(10) * Uniform(20, 400);
      const absl::Status status = scheduler_.Submit(r);
      if (oversized) {
        ASSERT_EQ(status.code(), absl::StatusCode::kOutOfRange) << status;
        continue;
      }
      if (status.code() == absl::StatusCode::kResourceExhausted) {
        ++result_.rejected;
        continue;
      }
      ASSERT_TRUE(status.ok()) << status;
      s.prompt = s.known = r.prompt_tokens;
      s.max_new = r.max_new_tokens;
      s.submit_step = step_;
      seqs_[r.id] = s;
      ++result_.accepted;
    }
  }

  // Random cancels and pauses; paused sequences resume after a while.
  void Disturb() {
    for (auto& [id, s] : seqs_) {
      if (s.paused && Chance(0.2)) {
        ASSERT_TRUE(scheduler_.SetPaused(id, false).ok());
        s.paused = false;
      } else if (!s.paused && Chance(0.004)) {
        ASSERT_TRUE(scheduler_.SetPaused(id, true).ok());
        s.paused = true;
      }
      if (!s.cancelled && Chance(0.002)) {
        ASSERT_TRUE(scheduler_.Cancel(id).ok());
        s.cancelled = true;
      }
    }
  }

  // The cached prefix of a waiting sequence, as the engine would look it up.
  void RefreshCachedPrefixes() {
    for (SeqId id : scheduler_.WaitingOrder()) {
      const SimSeq& s = seqs_.at(id);
      CachedPrefix cached;
      if (s.group >= 0) {
        const int limit = std::min(kGroupLen[s.group], s.known);
        for (int i = 0; (i + 1) * kPageSize <= limit; ++i) {
          const int p = pool_.Lookup(Key(s.group, i));
          if (p < 0) break;
          cached.tokens += kPageSize;
          cached.shared_pages += pool_.ref(p) > 0;
        }
      }
      ASSERT_TRUE(scheduler_.SetCachedPrefix(id, cached).ok());
    }
  }

  static int64_t Key(int group, int page) { return int64_t{group} * 1000 + page; }

  void Step() {
    RefreshCachedPrefixes();
    const int available = pool_.available();
    absl::StatusOr<StepPlan> planned = scheduler_.Schedule(Now(), {available});
    ASSERT_TRUE(planned.ok()) << planned.status();
    const StepPlan& plan = *planned;
    absl::StrAppend(&result_.digest, plan.step, ":");
    CheckPlanShape(plan, available);
    result_.stalled_steps += plan.stalled_pages > 0;
    for (const ReleasedSeq& r : plan.released) ApplyRelease(r);
    for (const ScheduledSeq& p : plan.seqs) {
      if (p.admitted) AttachCachedPrefix(p);
    }
    std::vector<SeqId> finished;
    for (const ScheduledSeq& p : plan.seqs) {
      ApplyScheduled(p);
      if (::testing::Test::HasFatalFailure()) return;
      SimSeq& s = seqs_.at(p.id);
      absl::StrAppend(&result_.digest, p.id, "+", p.n_tokens, p.admitted ? "a" : "", ",");
      if (!p.samples) continue;
      ++s.known;
      ++s.generated;
      if (s.first_token_step < 0) {
        s.first_token_step = step_;
        result_.max_wait_steps = std::max(result_.max_wait_steps, step_ - s.submit_step);
      }
      if (s.generated < s.max_new && Chance(0.03)) finished.push_back(p.id);  // a stop token
    }
    ASSERT_TRUE(scheduler_.Update(plan, finished, Now() + absl::Milliseconds(5)).ok());
    CheckAgreement();
    pool_.CheckStates();
  }

  void CheckPlanShape(const StepPlan& plan, int available) {
    ASSERT_LE(plan.n_tokens, config_.max_tokens_per_step);
    ASSERT_LE(static_cast<int>(plan.seqs.size()), config_.max_seqs_per_step);
    ASSERT_LE(plan.n_charged_pages, available);
    std::set<SeqId> seen;
    for (const ReleasedSeq& r : plan.released) ASSERT_TRUE(seen.insert(r.id).second) << r.id;
    // Every sequence cancelled before this step leaves in it.
    for (const auto& [id, s] : seqs_) {
      if (s.cancelled) {
        ASSERT_TRUE(seen.count(id)) << "cancelled " << id << " still live";
      }
    }
    bool prefill_seen = false;
    for (const ScheduledSeq& p : plan.seqs) {
      ASSERT_TRUE(seen.insert(p.id).second) << "sequence " << p.id << " twice in a plan";
      const SimSeq& s = seqs_.at(p.id);
      ASSERT_FALSE(s.paused) << p.id;
      ASSERT_GE(p.n_tokens, 1);
      ASSERT_LE(p.n_tokens, std::max(1, config_.prefill_chunk));
      const bool decode = !p.admitted && s.known - s.computed == 1;
      if (!decode) prefill_seen = true;
      ASSERT_FALSE(decode && prefill_seen) << "decode of " << p.id << " after a prefill";
      ASSERT_EQ(p.samples, p.first_token + p.n_tokens == s.known) << p.id;
    }
  }

  void ApplyRelease(const ReleasedSeq& r) {
    SimSeq& s = seqs_.at(r.id);
    ASSERT_EQ(static_cast<int>(s.pages.size()), r.pages) << r.id;
    for (int p : s.pages) pool_.Release(p);
    s.pages.clear();
    switch (r.reason) {
      case ReleaseReason::kPreempted:
        ASSERT_FALSE(s.cancelled);
        s.computed = 0;
        return;
      case ReleaseReason::kFinished:
        ASSERT_GE(s.generated, 1);
        ++result_.finished;
        break;
      case ReleaseReason::kCancelled:
        ASSERT_TRUE(s.cancelled);
        ++result_.cancelled;
        break;
      case ReleaseReason::kDeadlineExceeded:
        ++result_.expired;
        break;
    }
    seqs_.erase(r.id);
  }

  // Admitted sequences take their cached prefix pages before any page is allocated, so
  // that no allocation evicts a page the plan counted on.
  void AttachCachedPrefix(const ScheduledSeq& p) {
    SimSeq& s = seqs_.at(p.id);
    ASSERT_TRUE(s.pages.empty());
    ASSERT_EQ(p.cached_tokens % kPageSize, 0);
    for (int i = 0; i < p.cached_tokens / kPageSize; ++i) {
      const int page = pool_.Lookup(Key(s.group, i));
      ASSERT_GE(page, 0) << "cached page " << i << " of " << p.id << " is gone";
      pool_.Retain(page);
      s.pages.push_back(page);
    }
    s.computed = p.cached_tokens;
    result_.cached_admissions += p.cached_tokens > 0;
  }

  void ApplyScheduled(const ScheduledSeq& p) {
    SimSeq& s = seqs_.at(p.id);
    ASSERT_EQ(p.first_token, s.computed) << p.id;
    for (int i = 0; i < p.new_pages; ++i) {
      const int page = pool_.Allocate();
      ASSERT_GE(page, 0) << "the plan allocated more pages than the pool has";
      s.pages.push_back(page);
    }
    s.computed += p.n_tokens;
    ASSERT_EQ(static_cast<int>(s.pages.size()), PagesFor(s.computed, kPageSize)) << p.id;
    // Full pages inside the group's shared prefix enter the prefix cache.
    if (s.group >= 0) {
      for (int i = 0; (i + 1) * kPageSize <= std::min(s.computed, kGroupLen[s.group]); ++i) {
        pool_.Insert(Key(s.group, i), s.pages[i]);
      }
    }
  }

  // The scheduler's view matches the pool's: pages held, tokens, reference counts.
  void CheckAgreement() {
    std::vector<int> refs(pool_.size(), 0);
    for (const auto& [id, s] : seqs_) {
      std::optional<SeqView> v = scheduler_.Find(id);
      ASSERT_TRUE(v.has_value()) << id;
      ASSERT_EQ(v->pages_held, static_cast<int>(s.pages.size())) << id;
      ASSERT_EQ(v->known_tokens, s.known) << id;
      ASSERT_EQ(v->computed_tokens, s.computed) << id;
      for (int p : s.pages) ++refs[p];
    }
    for (int p = 0; p < pool_.size(); ++p) ASSERT_EQ(refs[p], pool_.ref(p)) << "page " << p;
    const SchedulerStats st = scheduler_.stats();
    ASSERT_EQ(st.waiting + st.running, static_cast<int>(seqs_.size()));
  }

  SimOptions options_;
  SchedulerConfig config_;
  Scheduler scheduler_;
  FakePool pool_;
  std::mt19937_64 rng_;
  std::map<SeqId, SimSeq> seqs_;
  SeqId next_id_ = 1;
  int step_ = 0;
  SimResult result_;
};

TEST(SchedulerSimulation, InvariantsHoldAndEverySequenceEnds) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    const SimResult r = Simulation({seed, 3000, false}).Run();
    if (::testing::Test::HasFatalFailure()) return;
    // The workload must exercise what it checks.
    EXPECT_GT(r.accepted, 1000);
    EXPECT_GT(r.finished, 800);
    EXPECT_GT(r.cancelled, 0);
    EXPECT_GT(r.expired, 0);
    EXPECT_GT(r.rejected, 0);
    EXPECT_GT(r.preemptions, 0);
    EXPECT_GT(r.cached_admissions, 100);
    EXPECT_GT(r.stalled_steps, 0);
    // No starvation: with one priority, every first token comes within a bounded wait.
    EXPECT_LE(r.max_wait_steps, 400);
    EXPECT_LT(r.drain_steps, 2000);
    std::printf(
        "seed %llu: accepted %d finished %d cancelled %d expired %d rejected %d "
        "preemptions %lld cached admissions %d stalled steps %d max wait %d drain %d\n",
        static_cast<unsigned long long>(seed), r.accepted, r.finished, r.cancelled, r.expired,
        r.rejected, static_cast<long long>(r.preemptions), r.cached_admissions, r.stalled_steps,
        r.max_wait_steps, r.drain_steps);
  }
}

TEST(SchedulerSimulation, PrioritiesStillDrain) {
  const SimResult r = Simulation({11, 3000, true}).Run();
  EXPECT_GT(r.finished, 800);
  EXPECT_GT(r.preemptions, 0);
}

TEST(SchedulerSimulation, IsDeterministic) {
  const SimResult a = Simulation({5, 1000, true}).Run();
  const SimResult b = Simulation({5, 1000, true}).Run();
  EXPECT_GT(a.digest.size(), 10000u);
  EXPECT_EQ(a.digest, b.digest);
}

}  // namespace
}  // namespace smollm::runtime

// The engine thread's state: model, KV pool, prefix cache, scheduler, sessions, sequences.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/engine/engine.h"
#include "runtime/engine/scheduler.h"
#include "runtime/engine/sequence.h"
#include "runtime/engine/session_store.h"
#include "runtime/kv/page_pool.h"
#include "runtime/kv/prefix_cache.h"
#include "runtime/model/forward.h"
#include "runtime/model/step_batch.h"
#include "runtime/model/weights.h"

namespace smollm::runtime {

// Touched only by the engine thread (Engine::Loop), one command or Step at a time.
// Member order is destruction order reversed: sequences (page tables) go first, then the
// session store (its retained page tables), then the prefix cache, then the pool.
class EngineCore {
 public:
  static absl::StatusOr<std::unique_ptr<EngineCore>> Create(const Model& model, Backend& backend,
                                                            const SchedulerConfig& config,
                                                            const EngineOptions& options);
  ~EngineCore();  // ends every live sequence's sink with Cancelled

  // `wake` is called from consumer threads when a paused sink drains.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

  // ---- commands ----
  // Errors go to the sink (the request then never runs).
  void AddRequest(RequestId id, GenerateRequest request, std::shared_ptr<TokenSink> sink);
  void CancelRequest(RequestId id);
  absl::StatusOr<SessionId> CreateSession(const std::string& principal, SessionOptions options,
                                          std::span<const std::vector<TokenId>> initial_turns,
                                          std::optional<SessionId> proposed_id);
  absl::StatusOr<SessionInfo> GetSession(const SessionId& id, const std::string& principal);
  absl::StatusOr<RewindResult> RewindSession(const SessionId& id, const std::string& principal);
  absl::Status DeleteSession(const SessionId& id, const std::string& principal);

  // ---- the loop ----
  // One iteration: unpause drained sinks, plan, apply, forward, sample, update. Does
  // nothing when the scheduler has no work.
  void Step();
  bool HasRunnableWork() const { return scheduler_->HasWork(); }
  bool HasLiveSequences() const { return !seqs_.empty(); }
  void AbortAll(const absl::Status& why);
  // Removes sessions idle past their TTL, releasing their KV pages; returns how many.
  int ExpireIdleSessions() { return store_->ExpireIdle(); }

  EngineStats Snapshot() const;
  QueueLoad Load() const;
  double tokens_per_second() const { return scheduler_->stats().tokens_per_second; }

 private:
  EngineCore(const Model& model, Backend& backend, const SchedulerConfig& config,
             const EngineOptions& options);

  // Ends a sequence that stopped normally: flushes held text, hands a session its KV
  // (before the final event, so that the next turn finds the session idle), frees pages.
  void Complete(Sequence& seq, FinishReason reason);
  // Ends a sequence that did not finish (cancel, deadline, error): the session turn is
  // abandoned.
  void Abandon(Sequence& seq, absl::Status status);
  void EndSessionTurn(Sequence& seq, bool completed);
  void ApplyRelease(const ReleasedSeq& released);
  // Attaches a newly admitted sequence's cached prefix; false if the cache no longer
  // holds what the plan counted on.
  bool Attach(Sequence& seq, const ScheduledSeq& s, absl::Time now);
  void SampleOne(Sequence& seq, std::span<const float> logits, absl::Time now,
                 std::vector<SeqId>& finished);
  void RefreshCachedPrefixes();
  PageTable* OwnSessionKv(Sequence& seq, int32_t cached);
  void RelieveMemory(int pages);
  void Fail(Sequence& seq, absl::Status status);

  const Model* model_;
  Backend* backend_;
  SchedulerConfig config_;
  uint64_t seed_;
  std::vector<TokenId> model_stops_;
  std::function<void()> wake_;
  ModelWeights weights_;
  std::optional<Forward> forward_;
  KvCache kv_;
  std::unique_ptr<PagePool> pool_;
  std::unique_ptr<PrefixCache> cache_;  // null when prefix caching is off
  std::optional<Scheduler> scheduler_;
  std::optional<SessionStore> store_;
  absl::flat_hash_map<RequestId, std::unique_ptr<Sequence>> seqs_;
  absl::flat_hash_map<SessionId, RequestId> session_seqs_;
  absl::flat_hash_set<RequestId> paused_;
  StepBatch batch_;
  std::vector<float> logits_;  // [max_running][vocab]
  int64_t tokens_in_ = 0;
  int64_t tokens_out_ = 0;
  absl::Duration last_step_ = absl::ZeroDuration();
  absl::Duration total_step_ = absl::ZeroDuration();
};

}  // namespace smollm::runtime

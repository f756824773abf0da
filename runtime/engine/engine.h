// The inference engine: one loop thread running continuous batching over a paged KV pool.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/backend/backend.h"
#include "runtime/core/types.h"
#include "runtime/engine/admission.h"
#include "runtime/engine/scheduler_types.h"
#include "runtime/engine/session_id.h"
#include "runtime/engine/session_store_types.h"
#include "runtime/engine/token_sink.h"
#include "runtime/model/model.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::runtime {

using RequestId = int64_t;

// A turn of a session: `prompt` then holds only the turn's new tokens (RenderChatTurn's
// text, tokenized). Every sampled token joins the session's history when the turn ends,
// the stop token that ended it included (so a reply ended by `<|im_end|>` is closed).
struct SessionTurn {
  SessionId id;
  std::string principal;
};

struct GenerateRequest {
  std::vector<TokenId> prompt;  // the whole prompt, or a session turn's new tokens
  SamplingParams sampling;      // max_tokens bounds the completion
  int priority = 0;             // higher first
  std::optional<absl::Time> deadline;  // the request ends (DeadlineExceeded) at the first
                                       // step boundary after it
  std::optional<SessionTurn> session;
};

struct EngineOptions {
  uint64_t kv_cache_bytes = uint64_t{256} << 20;  // KV pool budget
  int page_size = 16;                             // tokens per KV page
  int max_tokens_per_step = 512;                  // tokens in one forward pass
  int max_running = 64;     // admitted sequences (also the logit rows of a step)
  int prefill_chunk = 512;  // most prompt tokens of one sequence in one step
  int kv_reserve_pages = 0; // pages an admission must leave free for running sequences
  double long_prefill_share = 0.5;
  int max_queued_requests = 256;                          // admission limits
  int64_t max_queued_prompt_tokens = int64_t{1} << 20;
  int context_length = 0;   // 0 = the model's
  bool prefix_cache = true;
  std::string cache_salt;   // namespaces the prefix cache (e.g. per tenant)
  SessionStoreOptions sessions;
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int paused = 0;
  int32_t kv_pages_total = 0;
  int32_t kv_pages_used = 0;
  int32_t kv_pages_free = 0;
  int32_t kv_pages_cached = 0;  // unreferenced, evictable
  uint64_t prefix_hit_tokens = 0;
  uint64_t prefix_lookups = 0;
  uint64_t evictions = 0;
  int64_t preemptions = 0;
  int64_t tokens_in = 0;   // prompt tokens computed (cached ones excluded)
  int64_t tokens_out = 0;  // tokens sampled
  int64_t steps = 0;
  absl::Duration last_step_time = absl::ZeroDuration();
  absl::Duration total_step_time = absl::ZeroDuration();
  int64_t sequences = 0;  // live sequences the engine holds (waiting, running, finishing)
  int64_t sessions = 0;
  int64_t sessions_expired = 0;    // idle past idle_ttl, in total
  int64_t sessions_evicted = 0;    // pushed out by the session or token caps, in total
  int64_t session_kv_dropped = 0;  // idle sessions' KV freed under page pressure, in total
  bool draining = false;
};

class EngineCore;  // the engine thread's state (engine_core.h)

// Thread-safe; no call waits for a forward step except the session calls, which wait for
// the engine thread to take their command (at most one step). Submit checks what it can
// synchronously: InvalidArgument (empty prompt, bad sampling params), OutOfRange (prompt +
// max_tokens beyond the context or the KV pool), ResourceExhausted with a retry hint
// (RetryAfter in admission.h) when the queue is full, Unavailable while draining. What
// only the engine thread can decide (a session turn's history, a queue that filled
// meanwhile) ends the request through its sink's FinalEvent instead.
class Engine {
 public:
  // Uploads the weights to `backend` and starts the loop thread. The model and backend
  // must outlive the engine; the backend (and its thread pool) is then used by the engine
  // thread alone.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const Model& model, Backend& backend,
                                                        const EngineOptions& options);
  ~Engine();  // cancels what is left, ends every sink, stops the thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  absl::StatusOr<RequestId> Submit(GenerateRequest request, std::shared_ptr<TokenSink> sink);
  // Idempotent; unknown or finished ids are ignored. Pages are freed at the next step.
  void Cancel(RequestId id);

  // A new session (SessionStore::Create). `initial_turns` rebuilds one that ran elsewhere:
  // each entry is one finished turn's tokens (its RenderChatTurn text, the reply, the
  // end-of-turn token); nothing is generated and no KV is computed now, the next turn
  // prefills them. Besides the store's errors: InvalidArgument for bad sampling or a token
  // outside the vocabulary (naming initial_turns[i]); OutOfRange when they leave no room in
  // the context for another turn (history + 1 new token + 1 generated > context_length).
  // `proposed_id` names the session instead of a fresh random id (AlreadyExists when a live
  // session holds it, whoever owns it; see SessionStore::Create).
  absl::StatusOr<SessionId> CreateSession(const std::string& principal, SessionOptions options,
                                          std::vector<std::vector<TokenId>> initial_turns = {},
                                          std::optional<SessionId> proposed_id = std::nullopt);
  absl::StatusOr<SessionInfo> GetSession(const SessionId& id, const std::string& principal);
  absl::StatusOr<RewindResult> RewindSession(const SessionId& id, const std::string& principal);
  absl::Status DeleteSession(const SessionId& id, const std::string& principal);

  // The snapshot published after the last loop iteration (at creation, the initial one).
  EngineStats Stats() const;
  // Refuses new work (Unavailable) from now on; accepted work runs to completion.
  void Drain();
  // Waits until no sequence is live and no command is queued; false on timeout.
  bool WaitUntilIdle(absl::Duration timeout);

  const SchedulerConfig& scheduler_config() const { return config_; }

 private:
  using Command = std::function<void(EngineCore&)>;
  Engine(const Model& model, SchedulerConfig config, std::unique_ptr<EngineCore> core);
  void Enqueue(Command command, int64_t prompt_tokens);
  // Runs `fn` on the engine thread and waits for its result.
  template <typename T>
  T Call(std::function<T(EngineCore&)> fn);
  void Loop();
  // Expires idle sessions at most once per kExpiryInterval (loop thread only).
  void MaybeExpireSessions();
  // How often the loop looks for expired sessions, and the longest it sleeps when idle,
  // so that idle sessions (and their KV pages) go within about this of their TTL even
  // when no request arrives.
  static constexpr absl::Duration kExpiryInterval = absl::Seconds(1);
  absl::Time last_expiry_ = absl::InfinitePast();  // loop thread only

  const Model* model_;
  const SchedulerConfig config_;
  std::unique_ptr<EngineCore> core_;  // touched by the loop thread only
  mutable absl::Mutex mu_;
  absl::CondVar wake_cv_;
  absl::CondVar idle_cv_;
  std::deque<Command> commands_ ABSL_GUARDED_BY(mu_);
  int queued_submits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_submit_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool idle_ ABSL_GUARDED_BY(mu_) = true;
  RequestId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  EngineStats stats_ ABSL_GUARDED_BY(mu_);
  QueueLoad load_ ABSL_GUARDED_BY(mu_);  // published by the loop after each iteration
  double tokens_per_second_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<void> waker_;  // the drain hook's way back to the loop
  std::thread thread_;
};

}  // namespace smollm::runtime

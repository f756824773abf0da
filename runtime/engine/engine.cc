// Engine: the thread-safe front (command queue, admission checks) and the loop thread.
#include "runtime/engine/engine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/engine/engine_core.h"
#include "runtime/kv/kv_sizing.h"

namespace smollm::runtime {
namespace {

// Lets sinks that outlive the engine call their drain hook safely.
struct Waker {
  absl::Mutex mu;
  std::function<void()> wake ABSL_GUARDED_BY(mu);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Model& model, Backend& backend,
                                                       const EngineOptions& options) {
  const ModelConfig& c = model.config();
  SchedulerConfig config;
  config.context_length = options.context_length > 0 ? options.context_length
                                                      : static_cast<int>(c.context_length);
  config.page_size = options.page_size;
  ASSIGN_OR_RETURN(config.kv_pages,
                   KvPagesForBudget(options.kv_cache_bytes,
                                    {c.n_layers, c.n_kv_heads, c.head_dim, options.page_size}));
  config.kv_reserve_pages = options.kv_reserve_pages;
  config.max_tokens_per_step = options.max_tokens_per_step;
  config.max_seqs_per_step = options.max_running;
  config.max_running = options.max_running;
  config.prefill_chunk = options.prefill_chunk;
  config.long_prefill_share = options.long_prefill_share;
  config.max_queued_requests = options.max_queued_requests;
  config.max_queued_prompt_tokens = options.max_queued_prompt_tokens;
  RETURN_IF_ERROR(ValidateSchedulerConfig(config));
  ASSIGN_OR_RETURN(std::unique_ptr<EngineCore> core,
                   EngineCore::Create(model, backend, config, options));
  std::unique_ptr<Engine> engine(new Engine(model, config, std::move(core)));
  return engine;
}

Engine::Engine(const Model& model, SchedulerConfig config, std::unique_ptr<EngineCore> core)
    : model_(&model), config_(config), core_(std::move(core)) {
  auto waker = std::make_shared<Waker>();
  {
    absl::MutexLock lock(&waker->mu);
    waker->wake = [this] {
      absl::MutexLock l(&mu_);
      wake_ = true;
      wake_cv_.Signal();
    };
  }
  waker_ = waker;
  {
    // Stats() answers from the start (the KV capacity above all), not only after the
    // loop's first pass, which may sleep a second when idle.
    absl::MutexLock lock(&mu_);
    stats_ = core_->Snapshot();
  }
  core_->set_wake([weak = std::weak_ptr<Waker>(waker)] {
    if (std::shared_ptr<Waker> w = weak.lock()) {
      absl::MutexLock lock(&w->mu);
      if (w->wake) w->wake();
    }
  });
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_cv_.Signal();
  }
  thread_.join();
  // Commands the loop did not take: run them here so that every accepted request gets
  // its final event (core_ then cancels it) and every waiting session call its answer.
  std::deque<Command> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(commands_);
  }
  for (Command& command : left) command(*core_);
  {
    auto waker = std::static_pointer_cast<Waker>(waker_);
    absl::MutexLock lock(&waker->mu);
    waker->wake = nullptr;
  }
  core_.reset();  // ends what is left (on this thread: the loop thread is gone)
}

void Engine::Enqueue(Command command, int64_t prompt_tokens) {
  absl::MutexLock lock(&mu_);
  commands_.push_back(std::move(command));
  if (prompt_tokens >= 0) {
    ++queued_submits_;
    queued_submit_tokens_ += prompt_tokens;
  }
  idle_ = false;
  wake_cv_.Signal();
}

absl::StatusOr<RequestId> Engine::Submit(GenerateRequest request,
                                         std::shared_ptr<TokenSink> sink) {
  if (sink == nullptr) return absl::InvalidArgumentError("sink: must not be null");
  if (request.prompt.empty()) return absl::InvalidArgumentError("prompt: no tokens");
  const int32_t vocab = model_->config().vocab_size;
  for (size_t i = 0; i < request.prompt.size(); ++i) {
    if (request.prompt[i] < 0 || request.prompt[i] >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat("prompt[", i, "]: token ",
                                                     request.prompt[i], " outside the vocabulary"));
    }
  }
  RETURN_IF_ERROR(Validate(request.sampling, vocab));
  SeqRequest sr;
  sr.prompt_tokens = static_cast<int>(request.prompt.size());
  sr.max_new_tokens = request.sampling.max_tokens;
  // A session turn's history is known on the engine thread only; it checks again there.
  RETURN_IF_ERROR(CheckRequest(config_, sr));
  const int64_t tokens = sr.prompt_tokens;
  RequestId id;
  {
    absl::MutexLock lock(&mu_);
    if (draining_ || stop_) return absl::UnavailableError("the engine is draining");
    QueueLoad load = load_;
    load.waiting += queued_submits_;
    load.queued_tokens += queued_submit_tokens_;
    const absl::Duration retry =
        tokens_per_second_ > 0
            ? absl::Seconds(static_cast<double>(load.queued_tokens + tokens) / tokens_per_second_)
            : config_.default_retry_after;
    RETURN_IF_ERROR(CheckQueueRoom(config_, load, tokens, retry));
    id = next_id_++;
    commands_.push_back([id, request = std::move(request), sink](EngineCore& core) mutable {
      core.AddRequest(id, std::move(request), std::move(sink));
    });
    ++queued_submits_;
    queued_submit_tokens_ += tokens;
    idle_ = false;
    wake_cv_.Signal();
  }
  return id;
}

void Engine::Cancel(RequestId id) {
  Enqueue([id](EngineCore& core) { core.CancelRequest(id); }, -1);
}

template <typename T>
T Engine::Call(std::function<T(EngineCore&)> fn) {
  struct Result {
    absl::Mutex mu;
    std::optional<T> value ABSL_GUARDED_BY(mu);
  };
  auto result = std::make_shared<Result>();
  Enqueue(
      [fn = std::move(fn), result](EngineCore& core) {
        T value = fn(core);
        absl::MutexLock lock(&result->mu);
        result->value.emplace(std::move(value));
      },
      -1);
  absl::MutexLock lock(&result->mu);
  result->mu.Await(absl::Condition(
      +[](std::optional<T>* v) { return v->has_value(); }, &result->value));
  return *std::move(result->value);
}

absl::StatusOr<SessionId> Engine::CreateSession(const std::string& principal,
                                                SessionOptions options,
                                                std::vector<std::vector<TokenId>> initial_turns,
                                                std::optional<SessionId> proposed_id) {
  return Call<absl::StatusOr<SessionId>>([&](EngineCore& core) {
    return core.CreateSession(principal, std::move(options), initial_turns, proposed_id);
  });
}

absl::StatusOr<SessionInfo> Engine::GetSession(const SessionId& id, const std::string& principal) {
  return Call<absl::StatusOr<SessionInfo>>(
      [&](EngineCore& core) { return core.GetSession(id, principal); });
}

absl::StatusOr<RewindResult> Engine::RewindSession(const SessionId& id,
                                                   const std::string& principal) {
  return Call<absl::StatusOr<RewindResult>>(
      [&](EngineCore& core) { return core.RewindSession(id, principal); });
}

absl::Status Engine::DeleteSession(const SessionId& id, const std::string& principal) {
  return Call<absl::Status>([&](EngineCore& core) { return core.DeleteSession(id, principal); });
}

EngineStats Engine::Stats() const {
  absl::MutexLock lock(&mu_);
  EngineStats s = stats_;
  s.draining = draining_;
  return s;
}

void Engine::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool Engine::WaitUntilIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&idle_), timeout);
}

void Engine::MaybeExpireSessions() {
  // Wall time paces the checks; the store judges expiry by its own (injectable) clock.
  const absl::Time now = absl::Now();
  if (now - last_expiry_ < kExpiryInterval) return;
  last_expiry_ = now;
  core_->ExpireIdleSessions();
}

void Engine::Loop() {
  for (;;) {
    std::deque<Command> commands;
    {
      absl::MutexLock lock(&mu_);
      // Sleep when nothing can run: no command, no runnable sequence. Paused or
      // memory-blocked sequences are rechecked now and then (deadlines, drained sinks
      // also wake us).
      if (!stop_ && commands_.empty() && !wake_ && !core_->HasRunnableWork()) {
        wake_cv_.WaitWithTimeout(&mu_, core_->HasLiveSequences() ? absl::Milliseconds(20)
                                                                 : kExpiryInterval);
      }
      if (stop_) return;
      wake_ = false;
      commands.swap(commands_);
      queued_submits_ = 0;
      queued_submit_tokens_ = 0;
    }
    for (Command& command : commands) command(*core_);
    core_->Step();
    MaybeExpireSessions();
    absl::MutexLock lock(&mu_);
    stats_ = core_->Snapshot();
    load_ = core_->Load();
    tokens_per_second_ = core_->tokens_per_second();
    idle_ = commands_.empty() && !core_->HasLiveSequences();
  }
}

}  // namespace smollm::runtime

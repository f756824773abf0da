// EngineCore: creation, commands from callers, session turns, ending sequences, stats.
#include "runtime/engine/engine_core.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/engine/admission.h"
#include "runtime/kv/kv_sizing.h"
#include "runtime/kv/page_hash.h"

namespace smollm::runtime {

EngineCore::EngineCore(const Model& model, Backend& backend, const SchedulerConfig& config,
                       const EngineOptions& options)
    : model_(&model),
      backend_(&backend),
      config_(config),
      seed_(PrefixCacheSeed(model.path(), options.cache_salt)) {
  for (TokenId t : {model.tokenizer().eos_id(), model.tokenizer().eot_id()}) {
    if (t >= 0 && std::find(model_stops_.begin(), model_stops_.end(), t) == model_stops_.end()) {
      model_stops_.push_back(t);
    }
  }
}

absl::StatusOr<std::unique_ptr<EngineCore>> EngineCore::Create(const Model& model,
                                                               Backend& backend,
                                                               const SchedulerConfig& config,
                                                               const EngineOptions& options) {
  const ModelConfig& c = model.config();
  std::unique_ptr<EngineCore> core(new EngineCore(model, backend, config, options));
  ASSIGN_OR_RETURN(core->weights_, UploadWeights(c, model.gguf(), backend));
  ASSIGN_OR_RETURN(Forward forward,
                   Forward::Create(c, core->weights_, backend,
                                   {config.max_tokens_per_step, config.max_seqs_per_step}));
  core->forward_.emplace(std::move(forward));
  ASSIGN_OR_RETURN(core->kv_, AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim,
                                                        config.page_size, config.kv_pages}));
  ASSIGN_OR_RETURN(core->pool_, PagePool::Create({config.kv_pages, config.page_size, 0}));
  if (options.prefix_cache) core->cache_ = std::make_unique<PrefixCache>(*core->pool_);
  ASSIGN_OR_RETURN(Scheduler scheduler, Scheduler::Create(config));
  core->scheduler_.emplace(std::move(scheduler));
  ASSIGN_OR_RETURN(SessionStore store, SessionStore::Make(options.sessions));
  core->store_.emplace(std::move(store));
  core->logits_.resize(static_cast<size_t>(config.max_seqs_per_step) * c.vocab_size);
  return core;
}

EngineCore::~EngineCore() { AbortAll(absl::CancelledError("the engine stopped")); }

void EngineCore::AbortAll(const absl::Status& why) {
  for (auto& [id, seq] : seqs_) {
    if (!seq->final_sent) Abandon(*seq, why);
    seq->table.reset();
  }
  seqs_.clear();
  paused_.clear();
}

void EngineCore::AddRequest(RequestId id, GenerateRequest request,
                            std::shared_ptr<TokenSink> sink) {
  const absl::Time now = absl::Now();
  std::vector<TokenId> tokens;
  std::unique_ptr<SessionKv> held;
  if (request.session.has_value()) {
    absl::StatusOr<TurnStart> turn =
        store_->BeginTurn(request.session->id, request.session->principal, request.prompt);
    if (!turn.ok()) {
      sink->Finish({turn.status(), {}});
      return;
    }
    tokens = std::move(turn->tokens);
    if (turn->kv != nullptr) {
      static_cast<EngineSessionKv&>(*turn->kv).table().Truncate(
          static_cast<int32_t>(turn->cached_tokens));
      held = std::move(turn->kv);
    }
  } else {
    tokens = std::move(request.prompt);
  }
  const int n = static_cast<int>(tokens.size());
  auto refuse = [&](absl::Status status) {
    if (request.session.has_value()) {
      const int64_t kept =
          held != nullptr ? static_cast<EngineSessionKv&>(*held).table().n_tokens() : 0;
      (void)store_->CancelTurn(request.session->id, std::move(held), kept);
    }
    sink->Finish({std::move(status), {}});
  };
  SeqRequest sr;
  sr.id = id;
  sr.prompt_tokens = n;
  sr.max_new_tokens = request.sampling.max_tokens;
  sr.priority = request.priority;
  if (request.deadline.has_value()) sr.deadline = *request.deadline;
  if (absl::Status st = CheckRequest(config_, sr); !st.ok()) return refuse(st);
  absl::StatusOr<std::unique_ptr<Sequence>> seq =
      Sequence::Create(id, std::move(tokens), n, request.sampling, model_->config().vocab_size,
                       model_stops_, model_->tokenizer(), sink, now);
  if (!seq.ok()) return refuse(seq.status());
  if (absl::Status st = scheduler_->Submit(sr); !st.ok()) return refuse(st);
  (*seq)->held_session_kv = std::move(held);
  (*seq)->deadline = sr.deadline;
  if (request.session.has_value()) {
    (*seq)->session = request.session->id;
    session_seqs_[request.session->id] = id;
  }
  std::function<void()> wake = wake_;
  sink->SetDrainHook(wake);
  seqs_[id] = *std::move(seq);
}

void EngineCore::CancelRequest(RequestId id) {
  if (seqs_.contains(id)) (void)scheduler_->Cancel(id);
}

absl::StatusOr<SessionId> EngineCore::CreateSession(
    const std::string& principal, SessionOptions options,
    std::span<const std::vector<TokenId>> initial_turns, std::optional<SessionId> proposed_id) {
  const int32_t vocab = model_->config().vocab_size;
  RETURN_IF_ERROR(Validate(options.sampling, vocab));
  int64_t total = 0;
  for (size_t i = 0; i < initial_turns.size(); ++i) {
    for (TokenId t : initial_turns[i]) {
      if (t < 0 || t >= vocab) {
        return absl::InvalidArgumentError(absl::StrCat(
            "initial_turns[", i, "] holds token ", t, ", outside the vocabulary [0, ", vocab, ")"));
      }
    }
    total += static_cast<int64_t>(initial_turns[i].size());
  }
  // The next turn needs a new token and room to generate one.
  if (total + 2 > config_.context_length) {
    return absl::OutOfRangeError(absl::StrCat(
        "initial_turns: ", total, " tokens leave no room for another turn in the context of ",
        config_.context_length, " tokens"));
  }
  return store_->Create(principal, std::move(options),
                        absl::MakeConstSpan(initial_turns.data(), initial_turns.size()),
                        proposed_id);
}

absl::StatusOr<SessionInfo> EngineCore::GetSession(const SessionId& id,
                                                   const std::string& principal) {
  return store_->Get(id, principal);
}

absl::StatusOr<RewindResult> EngineCore::RewindSession(const SessionId& id,
                                                       const std::string& principal) {
  return store_->Rewind(id, principal);
}

absl::Status EngineCore::DeleteSession(const SessionId& id, const std::string& principal) {
  ASSIGN_OR_RETURN(SessionState state, store_->Delete(id, principal));
  if (state == SessionState::kGenerating) {
    auto it = session_seqs_.find(id);
    if (it != session_seqs_.end()) CancelRequest(it->second);
  }
  return absl::OkStatus();
}

void EngineCore::EndSessionTurn(Sequence& seq, bool completed) {
  if (!seq.session.has_value()) return;
  const SessionId id = *seq.session;
  seq.session.reset();
  session_seqs_.erase(id);
  std::unique_ptr<SessionKv> kv = std::move(seq.held_session_kv);
  int64_t kv_tokens = 0;
  if (seq.table.has_value()) {
    kv_tokens = seq.table->n_tokens();
    kv = std::make_unique<EngineSessionKv>(std::move(*seq.table));
    seq.table.reset();
  } else if (kv != nullptr) {
    kv_tokens = static_cast<EngineSessionKv&>(*kv).table().n_tokens();
  }
  if (completed) {
    std::span<const TokenId> generated(seq.tokens);
    (void)store_->EndTurn(id, generated.subspan(seq.prompt_tokens), std::move(kv), kv_tokens);
  } else {
    (void)store_->CancelTurn(id, std::move(kv), kv_tokens);
  }
}

void EngineCore::Complete(Sequence& seq, FinishReason reason) {
  if (seq.final_sent) return;
  std::string held;
  if (reason != FinishReason::kStopString) held = seq.stop.Flush() + seq.decoder.Flush();
  if (!held.empty()) seq.sink->Push({std::move(held), {}, {}});
  seq.finish = reason;
  EndSessionTurn(seq, /*completed=*/true);
  seq.table.reset();
  seq.sink->SetDrainHook(nullptr);
  seq.SendFinal(absl::OkStatus(), reason);
}

void EngineCore::Abandon(Sequence& seq, absl::Status status) {
  if (seq.final_sent) return;
  EndSessionTurn(seq, /*completed=*/false);
  seq.table.reset();
  seq.held_session_kv.reset();
  seq.sink->SetDrainHook(nullptr);
  seq.SendFinal(std::move(status), FinishReason::kCancelled);
}

void EngineCore::Fail(Sequence& seq, absl::Status status) {
  if (seq.error.ok()) seq.error = std::move(status);
  (void)scheduler_->Cancel(seq.id);
}

void EngineCore::ApplyRelease(const ReleasedSeq& released) {
  auto it = seqs_.find(released.id);
  if (it == seqs_.end()) return;
  Sequence& seq = *it->second;
  switch (released.reason) {
    case ReleaseReason::kPreempted:
      seq.table.reset();  // tokens and sampler state stay; it recomputes on re-admission
      return;
    case ReleaseReason::kFinished:
      Complete(seq, seq.finish == FinishReason::kNone ? FinishReason::kMaxTokens : seq.finish);
      break;
    case ReleaseReason::kCancelled:
      Abandon(seq, seq.error.ok() ? absl::CancelledError("the request was cancelled") : seq.error);
      break;
    case ReleaseReason::kDeadlineExceeded:
      Abandon(seq, absl::DeadlineExceededError("the request's deadline passed"));
      break;
  }
  paused_.erase(released.id);
  seqs_.erase(it);
}

void EngineCore::RelieveMemory(int pages) {
  int freed = 0;
  for (const SessionId& id : store_->IdleWithKvLeastRecentFirst(8)) {
    if (freed >= pages) break;
    const int32_t before = pool_->n_free() + pool_->n_cached();
    absl::StatusOr<std::unique_ptr<SessionKv>> kv = store_->DropKv(id);
    if (kv.ok()) kv->reset();
    freed += pool_->n_free() + pool_->n_cached() - before;
  }
}

EngineStats EngineCore::Snapshot() const {
  EngineStats s;
  const SchedulerStats sched = scheduler_->stats();
  s.running = sched.running;
  s.waiting = sched.waiting;
  s.paused = sched.paused;
  s.preemptions = sched.preemptions;
  s.steps = sched.steps;
  s.kv_pages_total = pool_->n_pages();
  s.kv_pages_used = pool_->n_used();
  s.kv_pages_free = pool_->n_free();
  s.kv_pages_cached = pool_->n_cached();
  s.evictions = pool_->n_evictions();
  if (cache_ != nullptr) {
    s.prefix_hit_tokens = cache_->stats().hit_tokens;
    s.prefix_lookups = cache_->stats().lookups;
  }
  s.tokens_in = tokens_in_;
  s.tokens_out = tokens_out_;
  s.last_step_time = last_step_;
  s.total_step_time = total_step_;
  s.sequences = static_cast<int64_t>(seqs_.size());
  const SessionStoreStats sessions = store_->stats();
  s.sessions = sessions.sessions;
  s.sessions_expired = sessions.expired_total;
  s.sessions_evicted = sessions.evicted_total;
  s.session_kv_dropped = sessions.kv_dropped_total;
  return s;
}

QueueLoad EngineCore::Load() const {
  const SchedulerStats sched = scheduler_->stats();
  return {sched.waiting, sched.queued_tokens};
}

}  // namespace smollm::runtime

// EngineCore::Step: one scheduler plan applied, run through the model and sampled.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/engine/engine_core.h"

namespace smollm::runtime {

// The session turn's own retained KV when it covers at least `cached` tokens and stops
// short of the turn's last token; else null.
PageTable* EngineCore::OwnSessionKv(Sequence& seq, int32_t cached) {
  if (seq.held_session_kv == nullptr) return nullptr;
  PageTable& table = static_cast<EngineSessionKv&>(*seq.held_session_kv).table();
  const int32_t n = table.n_tokens();
  if (n == 0 || n < cached || n >= static_cast<int32_t>(seq.tokens.size())) return nullptr;
  return &table;
}

void EngineCore::RefreshCachedPrefixes() {
  // Only sequences near the front can be admitted this step.
  const std::vector<SeqId> waiting = scheduler_->WaitingOrder();
  const size_t n = std::min<size_t>(waiting.size(), static_cast<size_t>(config_.max_running));
  for (size_t i = 0; i < n; ++i) {
    auto it = seqs_.find(waiting[i]);
    if (it == seqs_.end()) continue;
    std::span<const TokenId> tokens(it->second->tokens);
    // Pages referenced elsewhere (a running sequence, a session, this turn's own retained
    // KV) are outside the free count, so the scheduler does not charge them.
    int32_t shared = 0;
    const int32_t pages =
        cache_ != nullptr
            ? cache_->CountCachedPages(seed_, tokens.first(tokens.size() - 1), &shared)
            : 0;
    CachedPrefix cached{pages * config_.page_size, shared};
    // A session turn's own pages, its partly filled last one included, are referenced by
    // the turn already: all of them are free to take.
    if (const PageTable* own = OwnSessionKv(*it->second, cached.tokens); own != nullptr) {
      cached = {own->n_tokens(), own->n_pages()};
    }
    (void)scheduler_->SetCachedPrefix(waiting[i], cached);
  }
}

bool EngineCore::Attach(Sequence& seq, const ScheduledSeq& s, absl::Time now) {
  PageTable* own = s.cached_tokens > 0 ? OwnSessionKv(seq, s.cached_tokens) : nullptr;
  if (own != nullptr &&
      !std::equal(own->tokens().begin(), own->tokens().end(), seq.tokens.begin())) {
    own = nullptr;  // not this history's KV (never expected): take the prefix cache's
  }
  if (own != nullptr) {
    // The session's next turn continues its own table: the full pages (shared through the
    // prefix cache as any) and the private partial page it writes on into.
    seq.table.emplace(std::move(*own));
    if (seq.table->n_tokens() > s.cached_tokens &&
        seq.table->Truncate(s.cached_tokens) != s.cached_tokens) {
      return false;
    }
  } else {
    seq.table.emplace(*pool_, cache_.get(), seed_);
  }
  if (own == nullptr && s.cached_tokens > 0) {
    absl::StatusOr<int32_t> matched = seq.table->MatchPrefix(seq.tokens);
    if (!matched.ok() || *matched < s.cached_tokens) return false;
    if (*matched > s.cached_tokens) seq.table->Truncate(s.cached_tokens);
  }
  if (!seq.admitted.has_value()) {
    seq.admitted = now;
    seq.cached_tokens = s.cached_tokens;
  }
  // The prefix is now referenced by the sequence itself.
  seq.held_session_kv.reset();
  return true;
}

void EngineCore::SampleOne(Sequence& seq, std::span<const float> logits, absl::Time now,
                           std::vector<SeqId>& finished) {
  absl::StatusOr<SampleResult> sample = seq.sampler.Sample(logits);
  if (!sample.ok()) return Fail(seq, sample.status());
  if (absl::Status st = seq.sampler.Accept(sample->token); !st.ok()) return Fail(seq, st);
  seq.tokens.push_back(sample->token);
  ++seq.generated;
  ++tokens_out_;
  if (!seq.first_token.has_value()) seq.first_token = now;
  std::string piece;
  if (absl::Status st = seq.decoder.Push(sample->token, &piece); !st.ok()) return Fail(seq, st);
  StopUpdate update = seq.stop.Feed(sample->token, piece);
  TokenEvent delta;
  delta.text = std::move(update.text);
  delta.tokens.push_back(sample->token);
  if (seq.want_logprobs && sample->logprob.has_value()) delta.logprobs.push_back(*sample->logprob);
  if (seq.want_top_logprobs) {
    const std::span<const TokenLogprob> top = sample->top_logprobs();
    delta.top_logprobs.emplace_back(top.begin(), top.end());
  }
  const bool over = seq.sink->Push(std::move(delta));
  if (update.finished) {
    seq.finish = update.reason;
    finished.push_back(seq.id);
  } else if (over && !paused_.contains(seq.id)) {
    paused_.insert(seq.id);
    (void)scheduler_->SetPaused(seq.id, true);
  }
}

void EngineCore::Step() {
  // Consumers that drained their backlog get their sequences back.
  for (auto it = paused_.begin(); it != paused_.end();) {
    auto seq = seqs_.find(*it);
    if (seq == seqs_.end() || !seq->second->sink->over_bound()) {
      if (seq != seqs_.end()) (void)scheduler_->SetPaused(*it, false);
      paused_.erase(it++);
    } else {
      ++it;
    }
  }
  const absl::Time start = absl::Now();
  if (!scheduler_->HasWork()) {
    // Only paused sequences (or none) are left: plan a step only to drop one whose
    // deadline passed, since HasWork leaves deadlines aside.
    bool due = false;
    for (RequestId id : paused_) {
      auto it = seqs_.find(id);
      due = due || (it != seqs_.end() && it->second->deadline <= start);
    }
    if (!due) return;
  }
  RefreshCachedPrefixes();
  KvBudget budget{pool_->n_free() + pool_->n_cached()};
  absl::StatusOr<StepPlan> planned = scheduler_->Schedule(start, budget);
  if (!planned.ok()) {
    AbortAll(planned.status());
    return;
  }
  const StepPlan& plan = *planned;
  // Idle sessions' KV goes before anyone waits on memory; what it frees counts from the
  // next step's budget on.
  if (plan.stalled_pages + plan.blocked_pages > 0) {
    RelieveMemory(plan.stalled_pages + plan.blocked_pages);
  }

  // The documented order: release, attach cached prefixes, allocate, forward, Update.
  for (const ReleasedSeq& r : plan.released) ApplyRelease(r);
  std::vector<Sequence*> seqs(plan.seqs.size(), nullptr);
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    const ScheduledSeq& s = plan.seqs[i];
    auto it = seqs_.find(s.id);
    if (it == seqs_.end()) continue;
    seqs[i] = it->second.get();
    if (s.admitted && !Attach(*seqs[i], s, start)) {
      Fail(*seqs[i], absl::InternalError(absl::StrCat(
                         "request ", s.id, ": its cached prefix was gone at admission")));
      seqs[i] = nullptr;
    }
  }
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    Sequence* seq = seqs[i];
    if (seq == nullptr) continue;
    const ScheduledSeq& s = plan.seqs[i];
    if (!seq->table.has_value() || seq->table->n_tokens() != s.first_token ||
        !seq->table->Reserve(s.n_tokens, PageClaim::kRunning)) {
      Fail(*seq, absl::InternalError(absl::StrCat("request ", s.id,
                                                  ": its KV pages could not be reserved")));
      seqs[i] = nullptr;
    }
  }
  batch_.Clear();
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    if (seqs[i] == nullptr) continue;
    const ScheduledSeq& s = plan.seqs[i];
    std::span<const TokenId> tokens(seqs[i]->tokens);
    batch_.AddSequence(tokens.subspan(s.first_token, s.n_tokens), s.first_token,
                       seqs[i]->table->pages(), s.samples);
  }
  const int vocab = model_->config().vocab_size;
  absl::Status run = absl::OkStatus();
  if (batch_.n_tokens() > 0) {
    run = forward_->Run(batch_, kv_,
                        std::span<float>(logits_).first(static_cast<size_t>(batch_.n_logits()) *
                                                        vocab));
  }
  std::vector<SeqId> finished;
  int row = 0;
  const absl::Time after = absl::Now();
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    Sequence* seq = seqs[i];
    if (seq == nullptr) continue;
    const ScheduledSeq& s = plan.seqs[i];
    const int this_row = s.samples ? row++ : -1;
    if (!run.ok()) {
      Fail(*seq, run);
      continue;
    }
    std::span<const TokenId> tokens(seq->tokens);
    if (absl::Status st = seq->table->Commit(tokens.subspan(s.first_token, s.n_tokens));
        !st.ok()) {
      Fail(*seq, st);
      continue;
    }
    if (!s.samples) {
      tokens_in_ += s.n_tokens;
      continue;
    }
    tokens_in_ += std::max(0, std::min(s.n_tokens, seq->prompt_tokens - s.first_token));
    SampleOne(*seq, std::span<const float>(logits_).subspan(static_cast<size_t>(this_row) * vocab,
                                                             vocab),
              after, finished);
  }
  // A finished sequence hands its pages (or its session) back now; the scheduler lists it
  // as released at the next step boundary.
  for (SeqId id : finished) Complete(*seqs_.at(id), seqs_.at(id)->finish);
  const absl::Time end = absl::Now();
  if (absl::Status st = scheduler_->Update(plan, finished, end); !st.ok()) {
    AbortAll(st);
    return;
  }
  last_step_ = end - start;
  total_step_ += last_step_;
}

}  // namespace smollm::runtime

// TokenSink: a coalescing, bounded mailbox guarded by one mutex.
#include "runtime/engine/token_sink.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace smollm::runtime {

TokenSink::TokenSink(int max_buffered_tokens)
    : max_buffered_tokens_(std::max(1, max_buffered_tokens)) {}

bool TokenSink::Take(TokenEvent* out) {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    if (!has_pending_) return false;
    const bool was_over = static_cast<int>(pending_.tokens.size()) >= max_buffered_tokens_;
    *out = std::move(pending_);
    pending_ = TokenEvent{};
    has_pending_ = false;
    if (was_over) hook = drain_hook_;
  }
  if (hook) hook();
  return true;
}

std::optional<FinalEvent> TokenSink::TakeFinal() {
  absl::MutexLock lock(&mu_);
  if (has_pending_ || !final_.has_value() || final_taken_) return std::nullopt;
  final_taken_ = true;
  return std::move(final_);
}

bool TokenSink::finished() const {
  absl::MutexLock lock(&mu_);
  return final_.has_value();
}

bool TokenSink::WaitForEvent(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (!has_pending_ && !(final_.has_value() && !final_taken_)) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) break;
  }
  return has_pending_ || (final_.has_value() && !final_taken_);
}

void TokenSink::SetListener(std::function<void()> listener) {
  absl::MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

void TokenSink::SetDrainHook(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  drain_hook_ = std::move(hook);
}

bool TokenSink::Push(TokenEvent delta) {
  bool over;
  {
    absl::MutexLock lock(&mu_);
    pending_.text += delta.text;
    pending_.tokens.insert(pending_.tokens.end(), delta.tokens.begin(), delta.tokens.end());
    pending_.logprobs.insert(pending_.logprobs.end(), delta.logprobs.begin(),
                             delta.logprobs.end());
    pending_.top_logprobs.insert(pending_.top_logprobs.end(),
                                 std::make_move_iterator(delta.top_logprobs.begin()),
                                 std::make_move_iterator(delta.top_logprobs.end()));
    has_pending_ = has_pending_ || !delta.text.empty() || !delta.tokens.empty();
    over = static_cast<int>(pending_.tokens.size()) >= max_buffered_tokens_;
    cv_.SignalAll();
  }
  Notify();
  return over;
}

void TokenSink::Finish(FinalEvent final_event) {
  {
    absl::MutexLock lock(&mu_);
    if (final_.has_value()) return;
    final_ = std::move(final_event);
    cv_.SignalAll();
  }
  Notify();
}

int TokenSink::buffered_tokens() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(pending_.tokens.size());
}

bool TokenSink::over_bound() const { return buffered_tokens() >= max_buffered_tokens_; }

void TokenSink::Notify() {
  std::function<void()> listener;
  {
    absl::MutexLock lock(&mu_);
    listener = listener_;
  }
  if (listener) listener();
}

}  // namespace smollm::runtime

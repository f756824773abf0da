// SessionBook: per-session reply-closed flags and default seeds, pruned by idle TTL.
#include "service/session_book.h"

namespace smollm::service {

SessionBook::Entry& SessionBook::Touch(const runtime::SessionId& id) {
  const absl::Time now = absl::Now();
  Prune(now);
  Entry& e = entries_[id];
  e.touched = now;
  return e;
}

void SessionBook::Prune(absl::Time now) {
  if (now - last_prune_ < idle_ttl_ / 4) return;
  last_prune_ = now;
  // Generating sessions never expire in the engine, so an entry is kept for twice the
  // TTL: a turn longer than that loses only its flags (the next turn then assumes the
  // reply closed).
  absl::erase_if(entries_, [&](const auto& kv) { return now - kv.second.touched > 2 * idle_ttl_; });
}

void SessionBook::Open(const runtime::SessionId& id, std::optional<uint64_t> default_seed,
                       int32_t closed_turns) {
  absl::MutexLock lock(&mu_);
  Entry& e = Touch(id);
  e.default_seed = default_seed;
  e.reply_closed.assign(static_cast<size_t>(closed_turns), true);
}

bool SessionBook::LastReplyClosed(const runtime::SessionId& id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.reply_closed.empty()) return true;
  return it->second.reply_closed.back();
}

std::optional<uint64_t> SessionBook::DefaultSeed(const runtime::SessionId& id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? std::nullopt : it->second.default_seed;
}

void SessionBook::TurnFinished(const runtime::SessionId& id, bool reply_closed) {
  absl::MutexLock lock(&mu_);
  Touch(id).reply_closed.push_back(reply_closed);
}

void SessionBook::TurnRewound(const runtime::SessionId& id) {
  absl::MutexLock lock(&mu_);
  Entry& e = Touch(id);
  if (!e.reply_closed.empty()) e.reply_closed.pop_back();
}

void SessionBook::Forget(const runtime::SessionId& id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

}  // namespace smollm::service

// SessionStore: lookups with lazy expiry, turn transitions, LRU eviction, token accounting.
#include "runtime/engine/session_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/engine/admission.h"

namespace smollm::runtime {
namespace {

// Ids come from a CSPRNG, so even one collision with a live session means the source is
// broken; a few draws tell a fluke (a test's injected source) from a stuck generator.
constexpr int kMaxIdDraws = 4;

std::string Busy(const SessionId& id) {
  return absl::StrCat("session ", id.ToString(),
                      " is generating a turn; wait for it to finish or cancel it");
}

}  // namespace

struct SessionStore::Session {
  SessionId id;
  std::string principal;
  SessionOptions options;
  SessionState state = SessionState::kIdle;
  std::vector<TokenId> history;      // [history_tokens]: every turn's tokens, in order
  std::vector<int64_t> turn_starts;  // [turns]: offset in `history` of each turn's start
  std::unique_ptr<SessionKv> kv;     // null while generating, or after DropKv
  int64_t cached_tokens = 0;         // leading history tokens valid in `kv`; 0 if null
  absl::Time created;
  absl::Time last_used;
  LruList::iterator lru;  // this session's node in idle_lru_, while idle
};

SessionStore::SessionStore(SessionStoreOptions options) : options_(std::move(options)) {}
SessionStore::SessionStore(SessionStore&&) = default;
SessionStore& SessionStore::operator=(SessionStore&&) = default;
SessionStore::~SessionStore() = default;

absl::StatusOr<SessionStore> SessionStore::Make(SessionStoreOptions options) {
  if (options.idle_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("session store: idle_ttl must be > 0, got ",
                                                   absl::FormatDuration(options.idle_ttl)));
  }
  if (options.max_sessions < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("session store: max_sessions must be >= 1, got ", options.max_sessions));
  }
  if (options.max_sessions_per_principal < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("session store: max_sessions_per_principal must be >= 0 (0 = no limit), got ",
                     options.max_sessions_per_principal));
  }
  if (options.max_total_history_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("session store: max_total_history_tokens must be >= 0 (0 = no limit), got ",
                     options.max_total_history_tokens));
  }
  if (options.retry_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("session store: retry_after must be > 0, got ",
                                                   absl::FormatDuration(options.retry_after)));
  }
  if (!options.clock) options.clock = [] { return absl::Now(); };
  if (!options.id_source) options.id_source = [] { return SessionId::Generate(); };
  return SessionStore(std::move(options));
}

absl::StatusOr<SessionId> SessionStore::Create(absl::string_view principal,
                                               SessionOptions options,
                                               absl::Span<const std::vector<TokenId>> initial_turns,
                                               std::optional<SessionId> proposed_id) {
  const absl::Time now = Now();
  ExpireIdleAt(now);
  if (proposed_id.has_value()) {
    auto it = sessions_.find(*proposed_id);
    // An expired session's id is free again (ExpireIdleAt stops at the first live one).
    if (it != sessions_.end() && Expired(*it->second, now)) {
      Remove(*it->second, counters_.expired_total);
      it = sessions_.end();
    }
    // Whoever holds it: the answer is the same for every principal, and names nobody.
    if (it != sessions_.end()) {
      return absl::AlreadyExistsError(
          "the proposed session id is already in use; propose a fresh random one");
    }
  }
  ASSIGN_OR_RETURN(const int64_t initial_tokens, CheckInitialTurns(initial_turns));
  const int32_t per_principal = options_.max_sessions_per_principal;
  if (per_principal > 0) {
    auto it = sessions_per_principal_.find(principal);
    if (it != sessions_per_principal_.end() && it->second >= per_principal) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "this principal already holds ", it->second, " sessions (max_sessions_per_principal = ",
          per_principal, "); delete one, or wait until one expires after ",
          absl::FormatDuration(options_.idle_ttl), " idle"));
    }
  }
  const bool at_cap = sessions_.size() >= static_cast<size_t>(options_.max_sessions);
  if (at_cap && idle_lru_.empty()) {
    return RetryableExhausted(absl::StrCat("session limit reached: all ", sessions_.size(),
                                           " sessions (max_sessions = ", options_.max_sessions,
                                           ") are generating a turn"));
  }
  SessionId id;
  for (int draw = 1; !proposed_id.has_value(); ++draw) {
    ASSIGN_OR_RETURN(id, options_.id_source());
    if (!sessions_.contains(id)) break;
    if (draw == kMaxIdDraws) {
      return absl::InternalError(absl::StrCat("session id: ", kMaxIdDraws,
                                              " fresh ids in a row were already in use; the "
                                              "random source is broken"));
    }
  }
  if (proposed_id.has_value()) id = *proposed_id;
  if (at_cap) Remove(*idle_lru_.front(), counters_.evicted_total);

  auto session = std::make_unique<Session>();
  session->id = id;
  session->principal = std::string(principal);
  session->options = std::move(options);
  session->created = now;
  session->history.reserve(static_cast<size_t>(initial_tokens));
  for (const std::vector<TokenId>& turn : initial_turns) {
    session->turn_starts.push_back(static_cast<int64_t>(session->history.size()));
    session->history.insert(session->history.end(), turn.begin(), turn.end());
  }
  history_tokens_ += initial_tokens;
  MarkIdle(*session, now);
  ++sessions_per_principal_[session->principal];
  ++counters_.created_total;
  Session* created = session.get();
  sessions_.emplace(id, std::move(session));
  EvictForTokens(created);
  return id;
}

absl::StatusOr<SessionInfo> SessionStore::Get(const SessionId& id, absl::string_view principal) {
  ASSIGN_OR_RETURN(Session * session, FindForPrincipal(id, principal, Now()));
  return Snapshot(*session);
}

absl::StatusOr<SessionInfo> SessionStore::Resume(const SessionId& id, absl::string_view principal) {
  const absl::Time now = Now();
  ASSIGN_OR_RETURN(Session * session, FindForPrincipal(id, principal, now));
  Touch(*session, now);
  return Snapshot(*session);
}

absl::StatusOr<std::vector<TokenId>> SessionStore::History(const SessionId& id,
                                                           absl::string_view principal) {
  ASSIGN_OR_RETURN(Session * session, FindForPrincipal(id, principal, Now()));
  return session->history;
}

absl::StatusOr<TurnStart> SessionStore::BeginTurn(const SessionId& id, absl::string_view principal,
                                                  absl::Span<const TokenId> new_tokens) {
  const absl::Time now = Now();
  ExpireIdleAt(now);
  ASSIGN_OR_RETURN(Session * session, FindForPrincipal(id, principal, now));
  if (session->state == SessionState::kGenerating) {
    return absl::FailedPreconditionError(Busy(id));
  }
  if (new_tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session ", id.ToString(), ": the turn has no new tokens; a turn needs at least one"));
  }
  const int64_t n_new = static_cast<int64_t>(new_tokens.size());
  const int64_t old_size = static_cast<int64_t>(session->history.size());
  const int64_t cap = options_.max_total_history_tokens;
  if (cap > 0) {
    if (old_size + n_new > cap) {
      return absl::OutOfRangeError(absl::StrCat("session ", id.ToString(),
                                                ": its history would reach ", old_size + n_new,
                                                " tokens, above max_total_history_tokens = ", cap,
                                                "; rewind turns or start a new session"));
    }
    // Everything idle except this session can be evicted; the rest is in running turns.
    const int64_t held = history_tokens_ - (idle_tokens_ - old_size);
    if (held + n_new > cap) {
      return RetryableExhausted(
          absl::StrCat("session history limit reached: turns in progress hold ", held - old_size,
                       " tokens, and with this session's ", old_size + n_new,
                       " they exceed max_total_history_tokens = ", cap));
    }
  }

  MarkGenerating(*session);
  session->last_used = now;
  session->turn_starts.push_back(old_size);
  session->history.insert(session->history.end(), new_tokens.begin(), new_tokens.end());
  history_tokens_ += n_new;
  EvictForTokens(session);

  TurnStart start;
  start.tokens = session->history;
  start.turn_start = old_size;
  start.cached_tokens = std::min(session->cached_tokens, old_size);
  start.kv = std::move(session->kv);
  start.turn_index = static_cast<int32_t>(session->turn_starts.size()) - 1;
  session->cached_tokens = 0;
  return start;
}

absl::Status SessionStore::EndTurn(const SessionId& id, absl::Span<const TokenId> generated,
                                   std::unique_ptr<SessionKv> kv, int64_t kv_tokens) {
  ASSIGN_OR_RETURN(Session * session, FindRunning(id));
  const int64_t new_size = static_cast<int64_t>(session->history.size() + generated.size());
  if (kv_tokens < 0 || kv_tokens > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", id.ToString(), ": kv_tokens = ", kv_tokens, " is outside [0, ",
                     new_size, "], the history length after the turn"));
  }
  session->history.insert(session->history.end(), generated.begin(), generated.end());
  history_tokens_ += static_cast<int64_t>(generated.size());
  Retain(*session, std::move(kv), kv_tokens);
  MarkIdle(*session, Now());
  EvictForTokens(session);
  return absl::OkStatus();
}

absl::StatusOr<RewindResult> SessionStore::CancelTurn(const SessionId& id,
                                                      std::unique_ptr<SessionKv> kv,
                                                      int64_t kv_tokens) {
  ASSIGN_OR_RETURN(Session * session, FindRunning(id));
  if (kv_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", id.ToString(), ": kv_tokens = ", kv_tokens, " is negative"));
  }
  const int64_t start = session->turn_starts.back();
  session->turn_starts.pop_back();
  history_tokens_ -= static_cast<int64_t>(session->history.size()) - start;
  session->history.resize(start);
  Retain(*session, std::move(kv), std::min(kv_tokens, start));
  MarkIdle(*session, Now());
  return RewindResult{.history_tokens = start,
                      .cached_tokens = session->cached_tokens,
                      .turns = static_cast<int32_t>(session->turn_starts.size())};
}

absl::StatusOr<RewindResult> SessionStore::Rewind(const SessionId& id,
                                                  absl::string_view principal) {
  const absl::Time now = Now();
  ASSIGN_OR_RETURN(Session * session, FindForPrincipal(id, principal, now));
  if (session->state == SessionState::kGenerating) {
    return absl::FailedPreconditionError(Busy(id));
  }
  if (session->turn_starts.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", id.ToString(), " has no turn to rewind"));
  }
  const int64_t start = session->turn_starts.back();
  session->turn_starts.pop_back();
  const int64_t dropped = static_cast<int64_t>(session->history.size()) - start;
  session->history.resize(start);
  history_tokens_ -= dropped;
  idle_tokens_ -= dropped;
  Retain(*session, std::move(session->kv), std::min(session->cached_tokens, start));
  Touch(*session, now);
  return RewindResult{.history_tokens = start,
                      .cached_tokens = session->cached_tokens,
                      .turns = static_cast<int32_t>(session->turn_starts.size())};
}

absl::StatusOr<SessionState> SessionStore::Delete(const SessionId& id,
                                                  absl::string_view principal) {
  ASSIGN_OR_RETURN(Session * session, FindForPrincipal(id, principal, Now()));
  const SessionState state = session->state;
  Remove(*session, counters_.deleted_total);
  return state;
}

int SessionStore::ExpireIdle() { return ExpireIdleAt(Now()); }

std::vector<SessionId> SessionStore::IdleWithKvLeastRecentFirst(size_t max_count) const {
  std::vector<SessionId> ids;
  for (const Session* session : idle_lru_) {
    if (ids.size() >= max_count) break;
    if (session->kv != nullptr) ids.push_back(session->id);
  }
  return ids;
}

absl::StatusOr<std::unique_ptr<SessionKv>> SessionStore::DropKv(const SessionId& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return NotFound(id);
  Session& session = *it->second;
  if (session.state == SessionState::kGenerating) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", id.ToString(), " is generating a turn; its KV belongs to the running turn"));
  }
  if (session.kv != nullptr) ++counters_.kv_dropped_total;
  session.cached_tokens = 0;
  return std::move(session.kv);
}

SessionStoreStats SessionStore::stats() const {
  SessionStoreStats stats = counters_;
  stats.sessions = static_cast<int64_t>(sessions_.size());
  stats.history_tokens = history_tokens_;
  for (const auto& [id, session] : sessions_) {
    if (session->state == SessionState::kGenerating) ++stats.generating;
    if (session->kv != nullptr) ++stats.sessions_with_kv;
    stats.cached_tokens += session->cached_tokens;
  }
  return stats;
}

// ---- private ----

bool SessionStore::Expired(const Session& session, absl::Time now) const {
  return session.state == SessionState::kIdle && now - session.last_used >= options_.idle_ttl;
}

int SessionStore::ExpireIdleAt(absl::Time now) {
  int expired = 0;
  while (!idle_lru_.empty() && Expired(*idle_lru_.front(), now)) {
    Remove(*idle_lru_.front(), counters_.expired_total);
    ++expired;
  }
  return expired;
}

absl::Status SessionStore::NotFound(const SessionId& id) const {
  return absl::NotFoundError(
      absl::StrCat("session ", id.ToString(), " not found: unknown, deleted, or expired after ",
                   absl::FormatDuration(options_.idle_ttl), " idle (idle_ttl)"));
}

absl::StatusOr<SessionStore::Session*> SessionStore::FindForPrincipal(const SessionId& id,
                                                                      absl::string_view principal,
                                                                      absl::Time now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return NotFound(id);
  Session& session = *it->second;
  if (Expired(session, now)) {
    Remove(session, counters_.expired_total);
    return NotFound(id);
  }
  if (session.principal != principal) {
    return absl::PermissionDeniedError(
        absl::StrCat("session ", id.ToString(), " belongs to another principal"));
  }
  return &session;
}

absl::StatusOr<SessionStore::Session*> SessionStore::FindRunning(const SessionId& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return NotFound(id);
  Session& session = *it->second;
  if (session.state != SessionState::kGenerating) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", id.ToString(), " has no turn running"));
  }
  return &session;
}

SessionInfo SessionStore::Snapshot(const Session& session) const {
  SessionInfo info;
  info.id = session.id;
  info.principal = session.principal;
  info.options = session.options;
  info.state = session.state;
  info.history_tokens = static_cast<int64_t>(session.history.size());
  info.turns = static_cast<int32_t>(session.turn_starts.size());
  info.cached_tokens = session.cached_tokens;
  info.created = session.created;
  info.last_used = session.last_used;
  info.expires = session.state == SessionState::kIdle ? session.last_used + options_.idle_ttl
                                                      : absl::InfiniteFuture();
  return info;
}

void SessionStore::Retain(Session& session, std::unique_ptr<SessionKv> kv, int64_t tokens) {
  if (kv != nullptr && tokens > 0) tokens = kv->KeepLeading(tokens);
  if (tokens == 0) kv.reset();  // nothing valid in it: give its pages back now
  session.cached_tokens = kv != nullptr ? tokens : 0;
  session.kv = std::move(kv);
}

void SessionStore::MarkIdle(Session& session, absl::Time now) {
  session.state = SessionState::kIdle;
  session.last_used = now;
  session.lru = idle_lru_.insert(idle_lru_.end(), &session);
  idle_tokens_ += static_cast<int64_t>(session.history.size());
}

void SessionStore::MarkGenerating(Session& session) {
  idle_lru_.erase(session.lru);
  idle_tokens_ -= static_cast<int64_t>(session.history.size());
  session.state = SessionState::kGenerating;
}

void SessionStore::Touch(Session& session, absl::Time now) {
  session.last_used = now;
  if (session.state == SessionState::kIdle) {
    idle_lru_.splice(idle_lru_.end(), idle_lru_, session.lru);
  }
}

void SessionStore::Remove(Session& session, int64_t& counter) {
  const int64_t size = static_cast<int64_t>(session.history.size());
  if (session.state == SessionState::kIdle) {
    idle_lru_.erase(session.lru);
    idle_tokens_ -= size;
  }
  history_tokens_ -= size;
  auto owner = sessions_per_principal_.find(session.principal);
  if (--owner->second == 0) sessions_per_principal_.erase(owner);
  ++counter;
  const SessionId id = session.id;  // `session` dies inside erase
  sessions_.erase(id);
}

void SessionStore::EvictForTokens(const Session* keep) {
  const int64_t cap = options_.max_total_history_tokens;
  if (cap == 0) return;
  for (auto it = idle_lru_.begin(); history_tokens_ > cap && it != idle_lru_.end();) {
    Session* victim = *it++;
    if (victim != keep) Remove(*victim, counters_.evicted_total);
  }
}

absl::StatusOr<int64_t> SessionStore::CheckInitialTurns(
    absl::Span<const std::vector<TokenId>> turns) const {
  int64_t total = 0;
  for (size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "initial_turns[", i, "] has no tokens; a turn needs at least one"));
    }
    total += static_cast<int64_t>(turns[i].size());
  }
  const int64_t cap = options_.max_total_history_tokens;
  if (cap == 0 || total == 0) return total;
  if (total > cap) {
    return absl::OutOfRangeError(absl::StrCat("initial_turns: ", total,
                                              " tokens, above max_total_history_tokens = ", cap));
  }
  const int64_t held = history_tokens_ - idle_tokens_;  // in running turns: not evictable
  if (held + total > cap) {
    return RetryableExhausted(
        absl::StrCat("session history limit reached: turns in progress hold ", held,
                     " tokens, and with the new session's ", total,
                     " they exceed max_total_history_tokens = ", cap));
  }
  return total;
}

absl::Status SessionStore::RetryableExhausted(std::string message) const {
  absl::Status status = absl::ResourceExhaustedError(
      absl::StrCat(message, "; retry in ", absl::FormatDuration(options_.retry_after)));
  // The payload admission's CheckQueueRoom sets, so one RetryAfter reads every hint.
  const int64_t millis = std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.retry_after));
  status.SetPayload(kRetryAfterPayloadUrl, absl::Cord(absl::StrCat(millis)));
  return status;
}

}  // namespace smollm::runtime

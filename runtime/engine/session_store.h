// Sessions kept between turns: owner, token history, turn boundaries, retained KV; TTL and LRU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "runtime/core/types.h"
#include "runtime/engine/session_id.h"
#include "runtime/engine/session_store_types.h"

namespace smollm::runtime {

// A session is a conversation whose token history (and, while memory allows, its KV)
// stays on this replica between turns. The history is the exact tokens of every turn,
// never re-rendered text, so a resumed turn continues from precisely what the model saw.
// A turn is the new tokens its caller rendered for it (RenderChatTurn: a user message and
// the header of the reply) followed by every token the model generated, the stop token
// that ended the reply included; Rewind drops the last one whole.
//
// Lifecycle: Create -> idle; BeginTurn -> generating; EndTurn or CancelTurn -> idle;
// Delete, idle TTL or eviction -> gone. Only idle sessions expire, are evicted or lose
// their KV; a generating session is untouchable until its turn ends.
//
// Principals. Every call a client can cause names the caller's principal; a session
// answers only to the principal that created it. A wrong principal gets
// PermissionDenied ("a session belongs to its principal", DESIGN §5) rather than a
// pretended NotFound: ids are 128 random bits, so confirming that one exists tells a
// caller nothing it could use, while an honest code tells a misconfigured client what
// is wrong. The message never names the owner. Expired and unknown ids are NotFound
// whoever asks. EndTurn, CancelTurn, DropKv and ExpireIdle are the engine's own calls
// and take no principal.
//
// Threading: not thread-safe, and deliberately without a lock. The engine thread owns
// the store as it owns the KV page pool: destroying a session destroys its SessionKv,
// which releases pages, and that must happen on the engine thread. A mutex would let a
// gRPC thread read a snapshot, but DeleteSession would still have to release pages on
// the engine thread, so the unary GetSession and DeleteSession reach the store through
// the engine's queue like everything else. No thread, no timer: time comes from the
// injected clock, and expiry happens when the engine calls ExpireIdle or when a call
// finds an expired session.
class SessionStore {
 public:
  // InvalidArgument naming the field when a limit is out of range (idle_ttl and
  // retry_after > 0, max_sessions >= 1, the optional caps >= 0).
  static absl::StatusOr<SessionStore> Make(SessionStoreOptions options);

  // Defined where Session is complete. Moving keeps every session and its LRU place.
  SessionStore(SessionStore&&);
  SessionStore& operator=(SessionStore&&);
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;
  ~SessionStore();

  // A new idle session. Its history starts with `initial_turns` (usually none): whole
  // finished turns, each one's rendered user text, reply and end-of-turn token, as a
  // client rebuilding the session elsewhere resends them. They count as turns (the next
  // turn's turn_index is their number; Rewind drops them one by one) and hold no KV: the
  // next turn prefills them (the prefix cache may still hold their pages).
  // At max_sessions it first evicts the least recently used idle session. ResourceExhausted
  // (with a retry hint: RetryAfter in admission.h) when every session is generating, and
  // without eviction when `principal` already holds max_sessions_per_principal sessions.
  // Unavailable when no random id can be had. For the initial turns, as BeginTurn for a
  // turn: InvalidArgument for an empty one (naming initial_turns[i]); OutOfRange when they
  // alone pass max_total_history_tokens; ResourceExhausted (with a retry hint) when they fit
  // only after evicting generating sessions; other idle sessions are evicted to make room.
  // `proposed_id`, when given, is the new session's id instead of a fresh random one (a
  // client picks it so that the load balancer routes the opening stream by it, as it will
  // route every later one). AlreadyExists when a live session holds it, whoever its
  // principal: the message names nobody, and the caller never reaches that session.
  // On error nothing changes.
  absl::StatusOr<SessionId> Create(absl::string_view principal, SessionOptions options,
                                   absl::Span<const std::vector<TokenId>> initial_turns = {},
                                   std::optional<SessionId> proposed_id = std::nullopt);

  // A snapshot; does not count as use (the TTL clock keeps running). NotFound,
  // PermissionDenied as described above.
  absl::StatusOr<SessionInfo> Get(const SessionId& id, absl::string_view principal);
  // Get, and marks the session used now (a client reattaching to it). Allowed while a
  // turn runs: it refuses turns, not readers.
  absl::StatusOr<SessionInfo> Resume(const SessionId& id, absl::string_view principal);
  // The token history (a copy), as Get.
  absl::StatusOr<std::vector<TokenId>> History(const SessionId& id, absl::string_view principal);

  // Starts a turn: appends `new_tokens` (the turn's rendered input, not empty), marks the
  // session generating and hands the engine the whole history and the retained KV.
  // NotFound, PermissionDenied; FailedPrecondition while a turn is running;
  // InvalidArgument for no new tokens; OutOfRange when this session's history alone
  // would pass max_total_history_tokens; ResourceExhausted (with a retry hint) when it
  // fits only after evicting sessions that are generating. Other idle sessions are
  // evicted, least recently used first, to make room. On error nothing changes.
  absl::StatusOr<TurnStart> BeginTurn(const SessionId& id, absl::string_view principal,
                                      absl::Span<const TokenId> new_tokens);

  // Ends the running turn: appends the generated tokens (possibly none) and takes the KV
  // back; `kv_tokens` leading history tokens are valid in it (usually the history length
  // minus one: the last sampled token was never fed); a KV with none valid is released.
  // The session turns idle and used now. NotFound when it was deleted meanwhile (the KV is
  // released); FailedPrecondition when no turn is running; InvalidArgument when kv_tokens is
  // negative or beyond the new history (nothing changes).
  absl::Status EndTurn(const SessionId& id, absl::Span<const TokenId> generated,
                       std::unique_ptr<SessionKv> kv, int64_t kv_tokens);

  // Abandons the running turn: its new tokens and whatever it generated are dropped, as
  // if it never began (a half answer without its end-of-turn token would corrupt the
  // history's turn structure). The KV comes back as in EndTurn, its valid length clamped
  // to the remaining history. Errors as EndTurn.
  absl::StatusOr<RewindResult> CancelTurn(const SessionId& id, std::unique_ptr<SessionKv> kv,
                                          int64_t kv_tokens);

  // Drops the last finished turn and marks the session used. The KV stays, valid up to
  // the new history length (released if that leaves nothing cached). NotFound, PermissionDenied;
  // FailedPrecondition while a turn is running or when there is no turn to drop.
  absl::StatusOr<RewindResult> Rewind(const SessionId& id, absl::string_view principal);

  // Removes the session and releases its KV. Returns the state it was in: kGenerating
  // means the engine must cancel the running sequence, whose EndTurn/CancelTurn will
  // then get NotFound. NotFound, PermissionDenied.
  absl::StatusOr<SessionState> Delete(const SessionId& id, absl::string_view principal);

  // Removes idle sessions unused for idle_ttl; returns how many. Call it from the engine
  // loop now and then; Create and BeginTurn also do. It walks the LRU list from the
  // oldest end and stops at the first live session, which is exact for a clock that does
  // not run backwards; if it does, expiry comes late, never early (every lookup checks
  // the session it finds).
  int ExpireIdle();

  // Memory pressure: up to `max_count` idle sessions that hold KV, least recently used
  // first. Pass them to DropKv until enough pages are free.
  std::vector<SessionId> IdleWithKvLeastRecentFirst(size_t max_count) const;
  // Takes an idle session's KV away (the engine destroys it to free pages) and keeps its
  // tokens: its next turn has cached_tokens 0 and recomputes them. Does not count as use.
  // Returns null when it held none. NotFound; FailedPrecondition while generating.
  absl::StatusOr<std::unique_ptr<SessionKv>> DropKv(const SessionId& id);

  SessionStoreStats stats() const;
  size_t size() const { return sessions_.size(); }
  const SessionStoreOptions& options() const { return options_; }

 private:
  struct Session;
  using LruList = std::list<Session*>;

  explicit SessionStore(SessionStoreOptions options);

  absl::Time Now() const { return options_.clock(); }
  bool Expired(const Session& session, absl::Time now) const;
  int ExpireIdleAt(absl::Time now);
  absl::Status NotFound(const SessionId& id) const;
  // The live session `id` for `principal`: NotFound (removing it if expired) or
  // PermissionDenied.
  absl::StatusOr<Session*> FindForPrincipal(const SessionId& id, absl::string_view principal,
                                            absl::Time now);
  // The session `id` with a turn running: NotFound or FailedPrecondition.
  absl::StatusOr<Session*> FindRunning(const SessionId& id);
  SessionInfo Snapshot(const Session& session) const;

  // Keeps `kv` with its first `tokens` valid (SessionKv::KeepLeading releases the rest),
  // releasing it when that is none: a session holds a KV exactly when it has cached tokens.
  void Retain(Session& session, std::unique_ptr<SessionKv> kv, int64_t tokens);
  void MarkIdle(Session& session, absl::Time now);  // -> back of the LRU list
  void MarkGenerating(Session& session);            // out of the LRU list
  void Touch(Session& session, absl::Time now);     // idle: -> back of the LRU list
  // Removes a session in any state, releasing its KV, and counts it in `counter`.
  void Remove(Session& session, int64_t& counter);
  // Evicts least recently used idle sessions other than `keep` until the token total is
  // within the cap, or none is left.
  void EvictForTokens(const Session* keep);
  absl::Status RetryableExhausted(std::string message) const;
  // Create's checks of its initial turns; their token count.
  absl::StatusOr<int64_t> CheckInitialTurns(absl::Span<const std::vector<TokenId>> turns) const;

  SessionStoreOptions options_;
  absl::flat_hash_map<SessionId, std::unique_ptr<Session>> sessions_;
  absl::flat_hash_map<std::string, int32_t> sessions_per_principal_;
  LruList idle_lru_;            // idle sessions, least recently used first
  int64_t history_tokens_ = 0;  // summed over all sessions
  int64_t idle_tokens_ = 0;     // summed over idle sessions (what eviction could free)
  SessionStoreStats counters_;  // the *_total fields
};

}  // namespace smollm::runtime

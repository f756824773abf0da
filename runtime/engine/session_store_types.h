// The plain data a SessionStore takes and hands back: options, limits, snapshots, turns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/core/types.h"
#include "runtime/engine/session_id.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::runtime {

enum class SessionState {
  kIdle,        // between turns: may expire, be evicted, or lose its KV
  kGenerating,  // a turn is running: never expires, is never evicted, refuses new turns
};
absl::string_view SessionStateName(SessionState state);  // "idle", "generating"

// The engine's KV state kept for a session between turns: its page table and the page
// references that keep the pages alive. Opaque to the store, which only owns it and
// destroys it when the session ends (delete, expiry, eviction) or under memory pressure
// (SessionStore::DropKv hands it back instead). The destructor must release the pages;
// it runs on the thread that calls the store, the engine thread, which owns the pool.
class SessionKv {
 public:
  virtual ~SessionKv() = default;
  // Keeps the KV of at most the first `tokens` history tokens and releases the rest now
  // (a rewound or cancelled turn's pages); returns how many stay valid, which may be
  // fewer when a shared page cannot be cut inside. The store calls it whenever it takes
  // the KV back. The default keeps everything it is told to and releases nothing.
  virtual int64_t KeepLeading(int64_t tokens) { return tokens; }
};

// Chosen when a session is created; fixed for its life. The store keeps them for the
// engine and does not interpret them: validate them (Validate(SamplingParams, vocab)) and
// bound the system prompt before Create.
struct SessionOptions {
  // The engine renders neither of these two: it keeps them for GetSession. The caller
  // renders every turn's text with RenderChatTurn (runtime/tokenizer/chat_turns.h) from
  // them (turn 0's text carries the system part; the history starts empty unless the
  // session was created with initial turns, which then count as its first turns) and submits
  // its tokens as the turn.
  std::string system_prompt;
  // SmolLM3's reasoning mode (ChatTurnOptions::enable_thinking); unset = the template's
  // default.
  std::optional<bool> enable_thinking;
  // Defaults for every turn; a turn may override them.
  SamplingParams sampling;
};

// A snapshot of one session, for the engine and for GetSession.
struct SessionInfo {
  SessionId id;
  std::string principal;
  SessionOptions options;
  SessionState state = SessionState::kIdle;
  // Tokens of every turn so far; while generating, this includes the running turn's new
  // tokens but none of its generated ones yet.
  int64_t history_tokens = 0;
  int32_t turns = 0;  // including the running one
  // Leading history tokens whose KV the store holds. 0 while generating (the running
  // sequence has the KV) and after the KV was dropped under memory pressure.
  int64_t cached_tokens = 0;
  absl::Time created;
  absl::Time last_used;  // creation, resume, the start or end of a turn, rewind
  // When it expires if nothing touches it; absl::InfiniteFuture() while generating.
  absl::Time expires;
};

// What BeginTurn hands the engine to build the turn's sequence.
struct TurnStart {
  // The whole history: every earlier turn's tokens, then this turn's new tokens.
  std::vector<TokenId> tokens;
  // Offset in `tokens` where this turn's new tokens begin (the earlier history's length).
  int64_t turn_start = 0;
  // The first `cached_tokens` of `tokens` have KV in `kv`; the engine prefills the rest.
  // Always <= turn_start. `kv` may hold positions beyond it (left over from a rewound or
  // cancelled turn): the engine truncates it to cached_tokens before use.
  int64_t cached_tokens = 0;
  std::unique_ptr<SessionKv> kv;  // null when the store held none
  int32_t turn_index = 0;         // 0 for the first turn
};

// What Rewind reports: the history after dropping the last turn.
struct RewindResult {
  // The new history length: the KV must not cover positions at or beyond it.
  int64_t history_tokens = 0;
  // Leading tokens whose KV the store still holds: min(the old value, history_tokens).
  // Truncate the session's KV to this before its next turn (TurnStart says it again).
  int64_t cached_tokens = 0;
  int32_t turns = 0;  // turns left
};

// Limits and injected dependencies. Validated by SessionStore::Make.
struct SessionStoreOptions {
  // An idle session untouched this long is gone (NotFound). > 0.
  absl::Duration idle_ttl = absl::Minutes(30);
  // Sessions alive at once. At the cap, Create evicts the least recently used idle
  // session; with none idle it fails with ResourceExhausted. >= 1.
  int32_t max_sessions = 1024;
  // Sessions one principal may hold; beyond it Create fails (ResourceExhausted) rather
  // than evict, so one principal cannot push everyone else's sessions out. 0 = no limit.
  int32_t max_sessions_per_principal = 0;
  // Token history summed over all sessions (4 bytes each: the default is 32 MiB). A turn
  // that would pass it evicts idle sessions, least recently used first; generated tokens
  // are never refused, so a finished turn can pass it until idle sessions are evicted.
  // 0 = no limit.
  int64_t max_total_history_tokens = int64_t{1} << 23;
  // The retry hint on ResourceExhausted when every session that could make room is
  // generating: roughly how long a turn takes. > 0.
  absl::Duration retry_after = absl::Seconds(2);
  // Now. Null = absl::Now, wall time, because created/last-used times are shown to
  // clients; a clock step forward can expire idle sessions early, which costs a client a
  // NotFound and a fresh session, never wrong output. Tests inject a fake clock.
  std::function<absl::Time()> clock;
  // Fresh ids. Null = SessionId::Generate. Tests inject repeats to exercise collisions.
  std::function<absl::StatusOr<SessionId>()> id_source;
};

// Counters for EngineStats; the *_total ones only grow.
struct SessionStoreStats {
  int64_t sessions = 0;
  int64_t generating = 0;
  int64_t sessions_with_kv = 0;
  int64_t history_tokens = 0;  // summed over sessions
  int64_t cached_tokens = 0;   // summed over idle sessions
  int64_t created_total = 0;
  int64_t deleted_total = 0;
  int64_t expired_total = 0;     // idle TTL
  int64_t evicted_total = 0;     // dropped whole to make room (session or token cap)
  int64_t kv_dropped_total = 0;  // KV given back under memory pressure, tokens kept
};

}  // namespace smollm::runtime

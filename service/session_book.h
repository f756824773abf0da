// What the service remembers about each session beyond the engine's store: whether each
// finished turn's reply was closed by the end-of-turn token, and the default seed.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/engine/session_id.h"

namespace smollm::service {

// Thread-safe. Entries untouched for longer than the sessions' idle TTL are dropped (the
// engine has expired those sessions too); a missing entry reads as "every reply closed,
// no default seed", which is what a fresh session has.
class SessionBook {
 public:
  explicit SessionBook(absl::Duration idle_ttl) : idle_ttl_(idle_ttl) {}

  // `closed_turns`: the turns a rebuilt session starts with; their replies are closed
  // (RenderOpenHistory closes each with the end-of-turn token).
  void Open(const runtime::SessionId& id, std::optional<uint64_t> default_seed,
            int32_t closed_turns = 0);
  // Whether the reply of the last finished turn ended with the end-of-turn token (the
  // next turn must otherwise close it first). True when there is none.
  bool LastReplyClosed(const runtime::SessionId& id);
  std::optional<uint64_t> DefaultSeed(const runtime::SessionId& id);
  void TurnFinished(const runtime::SessionId& id, bool reply_closed);
  void TurnRewound(const runtime::SessionId& id);
  void Forget(const runtime::SessionId& id);

 private:
  struct Entry {
    std::vector<bool> reply_closed;  // per finished turn
    std::optional<uint64_t> default_seed;
    absl::Time touched;
  };
  Entry& Touch(const runtime::SessionId& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration idle_ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<runtime::SessionId, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::Time last_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace smollm::service

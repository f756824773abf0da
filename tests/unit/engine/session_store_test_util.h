// Test doubles for SessionStore: a settable clock, KV objects that count themselves, tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "runtime/core/types.h"
#include "runtime/engine/session_store.h"

namespace smollm::runtime::testing {

// Time stands still until a test moves it.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  void Advance(absl::Duration d) { now += d; }
};

// Stands for the engine's page table. `live` counts instances alive, so a test sees the
// store release KV exactly when it should; `tag` tells instances apart.
class FakeKv : public SessionKv {
 public:
  FakeKv(int* live, int tag) : live_(live), tag_(tag) { ++*live_; }
  ~FakeKv() override { --*live_; }
  int tag() const { return tag_; }

 private:
  int* live_;
  int tag_;
};

inline int TagOf(const std::unique_ptr<SessionKv>& kv) {
  return kv == nullptr ? -1 : static_cast<const FakeKv&>(*kv).tag();
}

// Store options on the fake clock, every other limit as given.
inline SessionStoreOptions OptionsOn(FakeClock& clock) {
  SessionStoreOptions options;
  options.clock = [&clock] { return clock.now; };
  return options;
}

// `n` random token ids in [0, 49152), SmolLM2's vocabulary.
inline std::vector<TokenId> RandomTokens(std::mt19937& rng, int n) {
  std::uniform_int_distribution<TokenId> dist(0, 49151);
  std::vector<TokenId> tokens(n);
  for (TokenId& t : tokens) t = dist(rng);
  return tokens;
}

}  // namespace smollm::runtime::testing

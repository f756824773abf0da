// SessionStore limits: idle TTL, LRU eviction at the caps, KV dropping, option checks, ids.
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/engine/admission.h"
#include "runtime/engine/session_store.h"
#include "tests/test_support.h"
#include "tests/unit/engine/session_store_test_util.h"

namespace smollm::runtime {
namespace {

using ::smollm::runtime::testing::FakeClock;
using ::smollm::runtime::testing::FakeKv;
using ::smollm::runtime::testing::OptionsOn;
using ::smollm::runtime::testing::RandomTokens;
using ::smollm::runtime::testing::TagOf;
using ::smollm::testing::MessageContains;

class SessionLimitsTest : public ::testing::Test {
 protected:
  SessionStore MakeStore(SessionStoreOptions options) {
    auto store = SessionStore::Make(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }
  SessionId MustCreate(SessionStore& store, const std::string& principal) {
    auto id = store.Create(principal, SessionOptions{});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }
  // One finished turn of `in` + `out` random tokens whose KV covers all but the last.
  void Turn(SessionStore& store, const SessionId& id, int in, int out, int tag) {
    ASSERT_TRUE(store.BeginTurn(id, "p", RandomTokens(rng_, in)).ok());
    const int64_t len = store.Get(id, "p")->history_tokens + out;
    ASSERT_TRUE(
        store
            .EndTurn(id, RandomTokens(rng_, out), std::make_unique<FakeKv>(&live_kv_, tag), len - 1)
            .ok());
  }
  bool Alive(SessionStore& store, const SessionId& id) { return store.Get(id, "p").ok(); }

  FakeClock clock_;
  int live_kv_ = 0;
  std::mt19937 rng_{99};
};

TEST_F(SessionLimitsTest, IdleSessionsExpireAfterTheTtlAndGetDoesNotRenew) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.idle_ttl = absl::Minutes(10);
  SessionStore store = MakeStore(options);
  const SessionId a = MustCreate(store, "p");
  Turn(store, a, 5, 5, 1);
  const SessionId b = MustCreate(store, "p");

  clock_.Advance(absl::Minutes(10) - absl::Seconds(1));
  EXPECT_TRUE(Alive(store, a));            // not a use
  ASSERT_TRUE(store.Resume(b, "p").ok());  // a use: b's clock restarts
  clock_.Advance(absl::Seconds(1));
  auto gone = store.Get(a, "p");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(MessageContains(gone.status(), "expired after 10m idle (idle_ttl)")) << gone.status();
  EXPECT_EQ(live_kv_, 0);  // its KV went with it
  // Expired is NotFound for anyone, the owner's principal being no longer checked.
  EXPECT_EQ(store.Get(a, "someone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Alive(store, b));
  EXPECT_EQ(store.stats().expired_total, 1);

  clock_.Advance(absl::Minutes(10) - absl::Seconds(1));
  EXPECT_EQ(store.ExpireIdle(), 1);  // b, resumed exactly 10m ago
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.stats().expired_total, 2);
}

TEST_F(SessionLimitsTest, GeneratingSessionsNeverExpire) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.idle_ttl = absl::Minutes(1);
  SessionStore store = MakeStore(options);
  const SessionId a = MustCreate(store, "p");
  auto turn = store.BeginTurn(a, "p", RandomTokens(rng_, 4));
  ASSERT_TRUE(turn.ok());
  clock_.Advance(absl::Hours(2));  // a very long turn
  EXPECT_EQ(store.ExpireIdle(), 0);
  auto info = store.Get(a, "p");  // lookups find it too
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->state, SessionState::kGenerating);
  ASSERT_TRUE(store.EndTurn(a, RandomTokens(rng_, 3), nullptr, 0).ok());
  // The TTL counts from the end of the turn.
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(store.ExpireIdle(), 0);
  EXPECT_EQ(store.Get(a, "p")->expires, clock_.now + absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(store.ExpireIdle(), 1);
}

TEST_F(SessionLimitsTest, AtTheSessionCapCreateEvictsTheLeastRecentlyUsedIdleSession) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.max_sessions = 3;
  SessionStore store = MakeStore(options);
  const SessionId a = MustCreate(store, "p");
  clock_.Advance(absl::Seconds(1));
  const SessionId b = MustCreate(store, "p");
  clock_.Advance(absl::Seconds(1));
  const SessionId c = MustCreate(store, "p");
  clock_.Advance(absl::Seconds(1));
  Turn(store, a, 3, 3, 1);  // a is now the most recently used; b the least

  const SessionId d = MustCreate(store, "p");
  EXPECT_FALSE(Alive(store, b));
  EXPECT_TRUE(Alive(store, a) && Alive(store, c) && Alive(store, d));
  EXPECT_EQ(store.stats().evicted_total, 1);

  // c is generating, so it is passed over although it is the least recently used.
  auto turn = store.BeginTurn(c, "p", RandomTokens(rng_, 2));
  ASSERT_TRUE(turn.ok());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(store.Resume(d, "p").ok());  // LRU among idle: a, then d
  const SessionId e = MustCreate(store, "p");
  EXPECT_FALSE(Alive(store, a));
  EXPECT_EQ(live_kv_, 0);  // a's KV released with it
  EXPECT_TRUE(Alive(store, c) && Alive(store, d) && Alive(store, e));
  const SessionId f = MustCreate(store, "p");
  EXPECT_FALSE(Alive(store, d));
  EXPECT_TRUE(Alive(store, c) && Alive(store, e) && Alive(store, f));
  EXPECT_EQ(store.stats().evicted_total, 3);
}

TEST_F(SessionLimitsTest, CreateWithEverySessionGeneratingIsExhaustedWithARetryHint) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.max_sessions = 2;
  options.retry_after = absl::Milliseconds(1500);
  SessionStore store = MakeStore(options);
  const SessionId a = MustCreate(store, "p");
  const SessionId b = MustCreate(store, "p");
  ASSERT_TRUE(store.BeginTurn(a, "p", RandomTokens(rng_, 2)).ok());
  ASSERT_TRUE(store.BeginTurn(b, "p", RandomTokens(rng_, 2)).ok());

  auto refused = store.Create("p", SessionOptions{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "session limit reached: all 2 sessions (max_sessions = 2) are generating a turn; "
            "retry in 1.5s");
  EXPECT_EQ(RetryAfter(refused.status()), absl::Milliseconds(1500));
  EXPECT_EQ(store.size(), 2u);

  ASSERT_TRUE(store.EndTurn(b, {}, nullptr, 0).ok());
  EXPECT_TRUE(store.Create("p", SessionOptions{}).ok());  // b was evicted for it
  EXPECT_FALSE(Alive(store, b));
}

TEST_F(SessionLimitsTest, PerPrincipalCapRefusesWithoutEvicting) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.max_sessions_per_principal = 2;
  SessionStore store = MakeStore(options);
  const SessionId a1 = MustCreate(store, "alice");
  MustCreate(store, "alice");
  MustCreate(store, "bob");
  auto refused = store.Create("alice", SessionOptions{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(MessageContains(refused.status(),
                              "already holds 2 sessions "
                              "(max_sessions_per_principal = 2)"))
      << refused.status();
  EXPECT_EQ(store.size(), 3u);
  EXPECT_TRUE(store.Create("bob", SessionOptions{}).ok());
  ASSERT_TRUE(store.Delete(a1, "alice").ok());
  EXPECT_TRUE(store.Create("alice", SessionOptions{}).ok());
}

TEST_F(SessionLimitsTest, TokenCapEvictsIdleSessionsOldestFirst) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.max_total_history_tokens = 100;
  SessionStore store = MakeStore(options);
  const SessionId a = MustCreate(store, "p");
  const SessionId b = MustCreate(store, "p");
  const SessionId c = MustCreate(store, "p");
  Turn(store, a, 20, 20, 1);  // 40
  clock_.Advance(absl::Seconds(1));
  Turn(store, b, 20, 20, 2);  // 80
  clock_.Advance(absl::Seconds(1));
  // c's 30 tokens make 110: a, the least recently used, goes; b stays.
  ASSERT_TRUE(store.BeginTurn(c, "p", RandomTokens(rng_, 30)).ok());
  EXPECT_FALSE(Alive(store, a));
  EXPECT_TRUE(Alive(store, b));
  EXPECT_EQ(store.stats().history_tokens, 70);

  // Generated tokens are never refused; passing the cap evicts idle sessions instead,
  // but not the one that just finished.
  ASSERT_TRUE(store.EndTurn(c, RandomTokens(rng_, 45), nullptr, 0).ok());
  EXPECT_FALSE(Alive(store, b));
  EXPECT_TRUE(Alive(store, c));
  EXPECT_EQ(store.stats().history_tokens, 75);
  EXPECT_EQ(store.stats().evicted_total, 2);
  EXPECT_EQ(live_kv_, 0);

  // This session alone would pass the cap: no eviction can help.
  auto too_long = store.BeginTurn(c, "p", RandomTokens(rng_, 26));
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(MessageContains(too_long.status(),
                              "history would reach 101 tokens, above "
                              "max_total_history_tokens = 100"))
      << too_long.status();
  EXPECT_FALSE(RetryAfter(too_long.status()).has_value());
}

TEST_F(SessionLimitsTest, TokenCapHeldByRunningTurnsIsExhaustedAndEvictsNothing) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.max_total_history_tokens = 100;
  SessionStore store = MakeStore(options);
  const SessionId a = MustCreate(store, "p");
  const SessionId b = MustCreate(store, "p");
  const SessionId c = MustCreate(store, "p");
  Turn(store, b, 10, 10, 2);                                          // idle, 20 tokens
  ASSERT_TRUE(store.BeginTurn(a, "p", RandomTokens(rng_, 70)).ok());  // running, 70
  auto refused = store.BeginTurn(c, "p", RandomTokens(rng_, 31));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(MessageContains(refused.status(), "turns in progress hold 70 tokens"))
      << refused.status();
  EXPECT_TRUE(MessageContains(refused.status(), "max_total_history_tokens = 100"))
      << refused.status();
  EXPECT_TRUE(RetryAfter(refused.status()).has_value());
  EXPECT_TRUE(Alive(store, b));  // refused without evicting anyone
  EXPECT_EQ(store.Get(c, "p")->state, SessionState::kIdle);
  EXPECT_EQ(live_kv_, 1);
  // 30 fits once b goes.
  ASSERT_TRUE(store.BeginTurn(c, "p", RandomTokens(rng_, 30)).ok());
  EXPECT_FALSE(Alive(store, b));
}

TEST_F(SessionLimitsTest, KvIsDroppedLeastRecentlyUsedFirstAndTokensStay) {
  SessionStore store = MakeStore(OptionsOn(clock_));
  std::vector<SessionId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(MustCreate(store, "p"));
    Turn(store, ids.back(), 6, 4, i);
    clock_.Advance(absl::Seconds(1));
  }
  const SessionId no_kv = MustCreate(store, "p");  // idle without KV: never listed
  ASSERT_TRUE(store.Resume(ids[1], "p").ok());     // a use: ids[1] moves last
  ASSERT_TRUE(store.BeginTurn(ids[3], "p", RandomTokens(rng_, 2)).ok());  // running
  ASSERT_EQ(live_kv_, 4);  // ids[3]'s KV left with its discarded TurnStart

  EXPECT_EQ(store.IdleWithKvLeastRecentFirst(10),
            (std::vector<SessionId>{ids[0], ids[2], ids[4], ids[1]}));
  EXPECT_EQ(store.IdleWithKvLeastRecentFirst(2), (std::vector<SessionId>{ids[0], ids[2]}));
  EXPECT_TRUE(store.IdleWithKvLeastRecentFirst(0).empty());

  auto kv = store.DropKv(ids[0]);
  ASSERT_TRUE(kv.ok()) << kv.status();
  EXPECT_EQ(TagOf(*kv), 0);
  kv->reset();
  EXPECT_EQ(live_kv_, 3);
  auto info = store.Get(ids[0], "p");
  EXPECT_EQ(info->history_tokens, 10);  // tokens kept
  EXPECT_EQ(info->cached_tokens, 0);
  EXPECT_EQ(info->last_used, clock_.now - absl::Seconds(5));  // dropping is not a use
  EXPECT_EQ(store.IdleWithKvLeastRecentFirst(10), (std::vector<SessionId>{ids[2], ids[4], ids[1]}));
  auto again = store.DropKv(ids[0]);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, nullptr);
  EXPECT_EQ(store.DropKv(no_kv)->get(), nullptr);
  EXPECT_EQ(store.stats().kv_dropped_total, 1);

  // Its next turn recomputes everything.
  auto turn = store.BeginTurn(ids[0], "p", RandomTokens(rng_, 3));
  ASSERT_TRUE(turn.ok());
  EXPECT_EQ(turn->cached_tokens, 0);
  EXPECT_EQ(turn->kv, nullptr);
  EXPECT_EQ(turn->tokens.size(), 13u);

  const SessionStoreStats stats = store.stats();
  EXPECT_EQ(stats.sessions, 6);
  EXPECT_EQ(stats.generating, 2);
  EXPECT_EQ(stats.sessions_with_kv, 3);
  EXPECT_EQ(stats.cached_tokens, 3 * 9);  // ids[2], ids[4], ids[1]
}

TEST_F(SessionLimitsTest, MakeRejectsOutOfRangeOptionsNamingTheField) {
  struct Case {
    void (*set)(SessionStoreOptions&);
    const char* field;
  };
  const Case cases[] = {
      {[](SessionStoreOptions& o) { o.idle_ttl = absl::ZeroDuration(); }, "idle_ttl"},
      {[](SessionStoreOptions& o) { o.idle_ttl = -absl::Seconds(1); }, "idle_ttl"},
      {[](SessionStoreOptions& o) { o.max_sessions = 0; }, "max_sessions"},
      {[](SessionStoreOptions& o) { o.max_sessions_per_principal = -1; },
       "max_sessions_per_principal"},
      {[](SessionStoreOptions& o) { o.max_total_history_tokens = -5; }, "max_total_history_tokens"},
      {[](SessionStoreOptions& o) { o.retry_after = absl::ZeroDuration(); }, "retry_after"},
  };
  for (const Case& c : cases) {
    SessionStoreOptions options;
    c.set(options);
    auto store = SessionStore::Make(options);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_TRUE(MessageContains(store.status(), std::string(c.field) + " must be"))
        << store.status();
  }
  EXPECT_TRUE(SessionStore::Make(SessionStoreOptions{}).ok());  // the defaults are valid
}

TEST_F(SessionLimitsTest, IdCollisionsAreRedrawnAndASourceStuckOnOneIdFails) {
  std::vector<SessionId> queue;
  SessionStoreOptions options = OptionsOn(clock_);
  options.id_source = [&queue]() -> absl::StatusOr<SessionId> {
    if (queue.empty()) return absl::UnavailableError("no entropy");
    SessionId id = queue.front();
    queue.erase(queue.begin());
    return id;
  };
  SessionStore store = MakeStore(options);
  const SessionId x = *SessionId::Parse("11111111111111111111111111111111");
  const SessionId y = *SessionId::Parse("22222222222222222222222222222222");
  queue = {x, x, y};
  EXPECT_EQ(*store.Create("p", SessionOptions{}), x);
  EXPECT_EQ(*store.Create("p", SessionOptions{}), y);  // x redrawn
  queue = {x, y, x, y, x};
  auto stuck = store.Create("p", SessionOptions{});
  EXPECT_EQ(stuck.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(MessageContains(stuck.status(), "4 fresh ids in a row")) << stuck.status();
  queue.clear();
  EXPECT_EQ(store.Create("p", SessionOptions{}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.size(), 2u);
}

// A client-proposed id names the session unless a live one holds it: then AlreadyExists
// for every principal, naming nobody and changing nothing; an expired holder frees it.
TEST_F(SessionLimitsTest, AProposedIdIsTakenOnlyWhenFree) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.id_source = []() -> absl::StatusOr<SessionId> {
    return absl::UnavailableError("a proposed id must not draw one");
  };
  SessionStore store = MakeStore(options);
  const SessionId x = *SessionId::Parse("0123456789abcdef0123456789abcdef");
  SessionOptions alices;
  alices.system_prompt = "alice's";
  ASSERT_EQ(*store.Create("alice", alices, {}, x), x);
  for (const char* who : {"alice", "bob"}) {
    auto taken = store.Create(who, SessionOptions{}, {{5, 6, 7}}, x);
    EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists) << who;
    EXPECT_FALSE(MessageContains(taken.status(), "alice")) << taken.status();
  }
  EXPECT_EQ(store.size(), 1u);
  auto info = store.Get(x, "alice");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->options.system_prompt, "alice's");
  EXPECT_EQ(info->history_tokens, 0);
  EXPECT_EQ(store.stats().created_total, 1);

  clock_.Advance(options.idle_ttl);  // expired: the id is free again
  auto again = store.Create("bob", SessionOptions{}, {{5, 6, 7}}, x);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(store.Get(x, "bob")->history_tokens, 3);
  EXPECT_EQ(store.Get(x, "alice").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store.stats().expired_total, 1);
}

TEST_F(SessionLimitsTest, MovedStoreKeepsSessionsAndOrder) {
  SessionStoreOptions options = OptionsOn(clock_);
  options.max_sessions = 2;
  SessionStore first = MakeStore(options);
  const SessionId a = MustCreate(first, "p");
  const SessionId b = MustCreate(first, "p");
  SessionStore moved = std::move(first);
  ASSERT_TRUE(moved.Resume(a, "p").ok());
  MustCreate(moved, "p");  // evicts b, the least recently used
  EXPECT_TRUE(Alive(moved, a));
  EXPECT_FALSE(Alive(moved, b));
}

}  // namespace
}  // namespace smollm::runtime

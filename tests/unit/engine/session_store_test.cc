// SessionStore: the turn lifecycle, principal checks, the generating state, KV hand-offs.
#include "runtime/engine/session_store.h"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
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

std::vector<TokenId> Concat(std::vector<TokenId> a, const std::vector<TokenId>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class SessionStoreTest : public ::testing::Test {
 protected:
  SessionStoreTest() : store_(*SessionStore::Make(OptionsOn(clock_))) {}

  SessionId MustCreate(const std::string& principal) {
    auto id = store_.Create(principal, SessionOptions{});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }
  std::unique_ptr<SessionKv> NewKv(int tag) { return std::make_unique<FakeKv>(&live_kv_, tag); }

  FakeClock clock_;
  int live_kv_ = 0;
  SessionStore store_;
  std::mt19937 rng_{1234};
};

TEST_F(SessionStoreTest, CreateKeepsOwnerOptionsAndTimes) {
  SessionOptions options;
  options.system_prompt = "You are terse.";
  options.enable_thinking = false;
  options.sampling.temperature = 0.25f;
  options.sampling.top_k = 40;
  options.sampling.seed = 99;
  auto id = store_.Create("alice", options);
  ASSERT_TRUE(id.ok()) << id.status();

  clock_.Advance(absl::Seconds(5));
  auto info = store_.Get(*id, "alice");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, *id);
  EXPECT_EQ(info->principal, "alice");
  EXPECT_EQ(info->options.system_prompt, "You are terse.");
  EXPECT_EQ(info->options.enable_thinking, std::optional<bool>(false));
  EXPECT_EQ(info->options.sampling.temperature, 0.25f);
  EXPECT_EQ(info->options.sampling.top_k, 40);
  EXPECT_EQ(info->options.sampling.seed, 99u);
  EXPECT_EQ(info->state, SessionState::kIdle);
  EXPECT_EQ(info->history_tokens, 0);
  EXPECT_EQ(info->turns, 0);
  EXPECT_EQ(info->cached_tokens, 0);
  // Get is not a use: last_used and the expiry stay at creation.
  EXPECT_EQ(info->created, clock_.now - absl::Seconds(5));
  EXPECT_EQ(info->last_used, info->created);
  EXPECT_EQ(info->expires, info->created + store_.options().idle_ttl);

  auto resumed = store_.Resume(*id, "alice");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->last_used, clock_.now);
  EXPECT_EQ(resumed->expires, clock_.now + store_.options().idle_ttl);
}

TEST_F(SessionStoreTest, TurnsAppendExactTokensAndRewindDropsThemWhole) {
  const SessionId id = MustCreate("alice");
  const std::vector<TokenId> in1 = RandomTokens(rng_, 23);
  const std::vector<TokenId> out1 = RandomTokens(rng_, 17);
  const std::vector<TokenId> in2 = RandomTokens(rng_, 9);
  const std::vector<TokenId> out2 = RandomTokens(rng_, 31);

  auto t1 = store_.BeginTurn(id, "alice", in1);
  ASSERT_TRUE(t1.ok()) << t1.status();
  EXPECT_EQ(t1->tokens, in1);
  EXPECT_EQ(t1->turn_start, 0);
  EXPECT_EQ(t1->cached_tokens, 0);
  EXPECT_EQ(t1->kv, nullptr);
  EXPECT_EQ(t1->turn_index, 0);
  EXPECT_EQ(store_.Get(id, "alice")->state, SessionState::kGenerating);
  EXPECT_EQ(store_.Get(id, "alice")->history_tokens, 23);
  EXPECT_EQ(store_.Get(id, "alice")->expires, absl::InfiniteFuture());

  // The last generated token was sampled, never fed: the KV covers one token less.
  const int64_t len1 = 23 + 17;
  ASSERT_TRUE(store_.EndTurn(id, out1, NewKv(1), len1 - 1).ok());
  auto info = store_.Get(id, "alice");
  EXPECT_EQ(info->state, SessionState::kIdle);
  EXPECT_EQ(info->history_tokens, len1);
  EXPECT_EQ(info->turns, 1);
  EXPECT_EQ(info->cached_tokens, len1 - 1);
  EXPECT_EQ(*store_.History(id, "alice"), Concat(in1, out1));

  auto t2 = store_.BeginTurn(id, "alice", in2);
  ASSERT_TRUE(t2.ok()) << t2.status();
  EXPECT_EQ(t2->tokens, Concat(Concat(in1, out1), in2));
  EXPECT_EQ(t2->turn_start, len1);
  EXPECT_EQ(t2->cached_tokens, len1 - 1);
  EXPECT_EQ(TagOf(t2->kv), 1);  // the very object EndTurn stored
  EXPECT_EQ(t2->turn_index, 1);
  EXPECT_EQ(store_.Get(id, "alice")->cached_tokens, 0);  // the turn holds the KV now
  const int64_t len2 = len1 + 9 + 31;
  ASSERT_TRUE(store_.EndTurn(id, out2, std::move(t2->kv), len2 - 1).ok());
  EXPECT_EQ(*store_.History(id, "alice"), Concat(Concat(Concat(in1, out1), in2), out2));

  auto rewound = store_.Rewind(id, "alice");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, len1);
  EXPECT_EQ(rewound->cached_tokens, len1);  // truncate the KV to the kept history
  EXPECT_EQ(rewound->turns, 1);
  EXPECT_EQ(*store_.History(id, "alice"), Concat(in1, out1));
  EXPECT_EQ(live_kv_, 1);  // rewinding keeps the KV (its first len1 tokens are valid)

  // The next turn continues from the rewound history with the clamped cache.
  auto t3 = store_.BeginTurn(id, "alice", in2);
  ASSERT_TRUE(t3.ok()) << t3.status();
  EXPECT_EQ(t3->turn_start, len1);
  EXPECT_EQ(t3->cached_tokens, len1);
  ASSERT_TRUE(store_.CancelTurn(id, std::move(t3->kv), len1 + 9).ok());

  rewound = store_.Rewind(id, "alice");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, 0);
  EXPECT_EQ(rewound->cached_tokens, 0);
  EXPECT_EQ(rewound->turns, 0);
  EXPECT_TRUE(store_.History(id, "alice")->empty());
  EXPECT_EQ(live_kv_, 0);  // nothing left valid in the KV: released at once
  auto none = store_.Rewind(id, "alice");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(MessageContains(none.status(), "has no turn to rewind"));

  auto deleted = store_.Delete(id, "alice");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, SessionState::kIdle);
  EXPECT_EQ(store_.Get(id, "alice").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(SessionStoreTest, CancelTurnDropsTheWholeTurnAndClampsTheCache) {
  const SessionId id = MustCreate("bob");
  const std::vector<TokenId> in1 = RandomTokens(rng_, 12);
  const std::vector<TokenId> out1 = RandomTokens(rng_, 8);
  ASSERT_TRUE(store_.BeginTurn(id, "bob", in1).ok());
  ASSERT_TRUE(store_.EndTurn(id, out1, NewKv(7), 19).ok());

  auto turn = store_.BeginTurn(id, "bob", RandomTokens(rng_, 5));
  ASSERT_TRUE(turn.ok()) << turn.status();
  // The turn prefilled its 5 tokens and generated 3 before it was cancelled.
  auto cancelled = store_.CancelTurn(id, std::move(turn->kv), 20 + 5 + 3);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->history_tokens, 20);
  EXPECT_EQ(cancelled->cached_tokens, 20);
  EXPECT_EQ(cancelled->turns, 1);
  EXPECT_EQ(*store_.History(id, "bob"), Concat(in1, out1));
  auto info = store_.Get(id, "bob");
  EXPECT_EQ(info->state, SessionState::kIdle);
  EXPECT_EQ(info->cached_tokens, 20);
  EXPECT_EQ(live_kv_, 1);

  // Cancelled before its KV came back (or with none): nothing is cached afterwards.
  ASSERT_TRUE(store_.BeginTurn(id, "bob", RandomTokens(rng_, 4)).ok());
  EXPECT_EQ(live_kv_, 0);  // the discarded TurnStart took the KV with it
  cancelled = store_.CancelTurn(id, nullptr, 22);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->cached_tokens, 0);
  EXPECT_EQ(store_.Get(id, "bob")->cached_tokens, 0);
}

TEST_F(SessionStoreTest, WrongPrincipalIsDeniedWithoutLearningTheOwner) {
  const SessionId id = MustCreate("alice-secret-name");
  ASSERT_TRUE(store_.BeginTurn(id, "alice-secret-name", RandomTokens(rng_, 4)).ok());
  ASSERT_TRUE(store_.EndTurn(id, RandomTokens(rng_, 4), NewKv(1), 7).ok());

  auto expect_denied = [&](const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
    EXPECT_TRUE(MessageContains(status, "belongs to another principal")) << status;
    EXPECT_TRUE(MessageContains(status, id.ToString())) << status;
    EXPECT_FALSE(MessageContains(status, "alice")) << status;
  };
  expect_denied(store_.Get(id, "mallory").status());
  expect_denied(store_.Resume(id, "mallory").status());
  expect_denied(store_.History(id, "mallory").status());
  expect_denied(store_.BeginTurn(id, "mallory", RandomTokens(rng_, 3)).status());
  expect_denied(store_.Rewind(id, "mallory").status());
  expect_denied(store_.Delete(id, "").status());
  expect_denied(store_.Get(id, "alice-secret-nam").status());

  // Nothing changed for the owner.
  auto info = store_.Get(id, "alice-secret-name");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->history_tokens, 8);
  EXPECT_EQ(info->turns, 1);
  EXPECT_EQ(info->cached_tokens, 7);
  EXPECT_EQ(info->state, SessionState::kIdle);
  EXPECT_EQ(live_kv_, 1);
}

TEST_F(SessionStoreTest, UnknownIdsAreNotFoundForEveryCall) {
  MustCreate("alice");
  const SessionId unknown = *SessionId::Parse("0123456789abcdef0123456789abcdef");
  auto expect_not_found = [&](const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(MessageContains(status, unknown.ToString())) << status;
    EXPECT_TRUE(MessageContains(status, "idle_ttl")) << status;
  };
  expect_not_found(store_.Get(unknown, "alice").status());
  expect_not_found(store_.Resume(unknown, "alice").status());
  expect_not_found(store_.History(unknown, "alice").status());
  expect_not_found(store_.BeginTurn(unknown, "alice", RandomTokens(rng_, 2)).status());
  expect_not_found(store_.EndTurn(unknown, {}, NewKv(3), 0));
  expect_not_found(store_.CancelTurn(unknown, nullptr, 0).status());
  expect_not_found(store_.Rewind(unknown, "alice").status());
  expect_not_found(store_.Delete(unknown, "alice").status());
  expect_not_found(store_.DropKv(unknown).status());
  EXPECT_EQ(live_kv_, 0);  // the KV handed to a missing session is released
}

TEST_F(SessionStoreTest, GeneratingSessionRefusesTurnsButNotReaders) {
  const SessionId id = MustCreate("alice");
  auto turn = store_.BeginTurn(id, "alice", RandomTokens(rng_, 6));
  ASSERT_TRUE(turn.ok());

  auto again = store_.BeginTurn(id, "alice", RandomTokens(rng_, 2));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      again.status().message(),
      "session " + id.ToString() + " is generating a turn; wait for it to finish or cancel it");
  auto rewind = store_.Rewind(id, "alice");
  EXPECT_EQ(rewind.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(MessageContains(rewind.status(), "is generating a turn")) << rewind.status();
  auto drop = store_.DropKv(id);
  EXPECT_EQ(drop.status().code(), absl::StatusCode::kFailedPrecondition);

  auto resumed = store_.Resume(id, "alice");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state, SessionState::kGenerating);
  EXPECT_EQ(resumed->history_tokens, 6);
  EXPECT_EQ(*store_.History(id, "alice"), turn->tokens);  // the refused turn left no trace
}

TEST_F(SessionStoreTest, EndAndCancelNeedARunningTurnAndAValidKvLength) {
  const SessionId id = MustCreate("alice");
  absl::Status idle_end = store_.EndTurn(id, RandomTokens(rng_, 2), NewKv(1), 1);
  EXPECT_EQ(idle_end.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(MessageContains(idle_end, "has no turn running")) << idle_end;
  EXPECT_EQ(store_.CancelTurn(id, nullptr, 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(live_kv_, 0);

  ASSERT_TRUE(store_.BeginTurn(id, "alice", RandomTokens(rng_, 10)).ok());
  // 10 + 4 tokens after the turn: the KV cannot cover 15, nor -1.
  absl::Status too_long = store_.EndTurn(id, RandomTokens(rng_, 4), NewKv(2), 15);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageContains(too_long, "kv_tokens = 15 is outside [0, 14]")) << too_long;
  EXPECT_EQ(store_.EndTurn(id, {}, nullptr, -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.CancelTurn(id, nullptr, -1).status().code(), absl::StatusCode::kInvalidArgument);
  // Nothing changed: the turn still runs and can end properly.
  EXPECT_EQ(store_.Get(id, "alice")->state, SessionState::kGenerating);
  EXPECT_EQ(store_.Get(id, "alice")->history_tokens, 10);
  ASSERT_TRUE(store_.EndTurn(id, RandomTokens(rng_, 4), NewKv(3), 14).ok());
  EXPECT_EQ(store_.Get(id, "alice")->cached_tokens, 14);
  // Without a KV object nothing is cached, whatever the length says.
  ASSERT_TRUE(store_.BeginTurn(id, "alice", RandomTokens(rng_, 1)).ok());
  ASSERT_TRUE(store_.EndTurn(id, RandomTokens(rng_, 1), nullptr, 15).ok());
  EXPECT_EQ(store_.Get(id, "alice")->cached_tokens, 0);
}

TEST_F(SessionStoreTest, EmptyTurnIsInvalid) {
  const SessionId id = MustCreate("alice");
  auto turn = store_.BeginTurn(id, "alice", {});
  EXPECT_EQ(turn.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageContains(turn.status(), "at least one")) << turn.status();
  EXPECT_EQ(store_.Get(id, "alice")->state, SessionState::kIdle);
}

TEST_F(SessionStoreTest, DeletingAGeneratingSessionTellsTheEngineToCancel) {
  const SessionId id = MustCreate("alice");
  auto turn = store_.BeginTurn(id, "alice", RandomTokens(rng_, 3));
  ASSERT_TRUE(turn.ok());
  auto deleted = store_.Delete(id, "alice");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, SessionState::kGenerating);
  // The running sequence finishes later: its KV is released, the session stays gone.
  EXPECT_EQ(store_.EndTurn(id, RandomTokens(rng_, 2), NewKv(5), 4).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(live_kv_, 0);
  EXPECT_EQ(store_.stats().deleted_total, 1);
  EXPECT_EQ(store_.stats().history_tokens, 0);
}

// Random operations on a few sessions against a plain model of their histories.
TEST_F(SessionStoreTest, RandomOperationsMatchAModel) {
  struct Model {
    std::string principal;
    std::vector<TokenId> history;
    std::vector<size_t> turn_starts;
    bool generating = false;
  };
  std::vector<std::pair<SessionId, Model>> live;
  int64_t created = 0;
  for (int step = 0; step < 4000; ++step) {
    clock_.Advance(absl::Milliseconds(rng_() % 100));  // never near idle_ttl
    const int op = static_cast<int>(rng_() % 6);
    if (live.empty() || (op == 0 && live.size() < 12)) {
      const std::string principal = "p" + std::to_string(rng_() % 3);
      live.emplace_back(MustCreate(principal), Model{.principal = principal});
      ++created;
      continue;
    }
    auto& [id, model] = live[rng_() % live.size()];
    if (op == 1 && !model.generating) {
      const std::vector<TokenId> in = RandomTokens(rng_, 1 + static_cast<int>(rng_() % 20));
      auto turn = store_.BeginTurn(id, model.principal, in);
      ASSERT_TRUE(turn.ok()) << turn.status();
      model.turn_starts.push_back(model.history.size());
      model.history.insert(model.history.end(), in.begin(), in.end());
      ASSERT_EQ(turn->tokens, model.history);
      model.generating = true;
    } else if (op == 2 && model.generating) {
      const std::vector<TokenId> out = RandomTokens(rng_, static_cast<int>(rng_() % 20));
      model.history.insert(model.history.end(), out.begin(), out.end());
      ASSERT_TRUE(store_.EndTurn(id, out, NewKv(step), model.history.size() / 2).ok());
      model.generating = false;
    } else if (op == 3 && model.generating) {
      ASSERT_TRUE(store_.CancelTurn(id, NewKv(step), rng_() % 100).ok());
      model.history.resize(model.turn_starts.back());
      model.turn_starts.pop_back();
      model.generating = false;
    } else if (op == 4) {
      auto rewound = store_.Rewind(id, model.principal);
      if (model.generating || model.turn_starts.empty()) {
        ASSERT_EQ(rewound.status().code(), absl::StatusCode::kFailedPrecondition);
      } else {
        ASSERT_TRUE(rewound.ok()) << rewound.status();
        model.history.resize(model.turn_starts.back());
        model.turn_starts.pop_back();
        ASSERT_EQ(rewound->history_tokens, static_cast<int64_t>(model.history.size()));
        ASSERT_LE(rewound->cached_tokens, rewound->history_tokens);
      }
    } else if (op == 5 && rng_() % 8 == 0) {
      const SessionId doomed = id;
      ASSERT_TRUE(store_.Delete(doomed, model.principal).ok());
      live.erase(std::find_if(live.begin(), live.end(),
                              [&](const auto& entry) { return entry.first == doomed; }));
    }
    int64_t total = 0;
    int64_t generating = 0;
    for (const auto& [sid, m] : live) {
      auto info = store_.Get(sid, m.principal);
      ASSERT_TRUE(info.ok()) << info.status();
      ASSERT_EQ(*store_.History(sid, m.principal), m.history);
      ASSERT_EQ(info->turns, static_cast<int32_t>(m.turn_starts.size()));
      ASSERT_EQ(info->state == SessionState::kGenerating, m.generating);
      ASSERT_LE(info->cached_tokens, info->history_tokens);
      total += static_cast<int64_t>(m.history.size());
      generating += m.generating;
    }
    const SessionStoreStats stats = store_.stats();
    ASSERT_EQ(stats.sessions, static_cast<int64_t>(live.size()));
    ASSERT_EQ(stats.history_tokens, total);
    ASSERT_EQ(stats.generating, generating);
    ASSERT_EQ(stats.created_total, created);
  }
}

}  // namespace
}  // namespace smollm::runtime

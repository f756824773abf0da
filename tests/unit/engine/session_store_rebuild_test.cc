// SessionStore: sessions created with initial turns (a rebuild of a session that ran
// elsewhere): their history, turn count and boundaries, and the token caps.
#include <initializer_list>
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
using ::smollm::testing::MessageContains;

class SessionRebuildTest : public ::testing::Test {
 protected:
  SessionStore MakeStore(int64_t max_total_history_tokens) {
    SessionStoreOptions options = OptionsOn(clock_);
    options.max_total_history_tokens = max_total_history_tokens;
    auto store = SessionStore::Make(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }
  // Random turns of the given lengths.
  std::vector<std::vector<TokenId>> Turns(std::initializer_list<int> sizes) {
    std::vector<std::vector<TokenId>> turns;
    for (int n : sizes) turns.push_back(RandomTokens(rng_, n));
    return turns;
  }

  FakeClock clock_;
  int live_kv_ = 0;
  std::mt19937 rng_{4242};
};

TEST_F(SessionRebuildTest, InitialTurnsAreTheHistoryAndCountAsTurns) {
  SessionStore store = MakeStore(0);
  const std::vector<std::vector<TokenId>> turns = Turns({23, 17});
  auto id = store.Create("p", SessionOptions{}, turns);
  ASSERT_TRUE(id.ok()) << id.status();
  auto info = store.Get(*id, "p");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->history_tokens, 40);
  EXPECT_EQ(info->turns, 2);
  EXPECT_EQ(info->cached_tokens, 0);  // no KV: the next turn prefills them
  EXPECT_EQ(info->state, SessionState::kIdle);
  std::vector<TokenId> expected = turns[0];
  expected.insert(expected.end(), turns[1].begin(), turns[1].end());
  EXPECT_EQ(*store.History(*id, "p"), expected);
  EXPECT_EQ(store.stats().history_tokens, 40);

  // The next turn continues the numbering and starts after them.
  const std::vector<TokenId> turn3 = RandomTokens(rng_, 9);
  auto start = store.BeginTurn(*id, "p", turn3);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->turn_index, 2);
  EXPECT_EQ(start->turn_start, 40);
  EXPECT_EQ(start->cached_tokens, 0);
  EXPECT_EQ(start->kv, nullptr);
  expected.insert(expected.end(), turn3.begin(), turn3.end());
  EXPECT_EQ(start->tokens, expected);
  ASSERT_TRUE(store.EndTurn(*id, RandomTokens(rng_, 4), std::make_unique<FakeKv>(&live_kv_, 1), 52)
                  .ok());

  // Rewind drops the live turn, then the initial ones one at a time.
  auto rewound = store.Rewind(*id, "p");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, 40);
  EXPECT_EQ(rewound->turns, 2);
  rewound = store.Rewind(*id, "p");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, 23);
  EXPECT_EQ(rewound->turns, 1);
  EXPECT_EQ(*store.History(*id, "p"), turns[0]);
  rewound = store.Rewind(*id, "p");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, 0);
  EXPECT_EQ(live_kv_, 0);  // nothing left to cache
  EXPECT_EQ(store.stats().history_tokens, 0);
}

TEST_F(SessionRebuildTest, AnEmptyInitialTurnIsRefusedNamingIt) {
  SessionStore store = MakeStore(0);
  const std::vector<std::vector<TokenId>> turns = Turns({5, 0});
  auto id = store.Create("p", SessionOptions{}, turns);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageContains(id.status(), "initial_turns[1]")) << id.status();
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.stats().created_total, 0);
}

TEST_F(SessionRebuildTest, TheTokenCapAppliesToInitialTurns) {
  SessionStore store = MakeStore(100);
  // Alone beyond the cap: OutOfRange, no retry hint (retrying cannot help).
  auto too_long = store.Create("p", SessionOptions{}, Turns({60, 41}));
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(MessageContains(too_long.status(), "max_total_history_tokens = 100"))
      << too_long.status();
  EXPECT_FALSE(RetryAfter(too_long.status()).has_value());
  EXPECT_EQ(store.size(), 0u);

  // Held by a running turn: ResourceExhausted with a hint, and the idle session stays.
  auto idle = store.Create("p", SessionOptions{}, Turns({20}));
  auto running = store.Create("p", SessionOptions{});
  ASSERT_TRUE(idle.ok() && running.ok());
  ASSERT_TRUE(store.BeginTurn(*running, "p", RandomTokens(rng_, 70)).ok());
  auto refused = store.Create("p", SessionOptions{}, Turns({31}));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(MessageContains(refused.status(), "turns in progress hold 70 tokens"))
      << refused.status();
  EXPECT_TRUE(RetryAfter(refused.status()).has_value());
  EXPECT_TRUE(store.Get(*idle, "p").ok());
  EXPECT_EQ(store.size(), 2u);

  // 30 fits once the idle session goes: it is evicted, the new one kept.
  auto rebuilt = store.Create("p", SessionOptions{}, Turns({30}));
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_FALSE(store.Get(*idle, "p").ok());
  EXPECT_EQ(store.Get(*rebuilt, "p")->history_tokens, 30);
  EXPECT_EQ(store.stats().evicted_total, 1);
  EXPECT_EQ(store.stats().history_tokens, 100);
}

}  // namespace
}  // namespace smollm::runtime

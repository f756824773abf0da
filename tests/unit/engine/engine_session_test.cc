// Engine sessions under time and memory: idle sessions expire from the loop with no call
// touching them, idle sessions give up their KV to requests that need the pages (and their
// next turn recomputes it with the same output), and a turn's own retained KV is not
// charged twice.
#include <memory>
#include <random>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "runtime/engine/engine.h"
#include "runtime/kv/kv_sizing.h"
#include "tests/unit/engine/engine_test_util.h"

namespace smollm::runtime::engine_test {
namespace {

// A clock the test moves; read by the engine thread.
class FakeClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

// Options with a KV pool of exactly `pages` pages.
EngineOptions PoolOf(int pages) {
  EngineOptions o = SmallOptions();
  const ModelConfig& c = TestModel()->config();
  absl::StatusOr<uint64_t> page_bytes =
      KvPageBytes({c.n_layers, c.n_kv_heads, c.head_dim, o.page_size});
  EXPECT_TRUE(page_bytes.ok()) << page_bytes.status();
  o.kv_cache_bytes = page_bytes.value_or(0) * static_cast<uint64_t>(pages);
  // Whole prompts in one chunk, so that admission charges all of a prompt's pages.
  o.max_tokens_per_step = 512;
  o.prefill_chunk = 512;
  return o;
}

// Runs one session turn and appends its tokens (and the reply) to *history.
Outcome Turn(Engine& engine, const SessionId& id, const std::vector<TokenId>& turn,
             int max_tokens, std::vector<TokenId>* history,
             absl::Duration timeout = absl::Seconds(300)) {
  GenerateRequest request{turn, Greedy(max_tokens)};
  request.session = SessionTurn{id, "alice"};
  auto sink = std::make_shared<TokenSink>();
  EXPECT_TRUE(engine.Submit(std::move(request), sink).ok());
  Outcome out = Collect(*sink, timeout);
  EXPECT_TRUE(out.ended) << "the turn did not end within " << timeout;
  EXPECT_TRUE(out.final.status.ok()) << out.final.status;
  history->insert(history->end(), turn.begin(), turn.end());
  history->insert(history->end(), out.tokens.begin(), out.tokens.end());
  return out;
}

// Polls the published stats until `done` holds or `timeout` passes.
template <typename Pred>
bool WaitForStats(Engine& engine, Pred done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done(engine.Stats())) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done(engine.Stats());
}

TEST(EngineSessionTest, IdleSessionsExpireFromTheLoopWithoutTraffic) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(21);
  auto clock = std::make_shared<FakeClock>();
  EngineOptions o = SmallOptions();
  o.sessions.idle_ttl = absl::Minutes(10);
  o.sessions.clock = [clock] { return clock->Now(); };
  TestEngine t(o);
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;

  auto old_session = e.CreateSession("alice", {});
  auto new_session = e.CreateSession("alice", {});
  ASSERT_TRUE(old_session.ok() && new_session.ok());
  std::vector<TokenId> history;
  Turn(e, *old_session, RandomPrompt(rng, 40), 4, &history);
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(60)));
  const int32_t old_pages = e.Stats().kv_pages_used;
  EXPECT_EQ(old_pages, 3);  // the idle session keeps the KV of its 43 tokens

  clock->Advance(absl::Minutes(6));
  std::vector<TokenId> other;
  Turn(e, *new_session, RandomPrompt(rng, 20), 4, &other);  // used 6 minutes later
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(60)));
  const int32_t both_pages = e.Stats().kv_pages_used;
  EXPECT_EQ(both_pages, old_pages + 2);
  clock->Advance(absl::Minutes(5));  // the first is 11 minutes idle, the second 5

  // Nothing calls the engine from here on but Stats, which never reaches the store.
  ASSERT_TRUE(WaitForStats(
      e, [](const EngineStats& s) { return s.sessions_expired >= 1; }, absl::Seconds(60)));
  const EngineStats stats = e.Stats();
  EXPECT_EQ(stats.sessions_expired, 1);
  EXPECT_EQ(stats.sessions, 1);
  EXPECT_EQ(stats.kv_pages_used, both_pages - old_pages);  // the expired one's KV went back
  EXPECT_EQ(e.GetSession(*old_session, "alice").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(e.GetSession(*new_session, "alice").ok());

  clock->Advance(absl::Minutes(10));
  ASSERT_TRUE(WaitForStats(
      e, [](const EngineStats& s) { return s.sessions == 0; }, absl::Seconds(60)));
  EXPECT_EQ(e.Stats().kv_pages_used, 0);
}

TEST(EngineSessionTest, IdleSessionKvMakesRoomAndItsNextTurnRecomputesTheSameTokens) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(33);
  // 24 pages of 16 tokens. Session A keeps 10 of them between turns; B's prompt needs 13
  // while C decodes, so B fits only if A's idle KV goes.
  TestEngine t(PoolOf(24));
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;
  auto a = e.CreateSession("alice", {});
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<TokenId> history;
  Turn(e, *a, RandomPrompt(rng, 150), 8, &history);
  ASSERT_EQ(history.size(), 158u);
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(60)));
  EXPECT_EQ(e.Stats().kv_pages_used, 10);  // 157 tokens of KV

  constexpr int kLongDecode = smollm::testing::kSanitizerBuild ? 60 : 100;
  auto c_sink = std::make_shared<TokenSink>(1024);
  ASSERT_TRUE(e.Submit({RandomPrompt(rng, 16), Greedy(kLongDecode)}, c_sink).ok());
  ASSERT_TRUE(c_sink->WaitForEvent(absl::Seconds(60)));  // C is decoding
  auto b_sink = std::make_shared<TokenSink>();
  ASSERT_TRUE(e.Submit({RandomPrompt(rng, 200), Greedy(8)}, b_sink).ok());
  Outcome b = Collect(*b_sink);
  ASSERT_TRUE(b.ended);
  EXPECT_TRUE(b.final.status.ok()) << b.final.status;
  // B did not wait for C to finish: A's idle KV made the room.
  EXPECT_FALSE(c_sink->finished());
  Outcome c = Collect(*c_sink);
  ASSERT_TRUE(c.ended);
  EXPECT_TRUE(c.final.status.ok()) << c.final.status;
  EXPECT_EQ(e.Stats().session_kv_dropped, 1);
  auto info = e.GetSession(*a, "alice");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->cached_tokens, 0);
  EXPECT_EQ(info->history_tokens, 158);  // tokens kept

  // A's next turn recomputes what the cache lost, and answers as a fresh request would.
  const std::vector<TokenId> turn2 = RandomPrompt(rng, 20);
  std::vector<TokenId> full = history;
  full.insert(full.end(), turn2.begin(), turn2.end());
  Outcome out2 = Turn(e, *a, turn2, 8, &history);
  ASSERT_TRUE(out2.ended);
  EXPECT_EQ(out2.final.usage.prompt_tokens, 178);
  EXPECT_LT(out2.final.usage.cached_tokens, 157 / 16 * 16);  // less than a warm turn reuses

  EngineOptions fresh_options = PoolOf(24);
  fresh_options.prefix_cache = false;
  TestEngine fresh(fresh_options);
  ASSERT_NE(fresh.engine, nullptr);
  Outcome expected = RunRequest(*fresh.engine, {full, Greedy(8)});
  ASSERT_TRUE(expected.ended);
  EXPECT_EQ(out2.tokens, expected.tokens);

  // Its pages all come back when it closes.
  ASSERT_TRUE(e.DeleteSession(*a, "alice").ok());
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(10)));
  const EngineStats s = e.Stats();
  EXPECT_EQ(s.kv_pages_used, 0);
  EXPECT_EQ(s.kv_pages_free + s.kv_pages_cached, s.kv_pages_total);
}

// A turn's own retained KV is referenced by the turn: the scheduler must not charge those
// pages again, or a history over half the pool could never be admitted.
TEST(EngineSessionTest, ATurnsRetainedPagesAreNotChargedTwice) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(44);
  TestEngine t(PoolOf(20));
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;
  auto a = e.CreateSession("alice", {});
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<TokenId> history;
  Turn(e, *a, RandomPrompt(rng, 150), 8, &history);  // 10 of the 20 pages stay with A
  // 218 tokens need 14 pages: A's own 10 (157 tokens, the last page partly filled) plus 4
  // new, within the 10 free.
  Outcome out2 = Turn(e, *a, RandomPrompt(rng, 60), 8, &history, absl::Seconds(60));
  ASSERT_TRUE(out2.ended) << "the turn was never admitted";
  EXPECT_EQ(out2.final.usage.cached_tokens, 157);
  EXPECT_EQ(out2.tokens.size(), 8u);
  EXPECT_EQ(e.Stats().session_kv_dropped, 0);
}

}  // namespace
}  // namespace smollm::runtime::engine_test

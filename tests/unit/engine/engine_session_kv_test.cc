// Engine sessions keep their partly filled last KV page between turns: the next turn writes
// on into it (nothing recomputed but the never-fed last token), answers as a fresh request
// over the whole history would, and rewind, cancel and close give back exact page counts.
#include <memory>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/engine/engine.h"
#include "tests/unit/engine/engine_test_util.h"

namespace smollm::runtime::engine_test {
namespace {

constexpr int kPageSize = 16;  // SmallOptions

int PagesOf(int64_t tokens) { return static_cast<int>((tokens + kPageSize - 1) / kPageSize); }

// A session of "alice" on one engine, each turn checked against the same history run as
// one plain request on an engine without any cache.
class SessionKvTest : public ::testing::Test {
 protected:
  void Start(bool prefix_cache) {
    ASSERT_NE(TestModel(), nullptr);
    EngineOptions options = SmallOptions();
    options.prefix_cache = prefix_cache;
    engine_ = std::make_unique<TestEngine>(options);
    ASSERT_NE(engine_->engine, nullptr);
    EngineOptions plain = SmallOptions();
    plain.prefix_cache = false;
    reference_ = std::make_unique<TestEngine>(plain);
    ASSERT_NE(reference_->engine, nullptr);
    auto id = e().CreateSession("alice", {});
    ASSERT_TRUE(id.ok()) << id.status();
    id_ = *id;
  }

  Engine& e() { return *engine_->engine; }

  // Runs a turn of `n_new` random tokens, appends it and its reply to history_, and
  // checks the reply against the reference. Returns the turn's outcome.
  Outcome Turn(int n_new, int max_tokens) {
    std::vector<TokenId> turn = RandomPrompt(rng_, n_new);
    std::vector<TokenId> full = history_;
    full.insert(full.end(), turn.begin(), turn.end());
    GenerateRequest request{turn, Greedy(max_tokens)};
    request.session = SessionTurn{id_, "alice"};
    Outcome out = RunRequest(e(), request);
    EXPECT_TRUE(out.ended);
    EXPECT_TRUE(out.final.status.ok()) << out.final.status;
    EXPECT_EQ(out.final.usage.prompt_tokens, static_cast<int>(full.size()));
    Outcome expected = RunRequest(*reference_->engine, {full, Greedy(max_tokens)});
    EXPECT_TRUE(expected.ended);
    EXPECT_EQ(out.tokens, expected.tokens) << "the turn differs from a fresh request";
    history_ = std::move(full);
    history_.insert(history_.end(), out.tokens.begin(), out.tokens.end());
    return out;
  }

  EngineStats IdleStats() {
    EXPECT_TRUE(e().WaitUntilIdle(absl::Seconds(30)));
    return e().Stats();
  }

  // Closes the session: every page is free or merely cached (unreferenced) afterwards.
  void CloseAndCheckPool() {
    ASSERT_TRUE(e().DeleteSession(id_, "alice").ok());
    const EngineStats s = IdleStats();
    EXPECT_EQ(s.kv_pages_used, 0);
    EXPECT_EQ(s.kv_pages_free + s.kv_pages_cached, s.kv_pages_total);
    EXPECT_EQ(s.sequences, 0);
  }

  std::mt19937 rng_{71};
  std::unique_ptr<TestEngine> engine_;
  std::unique_ptr<TestEngine> reference_;
  SessionId id_;
  std::vector<TokenId> history_;
};

// By contract a turn recomputes one token of the history: the last token the previous
// turn sampled, which was never fed to the model (so it has no KV). Everything before it,
// the partly filled last page included, is reused; only the new tokens are prefilled.
// Without the prefix cache too: the session's own pages need none.
TEST_F(SessionKvTest, EachTurnReusesTheWholeHistoryButItsLastToken) {
  for (bool prefix_cache : {true, false}) {
    if (smollm::testing::kSanitizerBuild && !prefix_cache) break;  // the slow build: one
    SCOPED_TRACE(prefix_cache ? "with the prefix cache" : "without the prefix cache");
    history_.clear();
    Start(prefix_cache);
    ASSERT_NE(engine_->engine, nullptr);
    Outcome first = Turn(45, 7);  // 52 tokens: 51 with KV, the 4th page holds 3
    EXPECT_EQ(first.final.usage.cached_tokens, 0);
    EngineStats s = IdleStats();
    EXPECT_EQ(s.kv_pages_used, PagesOf(51));
    auto info = e().GetSession(id_, "alice");
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->cached_tokens, 51);

    for (int n_new : {20, 9}) {  // the second one lands inside a partly filled page again
      const int64_t before = static_cast<int64_t>(history_.size());
      const int64_t tokens_in = IdleStats().tokens_in;
      Outcome out = Turn(n_new, 6);
      EXPECT_EQ(out.final.usage.cached_tokens, before - 1);
      // Prefilled: the never-fed last token and the new ones, nothing else.
      EXPECT_EQ(IdleStats().tokens_in - tokens_in, 1 + n_new);
      EXPECT_EQ(IdleStats().kv_pages_used, PagesOf(history_.size() - 1));
    }
    CloseAndCheckPool();
  }
}

// Rewind keeps the KV of the remaining history, up to its very last token (a later turn
// fed it), and gives back the rewound turn's pages at once.
TEST_F(SessionKvTest, RewindReleasesTheDroppedTurnsPagesAndKeepsTheRest) {
  Start(/*prefix_cache=*/true);
  ASSERT_NE(engine_->engine, nullptr);
  Turn(45, 7);  // 52 tokens
  const std::vector<TokenId> kept = history_;
  Turn(40, 8);  // 100 tokens: 99 with KV in 7 pages
  EXPECT_EQ(IdleStats().kv_pages_used, PagesOf(99));

  auto rewound = e().RewindSession(id_, "alice");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, 52);
  EXPECT_EQ(rewound->cached_tokens, 52);
  // Page 3 (tokens 48..63) was full and in the prefix cache; the session alone holds it,
  // so it is taken out of the cache and kept, to be written on from token 52.
  EXPECT_EQ(IdleStats().kv_pages_used, PagesOf(52));
  history_ = kept;
  Outcome after = Turn(30, 6);
  EXPECT_EQ(after.final.usage.cached_tokens, 52);  // nothing recomputed at all

  // Rewinding every turn leaves no KV.
  ASSERT_TRUE(e().RewindSession(id_, "alice").ok());
  auto none = e().RewindSession(id_, "alice");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->cached_tokens, 0);
  EXPECT_EQ(IdleStats().kv_pages_used, 0);
  history_.clear();
  EXPECT_EQ(Turn(10, 4).final.usage.cached_tokens, 0);
  CloseAndCheckPool();
}

// A turn cancelled midway leaves no trace in the history; its KV past the history goes,
// and the next turn continues from what is left.
TEST_F(SessionKvTest, ACancelledTurnGivesBackItsPages) {
  Start(/*prefix_cache=*/true);
  ASSERT_NE(engine_->engine, nullptr);
  Turn(45, 7);  // 52 tokens

  GenerateRequest request{RandomPrompt(rng_, 60), Greedy(40)};
  request.session = SessionTurn{id_, "alice"};
  auto sink = std::make_shared<TokenSink>(/*max_buffered_tokens=*/1);  // pauses it
  absl::StatusOr<RequestId> running = e().Submit(std::move(request), sink);
  ASSERT_TRUE(running.ok()) << running.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (e().Stats().paused == 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(e().Stats().paused, 1);
  e().Cancel(*running);
  Outcome cancelled = Collect(*sink);
  ASSERT_TRUE(cancelled.ended);
  EXPECT_EQ(cancelled.final.status.code(), absl::StatusCode::kCancelled);

  auto info = e().GetSession(id_, "alice");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->history_tokens, 52);
  EXPECT_EQ(info->cached_tokens, 52);  // the cancelled turn fed the 52nd token
  EXPECT_EQ(IdleStats().kv_pages_used, PagesOf(52));
  EXPECT_EQ(Turn(12, 6).final.usage.cached_tokens, 52);
  CloseAndCheckPool();
}

}  // namespace
}  // namespace smollm::runtime::engine_test

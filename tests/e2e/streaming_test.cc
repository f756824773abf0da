// End to end through the C++ client: streaming Generate, sessions, resume, cancel, deadline.
#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/client/grpc_status.h"
#include "tests/e2e/e2e_support.h"
#include "tests/e2e/tcp_proxy.h"

namespace smollm::testing {
namespace {

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = SharedServer();
    ASSERT_NE(server_, nullptr);
    client_ = Connect(*server_);
    ASSERT_NE(client_, nullptr);
    auto info = client_->GetModelInfo();
    ASSERT_TRUE(info.ok()) << info.status();
    info_ = *info;
  }

  ServerProcess* server_ = nullptr;
  std::unique_ptr<Client> client_;
  v1::ModelInfo info_;
};

TEST_F(StreamingTest, GenerateStreamsWholeCharactersAndCountsTokens) {
  // Text whose continuation is likely to hold multi-byte characters.
  const std::string prompt = "Les élèves français écrivent: «";
  v1::GenerateRequest request;
  request.set_prompt(prompt);
  *request.mutable_sampling() = Greedy(info_, kTokens);
  std::string text;
  std::vector<int32_t> ids;
  int deltas = 0;
  auto end = client_->Generate(request, [&](const v1::TokenDelta& delta) {
    EXPECT_TRUE(IsValidUtf8(delta.text())) << "delta " << deltas << " splits a character";
    text += delta.text();
    ids.insert(ids.end(), delta.token_ids().begin(), delta.token_ids().end());
    ++deltas;
    return true;
  });
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_GE(deltas, 1);
  EXPECT_EQ(end->finish_reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(end->usage().completion_tokens(), kTokens);
  EXPECT_EQ(static_cast<int>(ids.size()), kTokens);

  v1::TokenizeRequest tokenize;
  tokenize.set_text(prompt);
  tokenize.set_add_bos(true);
  auto prompt_ids = client_->Tokenize(tokenize);
  ASSERT_TRUE(prompt_ids.ok()) << prompt_ids.status();
  EXPECT_EQ(end->usage().prompt_tokens(), static_cast<int>(prompt_ids->size()));
  EXPECT_LE(end->usage().cached_tokens(), end->usage().prompt_tokens());
  EXPECT_GT(end->usage().total_time().nanos() + end->usage().total_time().seconds(), 0);

  v1::DetokenizeRequest detokenize;
  detokenize.mutable_token_ids()->Add(ids.begin(), ids.end());
  auto detok = client_->Detokenize(detokenize);
  ASSERT_TRUE(detok.ok()) << detok.status();
  EXPECT_EQ(*detok, text) << "the streamed text is not the text of the streamed tokens";
  EXPECT_EQ(client_->last_served_by(), "e2e-shared");

  // The same seed and prompt give the same tokens (here: greedy, run twice).
  std::string again;
  ASSERT_TRUE(client_->Generate(request, [&](const v1::TokenDelta& d) {
                       again += d.text();
                       return true;
                     }).ok());
  EXPECT_EQ(again, text);
}

TEST_F(StreamingTest, SessionLaterTurnsReuseTheCachedHistory) {
  auto session = ChatSession::Open(*client_, {"You are terse.", std::nullopt, Greedy(info_, kTokens)});
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = (*session)->id();
  EXPECT_EQ(id.size(), 32u);
  int previous_history = 0;
  for (int turn = 0; turn < 3; ++turn) {
    std::string reply;
    auto end = (*session)->Send(absl::StrCat("Name a colour, number ", turn + 1, "."),
                                [&](const v1::TokenDelta& d) {
                                  reply += d.text();
                                  return true;
                                });
    ASSERT_TRUE(end.ok()) << "turn " << turn << ": " << end.status();
    EXPECT_EQ(end->usage().completion_tokens(), kTokens);
    EXPECT_GT(end->usage().prompt_tokens(), previous_history) << "turn " << turn;
    // KV is reused in whole pages (16 tokens by default), and a reply's last token has
    // none yet: the earlier history minus at most two pages must come from the cache.
    // A first turn may hit the prefix cache too (a system header other requests share).
    EXPECT_LT(end->usage().cached_tokens(), end->usage().prompt_tokens());
    if (turn > 0) {
      EXPECT_GT(end->usage().cached_tokens(), 0) << "turn " << turn;
      EXPECT_GE(end->usage().cached_tokens() + 32, previous_history) << "turn " << turn;
    }
    previous_history = end->usage().prompt_tokens() + end->usage().completion_tokens();
    EXPECT_EQ((*session)->history()[turn].assistant, reply);
  }
  EXPECT_EQ((*session)->id(), id);
  auto info = client_->GetSession(id);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->turns(), 3);
  EXPECT_GE(info->history_tokens(), previous_history);

  ASSERT_TRUE((*session)->Rewind().ok());
  EXPECT_EQ((*session)->info().turns(), 2);
  EXPECT_EQ((*session)->history().size(), 2u);
  EXPECT_TRUE(client_->DeleteSession(id).ok());
}

TEST_F(StreamingTest, SessionResumesByIdOnANewStream) {
  std::string id;
  int history = 0;
  {
    auto session = ChatSession::Open(*client_, {"", std::nullopt, Greedy(info_, kTokens)});
    ASSERT_TRUE(session.ok()) << session.status();
    auto end = (*session)->Send("Hello there.", [](const v1::TokenDelta&) { return true; });
    ASSERT_TRUE(end.ok()) << end.status();
    history = end->usage().prompt_tokens() + end->usage().completion_tokens();
    id = (*session)->id();
  }  // the stream closes; the session stays on the replica
  auto resumed = ChatSession::Resume(*client_, id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ((*resumed)->id(), id);
  EXPECT_EQ((*resumed)->info().turns(), 1);
  EXPECT_EQ((*resumed)->info().sampling().max_tokens(), kTokens) << "options kept on resume";
  auto end = (*resumed)->Send("And again.", [](const v1::TokenDelta&) { return true; });
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_GE(end->usage().cached_tokens() + 32, history);
  EXPECT_GT(end->usage().cached_tokens(), 0);
  EXPECT_EQ((*resumed)->rebuilds(), 0);
  EXPECT_TRUE(client_->DeleteSession(id).ok());
  EXPECT_TRUE(absl::IsNotFound(client_->GetSession(id).status()));
}

TEST_F(StreamingTest, ChatSessionResumesTransparentlyAfterTheConnectionBreaks) {
  auto proxy = TcpProxy::Start(server_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto client = Client::Create(absl::StrCat("127.0.0.1:", (*proxy)->port()));
  ASSERT_TRUE(client.ok()) << client.status();
  auto session = ChatSession::Open(**client, {"", std::nullopt, Greedy(info_, kTokens)});
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = (*session)->id();
  auto first = (*session)->Send("Hello.", [](const v1::TokenDelta&) { return true; });
  ASSERT_TRUE(first.ok()) << first.status();
  const int history = first->usage().prompt_tokens() + first->usage().completion_tokens();

  (*proxy)->CutAll();  // the stream dies between turns; the session lives on the replica
  auto second = (*session)->Send("Still there?", [](const v1::TokenDelta&) { return true; });
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*session)->id(), id) << "resumed, not rebuilt";
  EXPECT_EQ((*session)->rebuilds(), 0);
  EXPECT_EQ((*session)->info().turns(), 1) << "the resume saw the first turn";
  EXPECT_GT(second->usage().cached_tokens(), 0);
  EXPECT_GE(second->usage().cached_tokens() + 32, history);
  EXPECT_EQ((*session)->history().size(), 2u);
  (*session)->Close().IgnoreError();
  EXPECT_TRUE(client_->DeleteSession(id).ok());
}

TEST_F(StreamingTest, CancelMidStreamIsCountedAndReturnsEveryPage) {
  auto before = server_->ScrapeMetrics();
  ASSERT_TRUE(before.ok()) << before.status();
  const double cancels_before = MetricValue(*before, "smollm_cancellations_total").value_or(0);
  const std::string cancelled_label = "finish_reason=\"cancelled\"";
  const double cancelled_before =
      MetricValue(*before, "smollm_generations_total", cancelled_label).value_or(0);

  // In-session cancel: the turn ends CANCELLED and keeps its tokens so far.
  auto session = ChatSession::Open(*client_, {"", std::nullopt, Greedy(info_, 2000)});
  ASSERT_TRUE(session.ok()) << session.status();
  int deltas = 0;
  auto end = (*session)->Send("Count to a thousand.", [&](const v1::TokenDelta&) {
    if (++deltas == 1) (*session)->Cancel();
    return true;
  });
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->finish_reason(), v1::FINISH_REASON_CANCELLED);
  EXPECT_LT(end->usage().completion_tokens(), 2000);
  EXPECT_GE(end->usage().completion_tokens(), 1);
  // The stream is still usable after the cancelled turn.
  auto next = (*session)->Send("Stop.", [](const v1::TokenDelta&) { return false; });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->finish_reason(), v1::FINISH_REASON_CANCELLED);
  EXPECT_TRUE(client_->DeleteSession((*session)->id()).ok());

  // Client-side cancel of a Generate stream: CANCELLED.
  v1::GenerateRequest request;
  request.set_prompt("Once upon a time");
  *request.mutable_sampling() = Greedy(info_, 2000);
  auto stopped = client_->Generate(request, [](const v1::TokenDelta&) { return false; });
  EXPECT_TRUE(absl::IsCancelled(stopped.status())) << stopped.status();

  // The client's cancel of the Generate call counts as a cancellation; the two turns
  // stopped in-stream end as cancelled generations.
  EXPECT_GE(AwaitMetric(*server_, "smollm_cancellations_total", "",
                        [&](double v) { return v >= cancels_before + 1; }),
            cancels_before + 1);
  EXPECT_GE(AwaitMetric(*server_, "smollm_generations_total", cancelled_label,
                        [&](double v) { return v >= cancelled_before + 2; }),
            cancelled_before + 2);
  EXPECT_EQ(AwaitMetric(*server_, "smollm_kv_cache_pages", "state=\"used\"",
                        [](double v) { return v == 0; }),
            0)
      << "KV pages still used once idle";
  EXPECT_EQ(AwaitMetric(*server_, "smollm_requests_running", "", [](double v) { return v == 0; }),
            0);
}

TEST_F(StreamingTest, DeadlineEndsTheCallAndTheServerStopsGenerating) {
  ClientOptions options;
  options.timeout = absl::Milliseconds(kSanitizerBuild ? 1500 : 300);
  auto hasty = Connect(*server_, options);
  v1::GenerateRequest request;
  request.set_prompt("Write a long story.");
  *request.mutable_sampling() = Greedy(info_, 2000);  // fits the 64 MiB KV pool
  int deltas = 0;
  auto end = hasty->Generate(request, [&](const v1::TokenDelta&) {
    ++deltas;
    return true;
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(end.status())) << end.status();
  EXPECT_EQ(AwaitMetric(*server_, "smollm_requests_running", "", [](double v) { return v == 0; }),
            0)
      << "the server kept generating past the deadline";
}

}  // namespace
}  // namespace smollm::testing

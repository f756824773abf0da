// Refusals for a full queue say when to retry: the queued prompt-token cap (a call's
// RetryInfo) and a chat turn refused in-stream (ChatError.retry_after).
#include <string>

#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

// The retry delay of a failed call's google.rpc.RetryInfo (zero when it has none).
absl::Duration RetryDelay(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return absl::ZeroDuration();
  for (const auto& any : rich.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      return absl::Seconds(retry.retry_delay().seconds()) +
             absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return absl::ZeroDuration();
}

// A server whose one running slot is held by a paused Generate call (nobody reads it).
class Occupied {
 public:
  explicit Occupied(TestServerOptions options) {
    options.engine.max_running = 1;
    options.token_buffer = 2;
    server_ = std::make_unique<TestServer>(options);
    v1::GenerateRequest request;
    request.set_prompt("Running");
    *request.mutable_sampling() = GreedyExact(300);
    context_ = server_->Context();
    reader_ = server_->stub().Generate(context_.get(), request);
    v1::GenerateResponse first;
    EXPECT_TRUE(reader_->Read(&first));
  }
  ~Occupied() {
    context_->TryCancel();
    v1::GenerateResponse response;
    while (reader_->Read(&response)) {
    }
    reader_->Finish();
  }
  TestServer& server() { return *server_; }
  // Waits (up to 30 s) until `n` requests wait in the engine's queue.
  void AwaitWaiting(int n) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (server_->engine().Stats().waiting < n && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_GE(server_->engine().Stats().waiting, n);
  }

 private:
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader_;
};

// A prompt of about `words` * 2 tokens.
std::string LongPrompt(int words) {
  std::string prompt;
  for (int i = 0; i < words; ++i) prompt += " hello world";
  return prompt;
}

TEST(ServerRefusalTest, QueuedPromptTokenCapIsResourceExhaustedWithRetryInfo) {
  TestServerOptions options;
  options.engine.max_queued_prompt_tokens = 1024;  // the least it may be: the context
  Occupied occupied(options);
  // B's ~600 prompt tokens wait for the slot; C's would take the queue past 1024.
  v1::GenerateRequest request;
  request.set_prompt(LongPrompt(300));
  *request.mutable_sampling() = GreedyExact(2);
  auto b_context = occupied.server().Context();
  auto b = occupied.server().stub().Generate(b_context.get(), request);
  occupied.AwaitWaiting(1);
  auto c_context = occupied.server().Context();
  auto c = occupied.server().stub().Generate(c_context.get(), request);
  const StreamResult refused = ReadGenerate(*c);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();
  EXPECT_NE(refused.status.error_message().find("prompt tokens"), std::string::npos)
      << refused.status.error_message();
  EXPECT_GT(RetryDelay(refused.status), absl::ZeroDuration());
  b_context->TryCancel();
  ReadGenerate(*b);
}

TEST(ServerRefusalTest, ChatTurnRefusedInStreamCarriesRetryAfter) {
  TestServerOptions options;
  options.engine.max_queued_requests = 1;
  Occupied occupied(options);
  ChatClient chat(occupied.server());
  ASSERT_TRUE(chat.Open(v1::OpenSession()).has_session());
  // B fills the one queue place; the turn finds the queue full.
  v1::GenerateRequest request;
  request.set_prompt("Waiting");
  *request.mutable_sampling() = GreedyExact(2);
  auto b_context = occupied.server().Context();
  auto b = occupied.server().stub().Generate(b_context.get(), request);
  occupied.AwaitWaiting(1);
  const v1::ChatResponse refused = chat.Turn("Hello", GreedyExact(2));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), 8);  // RESOURCE_EXHAUSTED
  ASSERT_TRUE(refused.error().has_retry_after());
  EXPECT_GT(absl::Seconds(refused.error().retry_after().seconds()) +
                absl::Nanoseconds(refused.error().retry_after().nanos()),
            absl::ZeroDuration());
  // Other in-stream errors carry none.
  v1::ChatRequest empty;
  const v1::ChatResponse bad = chat.Send(empty);
  ASSERT_TRUE(bad.has_error());
  EXPECT_FALSE(bad.error().has_retry_after());
  b_context->TryCancel();
  ReadGenerate(*b);
  EXPECT_TRUE(chat.Close().ok());
}

}  // namespace
}  // namespace smollm::service::testing

// The status codes of the API, each provoked on purpose, with their details.
#include <string>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

grpc::Status Generate(TestServer& server, const v1::GenerateRequest& request,
                      const std::string& key = "") {
  auto context = server.Context(key);
  auto reader = server.stub().Generate(context.get(), request);
  return ReadGenerate(*reader).status;
}

TEST(ServerErrorsTest, InvalidArgumentAndOutOfRangeNameTheField) {
  TestServer server;
  struct Case {
    std::function<void(v1::GenerateRequest&)> edit;
    grpc::StatusCode code;
    std::string field;
  };
  const Case cases[] = {
      {[](v1::GenerateRequest& r) { r.set_prompt(""); }, grpc::StatusCode::INVALID_ARGUMENT,
       "prompt"},
      {[](v1::GenerateRequest& r) { r.clear_input(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "input"},
      {[](v1::GenerateRequest& r) { r.set_prompt(std::string(5000, 'a')); },
       grpc::StatusCode::INVALID_ARGUMENT, "prompt"},
      {[](v1::GenerateRequest& r) { r.mutable_sampling()->set_top_p(NAN); },
       grpc::StatusCode::INVALID_ARGUMENT, "sampling.top_p"},
      {[](v1::GenerateRequest& r) { r.mutable_sampling()->set_temperature(-1); },
       grpc::StatusCode::INVALID_ARGUMENT, "sampling.temperature"},
      {[](v1::GenerateRequest& r) { r.set_priority(11); }, grpc::StatusCode::INVALID_ARGUMENT,
       "priority"},
      {[](v1::GenerateRequest& r) { r.set_session_id("not-a-session"); },
       grpc::StatusCode::INVALID_ARGUMENT, "session_id"},
      {[](v1::GenerateRequest& r) { r.mutable_logprobs()->set_top_logprobs(21); },
       grpc::StatusCode::INVALID_ARGUMENT, "logprobs.top_logprobs"},
      {[](v1::GenerateRequest& r) { r.mutable_sampling()->set_max_tokens(5000); },
       grpc::StatusCode::OUT_OF_RANGE, "sampling.max_tokens"},
  };
  for (const Case& c : cases) {
    v1::GenerateRequest request;
    request.set_prompt("Hello");
    c.edit(request);
    const grpc::Status status = Generate(server, request);
    EXPECT_EQ(status.error_code(), c.code) << c.field << ": " << status.error_message();
    EXPECT_EQ(BadRequestField(status), c.field);
  }
}

TEST(ServerErrorsTest, NotFoundForUnknownSessions) {
  TestServer server;
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  v1::GenerateRequest request;
  request.set_prompt("Hello");
  request.set_session_id(unknown);
  EXPECT_EQ(Generate(server, request).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::DeleteSessionRequest del;
  del.set_session_id(unknown);
  v1::DeleteSessionResponse response;
  auto context = server.Context();
  EXPECT_EQ(server.stub().DeleteSession(context.get(), del, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(ServerErrorsTest, ResourceExhaustedWithRetryInfo) {
  TestServerOptions options;
  options.engine.max_running = 1;
  options.engine.max_queued_requests = 1;
  options.token_buffer = 2;
  TestServer server(options);
  // A runs (and pauses: nobody reads it); B and C queue for the one slot, so whichever
  // reaches the engine second finds the queue full.
  v1::GenerateRequest long_request;
  long_request.set_prompt("Running");
  *long_request.mutable_sampling() = GreedyExact(300);
  auto a_context = server.Context();
  auto a = server.stub().Generate(a_context.get(), long_request);
  v1::GenerateResponse first;
  ASSERT_TRUE(a->Read(&first));
  v1::GenerateRequest short_request;
  short_request.set_prompt("Waiting");
  *short_request.mutable_sampling() = GreedyExact(2);
  grpc::Status b, c;
  std::thread tb([&] { b = Generate(server, short_request); });
  std::thread tc([&] { c = Generate(server, short_request); });
  // Let both reach the engine, then free the slot.
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (server.engine().Stats().waiting < 1 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::SleepFor(absl::Milliseconds(200));
  a_context->TryCancel();
  tb.join();
  tc.join();
  const grpc::Status& exhausted =
      b.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ? b : c;
  const grpc::Status& served = &exhausted == &b ? c : b;
  EXPECT_EQ(exhausted.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << b.error_message() << " / " << c.error_message();
  EXPECT_TRUE(served.ok()) << served.error_message();
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(exhausted.error_details()));
  bool has_retry = false;
  for (const auto& any : rich.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) has_retry = retry.retry_delay().seconds() > 0 || retry.retry_delay().nanos() > 0;
  }
  EXPECT_TRUE(has_retry);
}

TEST(ServerErrorsTest, ApiKeysAndSessionOwnership) {
  TestServerOptions options;
  options.api_keys = {"alpha-key-0123456789", "beta-key-9876543210"};
  TestServer server(options);
  v1::ModelInfo info;
  {
    auto context = server.Context();
    EXPECT_EQ(server.stub().GetModelInfo(context.get(), {}, &info).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto context = server.Context("wrong-key-0000000000");
    EXPECT_EQ(server.stub().GetModelInfo(context.get(), {}, &info).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto context = server.Context("alpha-key-0123456789");
    EXPECT_TRUE(server.stub().GetModelInfo(context.get(), {}, &info).ok());
  }
  ChatClient chat(server, "alpha-key-0123456789");
  const v1::ChatResponse opened = chat.Open({});
  ASSERT_TRUE(opened.has_session()) << opened.DebugString();
  EXPECT_TRUE(chat.Close().ok());
  v1::GetSessionRequest get;
  get.set_session_id(opened.session().session_id());
  v1::SessionInfo session;
  {
    auto context = server.Context("beta-key-9876543210");
    EXPECT_EQ(server.stub().GetSession(context.get(), get, &session).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    auto context = server.Context("alpha-key-0123456789");
    EXPECT_TRUE(server.stub().GetSession(context.get(), get, &session).ok());
  }
  v1::GenerateRequest turn;
  turn.set_prompt("Hi");
  turn.set_session_id(opened.session().session_id());
  EXPECT_EQ(Generate(server, turn, "beta-key-9876543210").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Generate(server, turn).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace smollm::service::testing

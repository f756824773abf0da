// Drain: health NOT_SERVING, new calls UNAVAILABLE, running streams finish or are ended
// with a resumable UNAVAILABLE at the drain timeout; before the model is loaded, calls are
// UNAVAILABLE.
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

TEST(ServerDrainTest, RunningStreamFinishesWhileNewCallsAreRefused) {
  TestServerOptions options;
  options.token_buffer = 2;
  TestServer server(options);
  EXPECT_EQ(server.HealthStatus(""), 1);
  EXPECT_EQ(server.HealthStatus("smollm.v1.Inference"), 1);
  v1::GenerateRequest request;
  request.set_prompt("Draining");
  *request.mutable_sampling() = GreedyExact(12);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), request);
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));  // running, and paused: nobody reads on

  ChatClient idle_chat(server);
  ASSERT_TRUE(idle_chat.Open({}).has_session());

  std::thread drain([&] { server.server().Shutdown(absl::Seconds(60)); });
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (server.HealthStatus("") != 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(server.HealthStatus(""), 2);
  EXPECT_EQ(server.HealthStatus("smollm.v1.Inference"), 2);
  auto refused_context = server.Context();
  auto refused = server.stub().Generate(refused_context.get(), request);
  const grpc::Status status = ReadGenerate(*refused).status;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("draining"), std::string::npos);
  // The idle session stream is ended at once, resumable elsewhere.
  EXPECT_EQ(idle_chat.Close().error_code(), grpc::StatusCode::UNAVAILABLE);
  // The running generation completes.
  StreamResult rest = ReadGenerate(*reader);
  EXPECT_TRUE(rest.status.ok()) << rest.status.error_message();
  EXPECT_EQ(rest.end.finish_reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(rest.end.usage().completion_tokens(), 12);
  drain.join();
}

TEST(ServerDrainTest, TimeoutEndsStreamsWithResumableUnavailable) {
  TestServerOptions options;
  options.token_buffer = 2;
  TestServer server(options);
  v1::GenerateRequest request;
  request.set_prompt("Never ends");
  *request.mutable_sampling() = GreedyExact(800);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), request);
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  server.server().Shutdown(absl::Milliseconds(200));
  const StreamResult rest = ReadGenerate(*reader);
  EXPECT_EQ(rest.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(rest.status.error_message().find("resumed"), std::string::npos)
      << rest.status.error_message();
  EXPECT_EQ(server.engine().Stats().kv_pages_used, 0);
}

}  // namespace
}  // namespace smollm::service::testing

namespace smollm::service::testing {
namespace {

TEST(ServerLoadingTest, NotServingAndUnavailableUntilReady) {
  ServerOptions options;
  options.model_path = "loading.gguf";
  options.host = "127.0.0.1";
  options.port = 0;
  const ApiKeys keys = ApiKeys::FromKeys({});
  CallObserver observer(nullptr);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, keys, observer);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Inference::NewStub(channel);
  EXPECT_EQ(HealthStatus(channel, ""), 2);
  EXPECT_EQ(HealthStatus(channel, "smollm.v1.Inference"), 2);
  v1::ModelInfo info;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  const grpc::Status status = stub->GetModelInfo(&context, {}, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("loading"), std::string::npos);
  (*server)->SetReady(std::make_unique<ServingContext>());
  grpc::ClientContext again;
  again.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  EXPECT_TRUE(stub->GetModelInfo(&again, {}, &info).ok());
  EXPECT_EQ(HealthStatus(channel, ""), 1);
}

}  // namespace
}  // namespace smollm::service::testing

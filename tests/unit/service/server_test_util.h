// An in-process smollm server over the real test model, reached through a real channel on
// 127.0.0.1, for the server tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "service/auth.h"
#include "service/call_observer.h"
#include "service/server.h"
#include "smollm/v1/inference.grpc.pb.h"
#include "tests/test_support.h"

namespace smollm::service::testing {

namespace v1 = ::smollm::v1;

inline const runtime::Model* TestModel() {
  static const runtime::Model* model = [] {
    auto opened = runtime::Model::Open(smollm::testing::TestModelPath());
    return opened.ok() ? opened->release() : nullptr;
  }();
  return model;
}

struct TestServerOptions {
  std::vector<std::string> api_keys;
  runtime::EngineOptions engine;
  int token_buffer = 64;
  ServiceMetrics* metrics = nullptr;  // the observer reports here when set (must outlive)
  TestServerOptions() {
    engine.kv_cache_bytes = uint64_t{32} << 20;
    engine.max_tokens_per_step = 256;
    engine.max_running = 8;
    engine.prefill_chunk = 128;
    engine.context_length = 1024;
  }
};

// A server on a free port with its own engine; torn down (drained) in the destructor.
class TestServer {
 public:
  explicit TestServer(const TestServerOptions& options = TestServerOptions());
  ~TestServer();

  runtime::Engine& engine() { return *engine_; }
  Server& server() { return *server_; }
  v1::Inference::Stub& stub() { return *stub_; }
  int port() const { return server_->port(); }
  // A fresh context with `key` (if any) as a bearer token.
  std::unique_ptr<grpc::ClientContext> Context(const std::string& key = "") const;
  // grpc.health.v1.Health/Check for `service`: 1 SERVING, 2 NOT_SERVING, -1 on error.
  int HealthStatus(const std::string& service);

 private:
  ApiKeys keys_;
  CallObserver observer_{nullptr};
  runtime::ThreadPool pool_{2};
  std::unique_ptr<runtime::CpuBackend> backend_;
  std::unique_ptr<runtime::Engine> engine_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

// Greedy sampling of `max_tokens` tokens with the end tokens banned (exact lengths).
v1::SamplingParams GreedyExact(int max_tokens);

// Reads a Generate stream to its end: the concatenated text and ids, the end message.
struct StreamResult {
  std::string text;
  std::vector<int32_t> token_ids;
  v1::TurnEnd end;
  int messages = 0;
  grpc::Status status;
};
StreamResult ReadGenerate(grpc::ClientReader<v1::GenerateResponse>& reader);

// Client side of a Chat stream.
class ChatClient {
 public:
  ChatClient(TestServer& server, const std::string& key = "");
  // Sends `request` and reads until the reply it ends with: session, turn_end or error.
  v1::ChatResponse Send(const v1::ChatRequest& request, std::string* text = nullptr);
  v1::ChatResponse Open(const v1::OpenSession& open) {
    v1::ChatRequest r;
    *r.mutable_open() = open;
    return Send(r);
  }
  v1::ChatResponse Turn(const std::string& content, const v1::SamplingParams& sampling,
                        std::string* text = nullptr);
  grpc::ClientReaderWriter<v1::ChatRequest, v1::ChatResponse>& stream() { return *stream_; }
  grpc::ClientContext& context() { return *context_; }
  grpc::Status Close();  // half-close, read what is left, the status

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ChatRequest, v1::ChatResponse>> stream_;
};

// grpc.health.v1.Health/Check over `channel`: 1 SERVING, 2 NOT_SERVING, -1 on error.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// The google.rpc field violation of a failed call ("" when none).
std::string BadRequestField(const grpc::Status& status);

}  // namespace smollm::service::testing

// The in-process test server and its client helpers.
#include "tests/unit/service/server_test_util.h"

#include <limits>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace smollm::service::testing {

TestServer::TestServer(const TestServerOptions& options)
    : keys_(ApiKeys::FromKeys(options.api_keys)) {
  observer_.SetMetrics(options.metrics);
  const runtime::Model* model = TestModel();
  if (model == nullptr) {
    ADD_FAILURE() << "no test model";
    return;
  }
  const runtime::ModelConfig& c = model->config();
  backend_ = std::make_unique<runtime::CpuBackend>(pool_, std::max(c.d_model, c.d_ffn));
  auto engine = runtime::Engine::Create(*model, *backend_, options.engine);
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return;
  engine_ = *std::move(engine);
  ServerOptions server_options;
  server_options.model_path = model->path();
  server_options.host = "127.0.0.1";
  server_options.port = 0;
  server_options.replica_name = "test-replica";
  server_options.token_buffer = options.token_buffer;
  auto server = Server::Start(server_options, keys_, observer_);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return;
  server_ = *std::move(server);
  auto serving = std::make_unique<ServingContext>();
  serving->model = model;
  serving->engine = engine_.get();
  serving->limits.vocab_size = c.vocab_size;
  serving->limits.context_length = engine_->scheduler_config().context_length;
  serving->limits.max_prompt_bytes = 4096;
  serving->model_info = BuildModelInfo(*model, serving->limits, "cpu", 256, 1024,
                                       absl::Minutes(30));
  server_->SetReady(std::move(serving));
  channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                 grpc::InsecureChannelCredentials());
  stub_ = v1::Inference::NewStub(channel_);
}

TestServer::~TestServer() {
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  server_.reset();
  engine_.reset();
}

std::unique_ptr<grpc::ClientContext> TestServer::Context(const std::string& key) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  // A hang guard, not a speed check: TSan builds on a busy 2-core host run a long chat
  // test for over two minutes.
  const int seconds = smollm::testing::kSanitizerBuild ? 480 : 120;
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

int TestServer::HealthStatus(const std::string& service) {
  return testing::HealthStatus(channel_, service);
}

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  // grpc.health.v1.HealthCheckRequest{service = 1} by hand: no generated health stubs.
  std::string request;
  request.push_back(0x0A);
  request.push_back(static_cast<char>(service.size()));
  request += service;
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = generic.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                       request_buffer, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok) || !ok || !status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1 (varint)}; an empty message is UNKNOWN (0).
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return bytes.empty() ? 0 : -1;
}

v1::SamplingParams GreedyExact(int max_tokens) {
  v1::SamplingParams p;
  p.set_temperature(0);
  p.set_max_tokens(max_tokens);
  const runtime::BpeTokenizer& tok = TestModel()->tokenizer();
  for (runtime::TokenId t : {tok.eos_id(), tok.eot_id()}) {
    if (t >= 0) (*p.mutable_logit_bias())[t] = -std::numeric_limits<float>::infinity();
  }
  return p;
}

StreamResult ReadGenerate(grpc::ClientReader<v1::GenerateResponse>& reader) {
  StreamResult out;
  v1::GenerateResponse response;
  while (reader.Read(&response)) {
    ++out.messages;
    out.text += response.delta().text();
    out.token_ids.insert(out.token_ids.end(), response.delta().token_ids().begin(),
                         response.delta().token_ids().end());
    if (response.has_end()) out.end = response.end();
  }
  out.status = reader.Finish();
  return out;
}

ChatClient::ChatClient(TestServer& server, const std::string& key)
    : context_(server.Context(key)), stream_(server.stub().Chat(context_.get())) {}

v1::ChatResponse ChatClient::Send(const v1::ChatRequest& request, std::string* text) {
  EXPECT_TRUE(stream_->Write(request));
  v1::ChatResponse response;
  while (stream_->Read(&response)) {
    if (response.has_delta()) {
      if (text != nullptr) *text += response.delta().text();
      continue;
    }
    return response;
  }
  return v1::ChatResponse();
}

v1::ChatResponse ChatClient::Turn(const std::string& content,
                                  const v1::SamplingParams& sampling, std::string* text) {
  v1::ChatRequest r;
  r.mutable_turn()->set_content(content);
  *r.mutable_turn()->mutable_sampling() = sampling;
  return Send(r, text);
}

grpc::Status ChatClient::Close() {
  stream_->WritesDone();
  v1::ChatResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  return stream_->Finish();
}

std::string BadRequestField(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return "";
  for (const auto& any : rich.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

}  // namespace smollm::service::testing

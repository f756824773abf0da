// Implementation of the C++ client: channel setup, metadata, Generate and the unary calls.
#include "service/client/client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "service/client/grpc_status.h"

namespace smollm::service::client {

const char* ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case ServingStatus::kUnknown:
      break;
  }
  return "UNKNOWN";
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const std::string& target,
                                                        ClientOptions options) {
  if (target.empty()) return absl::InvalidArgumentError("target: empty (want host:port)");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certs;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  // Replies are small, but a long Detokenize or a client that asks for many logprobs
  // may pass gRPC's 4 MiB default; the server bounds what it sends.
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(target, credentials, args);
  return std::unique_ptr<Client>(new Client(std::move(channel), std::move(options)));
}

Client::Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::Inference::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> Client::NewContext(absl::Duration timeout,
                                                        const std::string& session_id) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!options_.api_key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  if (!session_id.empty()) context->AddMetadata("x-session-id", session_id);
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  return context;
}

void Client::NoteServedBy(const grpc::ClientContext& context) {
  const auto& metadata = context.GetServerInitialMetadata();
  auto it = metadata.find("x-served-by");
  if (it == metadata.end()) return;
  absl::MutexLock lock(&mu_);
  served_by_.assign(it->second.data(), it->second.size());
}

std::string Client::last_served_by() const {
  absl::MutexLock lock(&mu_);
  return served_by_;
}

absl::StatusOr<v1::TurnEnd> Client::Generate(const v1::GenerateRequest& request,
                                             const DeltaCallback& on_delta) {
  auto context = NewContext(options_.timeout, request.session_id());
  auto reader = stub_->Generate(context.get(), request);
  v1::GenerateResponse response;
  std::optional<v1::TurnEnd> end;
  bool stopped = false;
  bool first = true;
  while (reader->Read(&response)) {
    if (first) NoteServedBy(*context);
    first = false;
    if (response.has_delta() && !on_delta(response.delta())) {
      stopped = true;
      context->TryCancel();
      break;
    }
    if (response.has_end()) end = response.end();
  }
  absl::Status status = FromGrpc(reader->Finish());
  if (stopped) return absl::CancelledError("Generate: stopped by the caller");
  if (!status.ok()) return status;
  if (!end.has_value()) return absl::InternalError("Generate: the stream ended without its end");
  return *end;
}

namespace {

// Runs one unary call with a fresh context and converts its status. `session_id` (may be
// empty) goes out as `x-session-id` so that a load balancer routes the call to the
// replica holding the session.
template <typename Response, typename Call>
absl::StatusOr<Response> Unary(Client& client, absl::Duration timeout, Call call,
                               const std::string& session_id = "") {
  auto context = client.NewContext(timeout, session_id);
  Response response;
  grpc::Status status = call(context.get(), &response);
  client.NoteServedBy(*context);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

}  // namespace

absl::StatusOr<std::vector<int32_t>> Client::Tokenize(const v1::TokenizeRequest& request) {
  auto response = Unary<v1::TokenizeResponse>(
      *this, options_.timeout, [&](grpc::ClientContext* c, v1::TokenizeResponse* r) {
        return stub_->Tokenize(c, request, r);
      });
  if (!response.ok()) return response.status();
  return std::vector<int32_t>(response->token_ids().begin(), response->token_ids().end());
}

absl::StatusOr<std::string> Client::Detokenize(const v1::DetokenizeRequest& request) {
  auto response = Unary<v1::DetokenizeResponse>(
      *this, options_.timeout, [&](grpc::ClientContext* c, v1::DetokenizeResponse* r) {
        return stub_->Detokenize(c, request, r);
      });
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_text());
}

absl::StatusOr<v1::ModelInfo> Client::GetModelInfo() {
  return Unary<v1::ModelInfo>(*this, options_.timeout,
                              [&](grpc::ClientContext* c, v1::ModelInfo* r) {
                                return stub_->GetModelInfo(c, v1::GetModelInfoRequest(), r);
                              });
}

absl::StatusOr<v1::SessionInfo> Client::GetSession(const std::string& session_id) {
  v1::GetSessionRequest request;
  request.set_session_id(session_id);
  return Unary<v1::SessionInfo>(*this, options_.timeout,
                                [&](grpc::ClientContext* c, v1::SessionInfo* r) {
                                  return stub_->GetSession(c, request, r);
                                },
                                session_id);
}

absl::Status Client::DeleteSession(const std::string& session_id) {
  v1::DeleteSessionRequest request;
  request.set_session_id(session_id);
  return Unary<v1::DeleteSessionResponse>(
             *this, options_.timeout,
             [&](grpc::ClientContext* c, v1::DeleteSessionResponse* r) {
               return stub_->DeleteSession(c, request, r);
             },
             session_id)
      .status();
}

absl::StatusOr<ServingStatus> Client::Health(const std::string& service) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  auto response = Unary<grpc::health::v1::HealthCheckResponse>(
      *this, options_.timeout,
      [&](grpc::ClientContext* c, grpc::health::v1::HealthCheckResponse* r) {
        return health->Check(c, request, r);
      });
  if (!response.ok()) return response.status();
  switch (response->status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return ServingStatus::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return ServingStatus::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return ServingStatus::kServiceUnknown;
    default:
      return ServingStatus::kUnknown;
  }
}

}  // namespace smollm::service::client

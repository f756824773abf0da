// Server: ServerBuilder setup (keepalive, limits, TLS, health, reflection) and drain.
#include "service/server.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "service/json_log.h"
#include "service/status_map.h"

namespace smollm::service {
namespace {

// Linking gRPC's reflection library registers its plugin with every ServerBuilder; this
// option takes it out again when --reflection=false.
class DropReflectionPlugin final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
      return p->name() == "proto_server_reflection";
    });
  }
};

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.tls_cert.empty()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadFile(o.tls_cert, "tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(o.tls_key, "tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

void SetHealth(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(std::string(kHealthServiceName), serving);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      const ApiKeys& keys,
                                                      CallObserver& observer) {
  std::unique_ptr<Server> server(new Server());
  ServiceConfig config;
  config.replica_name = options.replica_name;
  config.session_idle_ttl = options.session_idle_ttl;
  config.token_buffer = options.token_buffer;
  server->service_ = std::make_unique<InferenceService>(config, keys, observer);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  if (!options.reflection) builder.SetOption(std::make_unique<DropReflectionPlugin>());
  builder.AddListeningPort(JoinHostPort(options.host, options.port), *credentials,
                           &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  // Clients may ping idle connections (long-lived Chat streams wait between turns).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ",
                                               JoinHostPort(options.host, options.port),
                                               " (address in use or not local?)"));
  }
  SetHealth(*server->server_, false);
  return server;
}

Server::~Server() {
  if (serving_ != nullptr) {
    Shutdown(absl::ZeroDuration());
    return;
  }
  // Never served (startup failed): nothing to drain, nothing to report.
  absl::MutexLock lock(&mu_);
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now());
}

void Server::SetReady(std::unique_ptr<ServingContext> serving) {
  serving_ = std::move(serving);
  service_->SetReady(serving_.get());
  SetHealth(*server_, true);
}

void Server::Shutdown(absl::Duration drain_timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || server_ == nullptr) return;  // done, or never started
    shut_down_ = true;
  }
  const absl::Time start = absl::Now();
  // New calls are refused before health reports NOT_SERVING, so that a client who saw
  // NOT_SERVING cannot still get a call in; all health entries change at once.
  service_->BeginDrain();
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->Shutdown();
  }
  LogLine(LogLevel::kInfo, "draining")
      .Int("live_streams", static_cast<int64_t>(service_->live_streams()))
      .Millis("drain_timeout_ms", drain_timeout)
      .Emit();
  runtime::Engine* engine = serving_ != nullptr ? serving_->engine : nullptr;
  bool finished = true;
  if (engine != nullptr) {
    engine->Drain();
    finished = engine->WaitUntilIdle(drain_timeout);
  }
  if (!finished) {
    service_->AbortAll(WithReason(
        absl::UnavailableError("this replica shut down before the generation finished; the "
                               "session can be resumed on another replica (rebuild it from "
                               "its history)"),
        "DRAINING"));
    if (engine != nullptr) engine->WaitUntilIdle(absl::Seconds(10));
  }
  // Streams whose generation ended write their last message and finish.
  const absl::Time streams_deadline = absl::Now() + absl::Seconds(5);
  while (service_->live_streams() > 0 && absl::Now() < streams_deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  LogLine(LogLevel::kInfo, "drained")
      .Bool("in_time", finished)
      .Millis("duration_ms", absl::Now() - start)
      .Emit();
}

void Server::Wait() { server_->Wait(); }

}  // namespace smollm::service

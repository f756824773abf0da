// The C++ client of the smollm.v1 API: streaming Generate, the unary calls and health.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "smollm/v1/inference.grpc.pb.h"

namespace smollm::service::client {

namespace v1 = ::smollm::v1;

struct ClientOptions {
  // Sent as `authorization: Bearer <api_key>` on every call; empty sends none.
  std::string api_key;
  // TLS to the server, trusting `tls_root_certs` (PEM) or, when empty, the system roots.
  // Off: plaintext (loopback, or a mesh that adds TLS).
  bool tls = false;
  std::string tls_root_certs;
  // Deadline of each unary call and each Generate stream, from its start. A Chat stream
  // lives across turns and has none: stop a turn with ChatSession::Cancel.
  absl::Duration timeout = absl::InfiniteDuration();
};

// Receives each delta of a stream on the calling thread, in order. Returns false to stop:
// the call is then cancelled and returns CANCELLED.
using DeltaCallback = std::function<bool(const v1::TokenDelta& delta)>;

// What grpc.health.v1 answers.
enum class ServingStatus { kUnknown, kServing, kNotServing, kServiceUnknown };
const char* ServingStatusName(ServingStatus status);  // "SERVING", ...

// Thread-safe: calls may run concurrently from many threads (one channel, HTTP/2
// multiplexed). Every error is the server's gRPC status as an absl::Status with the same
// code and message; the google.rpc details ride along as a payload (grpc_status.h).
class Client {
 public:
  // `target` is a gRPC target ("localhost:50051", "dns:///svc:50051",
  // "ipv4:127.0.0.1:1,127.0.0.1:2"). Connects lazily: a bad or down server shows up as
  // UNAVAILABLE on the first call. InvalidArgument for an empty target.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const std::string& target,
                                                         ClientOptions options = {});

  // Streams one completion: every delta goes to `on_delta`, then the final TurnEnd is
  // returned. A stream that ends without its TurnEnd is INTERNAL.
  absl::StatusOr<v1::TurnEnd> Generate(const v1::GenerateRequest& request,
                                       const DeltaCallback& on_delta);

  absl::StatusOr<std::vector<int32_t>> Tokenize(const v1::TokenizeRequest& request);
  absl::StatusOr<std::string> Detokenize(const v1::DetokenizeRequest& request);
  absl::StatusOr<v1::ModelInfo> GetModelInfo();
  absl::StatusOr<v1::SessionInfo> GetSession(const std::string& session_id);
  absl::Status DeleteSession(const std::string& session_id);
  // grpc.health.v1.Health/Check of `service` ("" = the whole server).
  absl::StatusOr<ServingStatus> Health(const std::string& service = "");

  // The `x-served-by` of the last call that received initial metadata ("" before any).
  std::string last_served_by() const;

  // ---- for ChatSession ----
  // A context with the API key, the deadline (`timeout`, infinite = none) and, when
  // `session_id` is set, the `x-session-id` routing metadata.
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Duration timeout,
                                                  const std::string& session_id) const;
  v1::Inference::Stub& stub() { return *stub_; }
  // Records the `x-served-by` of a call whose initial metadata arrived.
  void NoteServedBy(const grpc::ClientContext& context);

 private:
  Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options);

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> stub_;
  mutable absl::Mutex mu_;
  std::string served_by_ ABSL_GUARDED_BY(mu_);
};

}  // namespace smollm::service::client

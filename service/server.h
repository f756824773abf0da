// The gRPC server: builder settings, health, reflection, TLS, and the drain sequence.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/auth.h"
#include "service/call_observer.h"
#include "service/inference_service.h"
#include "service/server_options.h"
#include "service/serving_context.h"

namespace smollm::service {

// The health service names this server answers for (besides "").
inline constexpr absl::string_view kHealthServiceName = "smollm.v1.Inference";

class Server {
 public:
  // Binds options.host:options.port and starts serving at once: health NOT_SERVING and
  // every call UNAVAILABLE ("loading") until SetReady. `keys` and `observer` must outlive
  // the server. Unavailable when the address cannot be bound; InvalidArgument /
  // NotFound for unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       const ApiKeys& keys,
                                                       CallObserver& observer);
  ~Server();  // Shutdown(0) if it was not called (quietly if it never served)

  int port() const { return port_; }
  InferenceService& service() { return *service_; }

  // Serves `serving` (whose model and engine must outlive the server): health SERVING.
  void SetReady(std::unique_ptr<ServingContext> serving);

  // The drain sequence, in order: health NOT_SERVING for "" and kHealthServiceName; new
  // calls UNAVAILABLE ("draining; retry on another replica"); Chat streams with no turn
  // running end (UNAVAILABLE); Engine::Drain; running generations get `drain_timeout` to
  // finish; what is left is cancelled and ends with UNAVAILABLE saying the session can be
  // resumed elsewhere; then the gRPC server shuts down. Idempotent; thread-safe.
  void Shutdown(absl::Duration drain_timeout);
  // Blocks until Shutdown completed.
  void Wait();

 private:
  Server() = default;

  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ServingContext> serving_;
  int port_ = 0;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace smollm::service

// The smollm.v1.Inference callback service: admission (loading, draining, API keys),
// the live-stream registry for drain, and the handlers that create one reactor per call.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/auth.h"
#include "service/call_observer.h"
#include "service/serving_context.h"
#include "service/session_book.h"
#include "service/work_queue.h"
#include "smollm/v1/inference.grpc.pb.h"

namespace smollm::service {

// A streaming call the drain sequence can reach. Both methods are thread-safe and must
// not block; a stream calls Unregister in OnDone before it is deleted.
class LiveStream {
 public:
  virtual ~LiveStream() = default;
  // Draining began: a stream with nothing running ends now (UNAVAILABLE); one with a
  // generation running ends after it.
  virtual void Drain() = 0;
  // Ends the stream with `status`, cancelling whatever it runs in the engine.
  virtual void Abort(const absl::Status& status) = 0;
};

struct ServiceConfig {
  std::string replica_name = "localhost";
  absl::Duration session_idle_ttl = absl::Minutes(30);
  int work_threads = 4;  // threads for work that may wait on the engine (a step)
  int token_buffer = 64;  // tokens a stream buffers before its sequence pauses
};

// What a call learns when it is admitted.
struct Admission {
  const ServingContext* serving = nullptr;
  std::string principal;
};

class InferenceService final : public v1::Inference::CallbackService {
 public:
  // `keys` and `observer` must outlive the service.
  InferenceService(ServiceConfig config, const ApiKeys& keys, CallObserver& observer);
  ~InferenceService() override;

  // Publishes the loaded model; calls before it get UNAVAILABLE ("loading"). Once.
  void SetReady(const ServingContext* serving);
  // New calls get UNAVAILABLE from now on, and every live stream is told to drain.
  void BeginDrain();
  bool draining() const { return draining_.load(); }
  // Ends every live stream with `status`.
  void AbortAll(const absl::Status& status);
  size_t live_streams() const;

  // ---- for the reactors ----
  // Adds x-served-by to the initial metadata, then checks: ready (UNAVAILABLE while
  // loading), not draining (UNAVAILABLE), and the API key (UNAUTHENTICATED).
  absl::StatusOr<Admission> Admit(grpc::CallbackServerContext* context);
  CallObserver& observer() { return observer_; }
  SessionBook& book() { return book_; }
  WorkQueue& work() { return *work_; }
  int token_buffer() const { return config_.token_buffer; }
  void Register(LiveStream* stream);
  void Unregister(LiveStream* stream);

  // ---- handlers ----
  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerBidiReactor<v1::ChatRequest, v1::ChatResponse>* Chat(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(grpc::CallbackServerContext* context,
                                       const v1::DetokenizeRequest* request,
                                       v1::DetokenizeResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::SessionInfo* response) override;
  grpc::ServerUnaryReactor* DeleteSession(grpc::CallbackServerContext* context,
                                          const v1::DeleteSessionRequest* request,
                                          v1::DeleteSessionResponse* response) override;

 private:
  const ServiceConfig config_;
  const ApiKeys& keys_;
  CallObserver& observer_;
  SessionBook book_;
  std::atomic<const ServingContext*> serving_{nullptr};
  std::atomic<bool> draining_{false};
  mutable absl::Mutex streams_mu_;
  absl::flat_hash_set<LiveStream*> streams_ ABSL_GUARDED_BY(streams_mu_);
  std::unique_ptr<WorkQueue> work_;
};

// The call's gRPC deadline, or nullopt when it has none.
std::optional<absl::Time> CallDeadline(const grpc::CallbackServerContext& context);

// The value of request metadata `key` (empty when absent).
std::string MetadataValue(const grpc::CallbackServerContext& context, absl::string_view key);

}  // namespace smollm::service

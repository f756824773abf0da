// Generate: one server-streaming call, one engine request, streamed through a mailbox.
#pragma once

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "service/call_observer.h"
#include "service/inference_service.h"
#include "service/request_builder.h"
#include "service/token_mailbox.h"

namespace smollm::service {

// Lifecycle (STYLE §6.6): the constructor admits the call and posts the request's
// preparation (validation, tokenizing, session lookup) to the service's work queue,
// which submits it to the engine. The engine's pushes wake Pump, the single writer: one
// write in flight, deltas coalescing in the sink meanwhile. The final event becomes the
// last message (`end`) and Finish(OK), or Finish(the mapped error). OnCancel (client
// gone, deadline) cancels the engine request and finishes with CANCELLED once no write
// or preparation is in flight and the engine's final event (which the cancel brings
// within a step) was read and reported: every generation reports its end exactly once.
// Finish is called exactly once; OnDone deletes.
class GenerateReactor final : public grpc::ServerWriteReactor<v1::GenerateResponse>,
                              public LiveStream {
 public:
  GenerateReactor(InferenceService& service, grpc::CallbackServerContext* context,
                  const v1::GenerateRequest* request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void Drain() override {}  // a running generation finishes
  void Abort(const absl::Status& status) override;

 private:
  void Prepare(Admission admission);
  void Pump();
  // Reports the engine's final event (metrics, session book) and marks the engine done.
  void Report(const runtime::FinalEvent& final_event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Requests the end of the call with `status` (the first request wins).
  void EndWith(const absl::Status& status);

  InferenceService& service_;
  grpc::CallbackServerContext* const context_;
  const v1::GenerateRequest* const request_;
  const ServingContext* serving_ = nullptr;
  CallRecord record_;
  TokenMailbox mailbox_;
  TurnTracker tracker_;

  absl::Mutex mu_;
  bool preparing_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> end_status_ ABSL_GUARDED_BY(mu_);  // Finish with it when idle
  std::optional<runtime::RequestId> engine_id_ ABSL_GUARDED_BY(mu_);
  std::optional<runtime::SessionId> session_ ABSL_GUARDED_BY(mu_);
  bool engine_done_ ABSL_GUARDED_BY(mu_) = false;
  WriteGapClock write_gaps_ ABSL_GUARDED_BY(mu_);
  v1::GenerateResponse response_;  // untouched while a write is in flight
};

}  // namespace smollm::service

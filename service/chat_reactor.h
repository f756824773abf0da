// Chat: a session over one bidirectional stream (open/resume, turns, cancel, rewind).
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "service/call_observer.h"
#include "service/inference_service.h"
#include "service/request_builder.h"
#include "service/token_mailbox.h"

namespace smollm::service {

// Lifecycle (STYLE §6.6, bidi): reads go one at a time; client messages that may wait on
// the engine (open, a turn's preparation, rewind) run on the service's work queue, and no
// further message is read until they are done. A running turn streams through its own
// mailbox; meanwhile reading goes on, so `cancel` reaches the engine within a step.
// Every outgoing message goes through one queue and one writer (one write in flight).
// A bad client message is answered in-stream (ChatError) and the stream goes on; the
// stream ends with a status only when the first message is not `open`, the open fails,
// the client goes away (CANCELLED), or the server drains (UNAVAILABLE, once no turn
// runs). A client half-close ends the stream (OK) after the running turn. An ending
// stream cancels its running turn and finishes once that turn's final event was read and
// reported (the metrics see every turn's end). The session outlives the stream. Finish
// exactly once; OnDone deletes.
class ChatReactor final : public grpc::ServerBidiReactor<v1::ChatRequest, v1::ChatResponse>,
                          public LiveStream {
 public:
  ChatReactor(InferenceService& service, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void Drain() override;
  void Abort(const absl::Status& status) override;

 private:
  // Bounds the outgoing queue: reading pauses while this many messages wait.
  static constexpr size_t kMaxQueued = 8;

  void Dispatch(const v1::ChatRequest& request);
  void Open(const v1::OpenSession& open);
  void StartTurn(const v1::UserTurn& turn);
  void Rewind();
  // Queues an in-stream error and reads on.
  void ReplyError(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends work on the work queue: reads the next message (unless ending), then pumps.
  void WorkDone();
  void Pump();
  void TakeTurnOutput() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndWith(const absl::Status& status);
  bool MayRead() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  InferenceService& service_;
  grpc::CallbackServerContext* const context_;
  const ServingContext* serving_ = nullptr;
  std::string principal_;
  CallRecord record_;

  absl::Mutex mu_;
  std::optional<runtime::SessionId> session_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;      // work-queue task in flight
  bool reading_ ABSL_GUARDED_BY(mu_) = false;   // a StartRead in flight
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  // Pump calls that decided on a StartWrite or StartRead and have not yet made it. Finish
  // waits for them: gRPC may run OnDone (which deletes this) as soon as Finish is called
  // with no operation pending, and a read started after Finish is not allowed.
  int starting_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> end_status_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::ChatResponse> outgoing_ ABSL_GUARDED_BY(mu_);

  // The running turn.
  std::unique_ptr<TokenMailbox> turn_mailbox_ ABSL_GUARDED_BY(mu_);
  std::optional<runtime::RequestId> turn_id_ ABSL_GUARDED_BY(mu_);
  TurnTracker tracker_ ABSL_GUARDED_BY(mu_);
  absl::Time turn_started_ ABSL_GUARDED_BY(mu_);
  WriteGapClock write_gaps_ ABSL_GUARDED_BY(mu_);
  // Mailboxes of finished turns: their wake-up may still be on the engine thread's stack
  // (the final push), so they are destroyed in OnDone, not from the wake-up itself.
  std::vector<std::unique_ptr<TokenMailbox>> retired_ ABSL_GUARDED_BY(mu_);

  v1::ChatRequest request_;    // untouched while a read is in flight
  v1::ChatResponse response_;  // untouched while a write is in flight
};

}  // namespace smollm::service

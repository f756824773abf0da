// GenerateReactor: Generate's server-streaming reactor.
#include "service/generate_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/status_map.h"
#include "service/wire_check.h"

namespace smollm::service {

GenerateReactor::GenerateReactor(InferenceService& service, grpc::CallbackServerContext* context,
                                 const v1::GenerateRequest* request)
    : service_(service),
      context_(context),
      request_(request),
      mailbox_(service.token_buffer()) {
  record_.request_id = service_.observer().NextRequestId();
  record_.method = "Generate";
  record_.started = absl::Now();
  record_.counted = service_.observer().Started("Generate");
  service_.Register(this);
  mailbox_.Attach([this] { Pump(); });
  absl::StatusOr<Admission> admission = service_.Admit(context_);
  if (!admission.ok()) {
    EndWith(admission.status());
    return;
  }
  if (absl::Status wire = WireStatus(*request_); !wire.ok()) {
    EndWith(wire);
    return;
  }
  serving_ = admission->serving;
  record_.principal = admission->principal;
  {
    absl::MutexLock lock(&mu_);
    preparing_ = true;
  }
  service_.work().Post([this, a = *std::move(admission)] { Prepare(a); });
}

void GenerateReactor::Prepare(Admission admission) {
  absl::StatusOr<PreparedRequest> prepared = BuildGenerateRequest(
      *serving_, service_.book(), *request_, MetadataValue(*context_, "x-session-id"),
      admission.principal, CallDeadline(*context_));
  absl::Status status = prepared.status();
  if (prepared.ok()) {
    if (prepared->session.has_value()) record_.session_id = prepared->session->ToString();
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = end_status_.has_value();
      session_ = prepared->session;
    }
    if (!cancelled) {
      absl::StatusOr<runtime::RequestId> id =
          serving_->engine->Submit(std::move(prepared->request), mailbox_.sink());
      if (id.ok()) {
        bool ended;
        {
          absl::MutexLock lock(&mu_);
          engine_id_ = *id;
          ended = end_status_.has_value();
        }
        // The call ended during Submit (EndWith found no id to cancel): Pump waits for
        // the final event, which this cancel brings.
        if (ended) serving_->engine->Cancel(*id);
      } else {
        status = prepared->session.has_value() ? SessionStatus(id.status()) : id.status();
        if (status.code() == absl::StatusCode::kOutOfRange) {
          status = WithReason(status, "CONTEXT_EXCEEDED");
          status.SetPayload(kFieldPayloadUrl, absl::Cord("sampling.max_tokens"));
        }
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    preparing_ = false;
    if (!status.ok() && !end_status_.has_value()) end_status_ = status;
  }
  Pump();
}

void GenerateReactor::Report(const runtime::FinalEvent& final_event) {
  engine_done_ = true;
  const runtime::Usage& usage = final_event.usage;
  record_.prompt_tokens = usage.prompt_tokens;
  record_.cached_tokens = usage.cached_tokens;
  record_.completion_tokens = usage.completion_tokens;
  record_.time_to_first_token = usage.time_to_first_token;
  service_.observer().GenerationFinished(final_event, absl::Now() - record_.started);
  tracker_.Finished(*serving_, service_.book(), session_, final_event);
}

void GenerateReactor::Pump() {
  enum class Action { kNone, kWrite, kFinish } action = Action::kNone;
  grpc::Status finish_status;
  {
    absl::MutexLock lock(&mu_);
    if (finish_called_ || writing_ || preparing_) return;
    if (!engine_done_ && end_status_.has_value() && engine_id_.has_value()) {
      // The call is ending (cancel, disconnect, deadline, abort) while the engine still
      // runs the request: its output is dropped, but the call finishes only after the
      // final event (which the cancel brings within a step), so that every generation
      // reports its end to the metrics exactly once, with the tokens it sampled.
      TokenMailbox::Batch batch = mailbox_.Take();
      if (!batch.final_event.has_value()) return;
      Report(*batch.final_event);
    }
    if (!engine_done_ && !end_status_.has_value()) {
      TokenMailbox::Batch batch = mailbox_.Take();
      if (batch.empty()) return;
      response_.Clear();
      if (batch.has_delta && (!batch.delta.tokens.empty() || !batch.delta.text.empty())) {
        tracker_.Observe(batch.delta);
        AppendDelta(batch.delta, response_.mutable_delta());
      }
      if (batch.final_event.has_value()) {
        const runtime::FinalEvent& final_event = *batch.final_event;
        Report(final_event);
        if (final_event.status.ok()) {
          v1::TurnEnd* end = response_.mutable_end();
          end->set_finish_reason(FinishReasonToProto(final_event.usage.finish_reason));
          UsageToProto(final_event.usage, absl::Now() - record_.started, end->mutable_usage());
          end_status_ = absl::OkStatus();
        } else {
          end_status_ = session_.has_value() ? SessionStatus(final_event.status)
                                             : final_event.status;
        }
      }
      if (response_.has_delta() || response_.has_end()) {
        write_gaps_.Wrote(service_.observer(), response_.delta().token_ids_size());
        writing_ = true;
        action = Action::kWrite;
      }
    }
    if (action == Action::kNone && end_status_.has_value()) {
      finish_called_ = true;
      record_.status = *end_status_;
      finish_status = ToGrpcStatus(*end_status_);
      action = Action::kFinish;
    }
  }
  // Outside the lock: a reaction to these may run on another thread at once.
  if (action == Action::kWrite) StartWrite(&response_);
  if (action == Action::kFinish) Finish(finish_status);
}

void GenerateReactor::EndWith(const absl::Status& status) {
  std::optional<runtime::RequestId> id;
  {
    absl::MutexLock lock(&mu_);
    if (!end_status_.has_value()) end_status_ = status;
    if (!engine_done_) id = engine_id_;
  }
  if (id.has_value()) serving_->engine->Cancel(*id);
  Pump();
}

void GenerateReactor::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
  }
  if (!ok) {
    EndWith(absl::CancelledError("the client went away during a write"));
    return;
  }
  Pump();
}

void GenerateReactor::OnCancel() {
  const std::optional<absl::Time> deadline = CallDeadline(*context_);
  bool running;
  {
    absl::MutexLock lock(&mu_);
    running = engine_id_.has_value() && !engine_done_;
  }
  if (running) service_.observer().Cancelled();
  EndWith(deadline.has_value() && absl::Now() >= *deadline
              ? absl::DeadlineExceededError("the call's deadline passed")
              : absl::CancelledError("the client cancelled the call"));
}

void GenerateReactor::Abort(const absl::Status& status) { EndWith(status); }

void GenerateReactor::OnDone() {
  mailbox_.Detach();
  service_.Unregister(this);
  {
    absl::MutexLock lock(&mu_);
    if (engine_id_.has_value() && !engine_done_) serving_->engine->Cancel(*engine_id_);
  }
  service_.observer().Finished(record_);
  delete this;
}

}  // namespace smollm::service

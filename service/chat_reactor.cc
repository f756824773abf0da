// ChatReactor: the session stream's bidirectional reactor.
#include "service/chat_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/convert.h"
#include "service/session_history.h"
#include "service/status_map.h"
#include "service/wire_check.h"

namespace smollm::service {
namespace {

absl::Status DrainingStatus() {
  return WithReason(absl::UnavailableError(
                        "this replica is draining; reopen the session on another replica "
                        "(rebuild it there from its history)"),
                    "DRAINING");
}

// Resuming takes the session as it is: options given with a session id are an error.
absl::Status CheckResume(const v1::OpenSession& open) {
  if (!open.system_prompt().empty()) {
    return FieldError("open.system_prompt", "must be empty when resuming a session");
  }
  if (open.has_enable_thinking()) {
    return FieldError("open.enable_thinking", "must be unset when resuming a session");
  }
  if (open.has_sampling()) {
    return FieldError("open.sampling", "must be unset when resuming a session");
  }
  if (open.history_size() > 0) {
    return FieldError("open.history", "must be empty when resuming a session");
  }
  if (!open.proposed_session_id().empty()) {
    return FieldError("open.proposed_session_id", "must be empty when resuming a session");
  }
  return absl::OkStatus();
}

}  // namespace

ChatReactor::ChatReactor(InferenceService& service, grpc::CallbackServerContext* context)
    : service_(service), context_(context) {
  record_.request_id = service_.observer().NextRequestId();
  record_.method = "Chat";
  record_.started = absl::Now();
  record_.counted = service_.observer().Started("Chat");
  {
    // Once registered, a drain may pump this stream from another thread: it must not
    // finish before the first read below is started.
    absl::MutexLock lock(&mu_);
    ++starting_;
  }
  service_.Register(this);
  absl::StatusOr<Admission> admission = service_.Admit(context_);
  if (!admission.ok()) {
    {
      absl::MutexLock lock(&mu_);
      --starting_;
    }
    EndWith(admission.status());
    return;
  }
  serving_ = admission->serving;
  principal_ = admission->principal;
  record_.principal = principal_;
  {
    absl::MutexLock lock(&mu_);
    reading_ = true;
  }
  StartRead(&request_);
  {
    absl::MutexLock lock(&mu_);
    --starting_;
  }
  Pump();  // a drain that began meanwhile ends the stream now
}

bool ChatReactor::MayRead() const {
  return !reading_ && !read_closed_ && !busy_ && !end_status_.has_value() && !finish_called_ &&
         outgoing_.size() < kMaxQueued;
}

void ChatReactor::OnReadDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok) read_closed_ = true;  // half-close, or the call ended
  }
  if (ok) {
    // A message protobuf could not parse ends the stream (INVALID_ARGUMENT naming the field).
    if (absl::Status wire = WireStatus(request_); !wire.ok()) {
      EndWith(wire);
      return;
    }
    Dispatch(request_);
  }
  Pump();
}

void ChatReactor::Dispatch(const v1::ChatRequest& request) {
  absl::MutexLock lock(&mu_);
  if (!session_.has_value() && !busy_) {
    if (request.kind_case() != v1::ChatRequest::kOpen) {
      end_status_ = FieldError("open", "the first message of a Chat stream must be `open`");
      return;
    }
    busy_ = true;
    service_.work().Post([this, open = request.open()] { Open(open); });
    return;
  }
  switch (request.kind_case()) {
    case v1::ChatRequest::kOpen:
      ReplyError(FieldError("open", "the session is already open on this stream"));
      return;
    case v1::ChatRequest::kTurn:
      if (turn_id_.has_value()) {
        ReplyError(WithReason(absl::FailedPreconditionError(
                                  "a turn is running; wait for its turn_end or cancel it"),
                              "SESSION_BUSY"));
        return;
      }
      if (draining_) {
        ReplyError(DrainingStatus());
        return;
      }
      busy_ = true;
      service_.work().Post([this, turn = request.turn()] { StartTurn(turn); });
      return;
    case v1::ChatRequest::kCancel:
      if (turn_id_.has_value()) {
        serving_->engine->Cancel(*turn_id_);
        service_.observer().Cancelled();
      }
      return;
    case v1::ChatRequest::kRewind:
      if (turn_id_.has_value()) {
        ReplyError(absl::FailedPreconditionError("cannot rewind while a turn is running"));
        return;
      }
      busy_ = true;
      service_.work().Post([this] { Rewind(); });
      return;
    default:
      ReplyError(FieldError("kind", "set one of open, turn, cancel or rewind"));
      return;
  }
}

void ChatReactor::ReplyError(const absl::Status& status) {
  v1::ChatResponse response;
  response.mutable_error()->set_code(RpcCodeNumber(status));
  response.mutable_error()->set_message(std::string(status.message()));
  // A refused turn carries its retry delay, as RetryInfo would on a call's status.
  google::protobuf::Duration delay;
  if (SetRetryDelay(status, &delay)) *response.mutable_error()->mutable_retry_after() = delay;
  outgoing_.push_back(std::move(response));
}

void ChatReactor::Open(const v1::OpenSession& open) {
  const RequestLimits& limits = serving_->limits;
  absl::StatusOr<runtime::SessionInfo> info;
  if (open.session_id().empty()) {
    runtime::SessionOptions options;
    absl::Status st = CheckText(open.system_prompt(), "open.system_prompt",
                                limits.max_prompt_bytes, /*allow_empty=*/true);
    if (st.ok()) st = ApplySampling(open.sampling(), "open.sampling", limits.vocab_size,
                                    &options.sampling);
    options.system_prompt = open.system_prompt();
    if (open.has_enable_thinking()) options.enable_thinking = open.enable_thinking();
    // A rebuild: the earlier turns become the session's first turns, nothing generated.
    std::vector<std::vector<runtime::TokenId>> turns;
    if (st.ok() && open.history_size() > 0) {
      absl::StatusOr<std::vector<std::vector<runtime::TokenId>>> rendered =
          RenderOpenHistory(*serving_, options, open.history());
      if (rendered.ok()) turns = *std::move(rendered);
      else st = rendered.status();
    }
    // The client's own id, which its opening stream was routed by.
    std::optional<runtime::SessionId> proposed;
    if (st.ok() && !open.proposed_session_id().empty()) {
      absl::StatusOr<runtime::SessionId> parsed =
          ParseSessionIdField(open.proposed_session_id(), "open.proposed_session_id");
      if (parsed.ok()) proposed = *parsed;
      else st = parsed.status();
    }
    const int32_t closed_turns = static_cast<int32_t>(turns.size());
    absl::StatusOr<runtime::SessionId> id =
        st.ok() ? serving_->engine->CreateSession(principal_, std::move(options), std::move(turns),
                                                  proposed)
                : absl::StatusOr<runtime::SessionId>(st);
    if (closed_turns > 0 && id.status().code() == absl::StatusCode::kOutOfRange) {
      // The store's history cap, in the client's terms.
      id = absl::OutOfRangeError(absl::StrCat("open.history: ", id.status().message()));
    }
    if (id.ok()) {
      service_.book().Open(*id,
                           open.sampling().has_seed()
                               ? std::optional<uint64_t>(open.sampling().seed())
                               : std::nullopt,
                           closed_turns);
      info = serving_->engine->GetSession(*id, principal_);
    } else {
      info = id.status();
    }
  } else {
    absl::Status st = CheckResume(open);
    absl::StatusOr<runtime::SessionId> id =
        st.ok() ? ParseSessionIdField(open.session_id(), "open.session_id")
                : absl::StatusOr<runtime::SessionId>(st);
    info = id.ok() ? serving_->engine->GetSession(*id, principal_)
                   : absl::StatusOr<runtime::SessionInfo>(id.status());
    if (!info.ok()) info = SessionStatus(info.status());
  }
  {
    absl::MutexLock lock(&mu_);
    if (info.ok()) {
      session_ = info->id;
      record_.session_id = info->id.ToString();
      v1::ChatResponse response;
      *response.mutable_session() = SessionInfoToProto(*info);
      outgoing_.push_back(std::move(response));
    } else if (!end_status_.has_value()) {
      end_status_ = info.status();  // a failed open ends the stream
    }
  }
  WorkDone();
}

void ChatReactor::StartTurn(const v1::UserTurn& turn) {
  std::vector<std::unique_ptr<TokenMailbox>> retired;
  runtime::SessionId id;
  {
    absl::MutexLock lock(&mu_);
    retired.swap(retired_);
    id = *session_;
  }
  retired.clear();  // outside the lock: a mailbox's destructor waits for its wake-up
  absl::StatusOr<PreparedRequest> prepared = BuildTurnRequest(
      *serving_, service_.book(), id, principal_, turn, CallDeadline(*context_));
  absl::Status status = prepared.status();
  if (prepared.ok()) {
    auto mailbox = std::make_unique<TokenMailbox>(service_.token_buffer());
    mailbox->Attach([this] { Pump(); });
    const std::shared_ptr<runtime::TokenSink> sink = mailbox->sink();
    {
      // Published before Submit: the first push may come at once and must find it.
      absl::MutexLock lock(&mu_);
      turn_mailbox_ = std::move(mailbox);
      tracker_ = TurnTracker();
      turn_started_ = absl::Now();
      write_gaps_ = WriteGapClock();  // a new turn: no gap back to the last one
    }
    absl::StatusOr<runtime::RequestId> submitted =
        serving_->engine->Submit(std::move(prepared->request), sink);
    bool ended = false;
    {
      absl::MutexLock lock(&mu_);
      if (submitted.ok()) {
        turn_id_ = *submitted;
        ended = end_status_.has_value();
      } else {
        status = SessionStatus(submitted.status());
        retired_.push_back(std::move(turn_mailbox_));
      }
    }
    // The stream ended during Submit (EndWith found no turn to cancel): Pump waits for
    // the turn's final event, which this cancel brings.
    if (ended) serving_->engine->Cancel(*submitted);
  }
  if (!status.ok()) {
    absl::MutexLock lock(&mu_);
    ReplyError(status);
  }
  WorkDone();
}

void ChatReactor::Rewind() {
  runtime::SessionId id;
  {
    absl::MutexLock lock(&mu_);
    id = *session_;
  }
  absl::StatusOr<runtime::RewindResult> rewound =
      serving_->engine->RewindSession(id, principal_);
  absl::StatusOr<runtime::SessionInfo> info =
      rewound.ok() ? serving_->engine->GetSession(id, principal_)
                   : absl::StatusOr<runtime::SessionInfo>(rewound.status());
  if (rewound.ok()) service_.book().TurnRewound(id);
  {
    absl::MutexLock lock(&mu_);
    if (info.ok()) {
      v1::ChatResponse response;
      *response.mutable_session() = SessionInfoToProto(*info);
      outgoing_.push_back(std::move(response));
    } else {
      ReplyError(SessionStatus(info.status()));
    }
  }
  WorkDone();
}

void ChatReactor::WorkDone() {
  {
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }
  Pump();
}

// Moves the running turn's output (a delta, then its end) to the outgoing queue.
void ChatReactor::TakeTurnOutput() {
  if (turn_mailbox_ == nullptr || !turn_id_.has_value()) return;
  TokenMailbox::Batch batch = turn_mailbox_->Take();
  if (batch.has_delta && (!batch.delta.tokens.empty() || !batch.delta.text.empty())) {
    tracker_.Observe(batch.delta);
    v1::ChatResponse response;
    AppendDelta(batch.delta, response.mutable_delta());
    outgoing_.push_back(std::move(response));
  }
  if (!batch.final_event.has_value()) return;
  const runtime::FinalEvent& final_event = *batch.final_event;
  const runtime::Usage& usage = final_event.usage;
  record_.prompt_tokens += usage.prompt_tokens;
  record_.cached_tokens += usage.cached_tokens;
  record_.completion_tokens += usage.completion_tokens;
  const absl::Duration elapsed = absl::Now() - turn_started_;
  service_.observer().GenerationFinished(final_event, elapsed);
  tracker_.Finished(*serving_, service_.book(), session_, final_event);
  if (final_event.status.ok() || final_event.status.code() == absl::StatusCode::kCancelled) {
    // A cancelled turn ends like any other, with what it generated until then.
    v1::ChatResponse response;
    v1::TurnEnd* end = response.mutable_turn_end();
    end->set_finish_reason(final_event.status.ok() ? FinishReasonToProto(usage.finish_reason)
                                                   : v1::FINISH_REASON_CANCELLED);
    UsageToProto(usage, elapsed, end->mutable_usage());
    outgoing_.push_back(std::move(response));
  } else {
    ReplyError(SessionStatus(final_event.status));
  }
  turn_id_.reset();
  retired_.push_back(std::move(turn_mailbox_));
}

void ChatReactor::Pump() {
  // Loops once more after starting a write or a read: another thread's Pump may have
  // found the stream ready to finish meanwhile and left the Finish to this one.
  for (;;) {
    enum class Action { kNone, kWrite, kFinish } action = Action::kNone;
    bool read = false;
    grpc::Status finish_status;
    {
      absl::MutexLock lock(&mu_);
      if (finish_called_) return;
      TakeTurnOutput();
      // An ending stream writes nothing more: a running turn's output (cancelled with the
      // stream) is dropped, but the stream finishes only after the turn's final event was
      // read, so that every turn reports its end to the metrics exactly once.
      if (end_status_.has_value()) outgoing_.clear();
      const bool idle = !turn_id_.has_value() && !busy_ && outgoing_.empty() && !writing_;
      if (!end_status_.has_value() && idle) {
        if (draining_) end_status_ = DrainingStatus();
        else if (read_closed_) end_status_ = absl::OkStatus();
      }
      if (!writing_ && !outgoing_.empty() && !end_status_.has_value()) {
        response_ = std::move(outgoing_.front());
        outgoing_.pop_front();
        if (response_.has_delta()) {
          write_gaps_.Wrote(service_.observer(), response_.delta().token_ids_size());
        }
        writing_ = true;
        action = Action::kWrite;
      } else if (end_status_.has_value() && !writing_ && !busy_ && !turn_id_.has_value() &&
                 starting_ == 0) {
        finish_called_ = true;
        record_.status = *end_status_;
        finish_status = ToGrpcStatus(*end_status_);
        action = Action::kFinish;
      }
      if (action != Action::kFinish && MayRead()) {
        reading_ = true;
        read = true;
      }
      if (action == Action::kWrite || read) ++starting_;
    }
    // Outside the lock: reactions to these may run at once on another thread.
    if (action == Action::kWrite) StartWrite(&response_);
    if (action == Action::kFinish) Finish(finish_status);
    if (read) StartRead(&request_);
    if (action != Action::kWrite && !read) return;
    absl::MutexLock lock(&mu_);
    --starting_;
  }
}

void ChatReactor::EndWith(const absl::Status& status) {
  std::optional<runtime::RequestId> id;
  {
    absl::MutexLock lock(&mu_);
    if (!end_status_.has_value()) end_status_ = status;
    id = turn_id_;
  }
  if (id.has_value()) serving_->engine->Cancel(*id);
  Pump();
}

void ChatReactor::OnWriteDone(bool ok) {
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

void ChatReactor::OnCancel() {
  bool running;
  {
    absl::MutexLock lock(&mu_);
    running = turn_id_.has_value();
  }
  if (running) service_.observer().Cancelled();
  EndWith(absl::CancelledError("the client cancelled the stream"));
}

void ChatReactor::Drain() {
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  Pump();
}

void ChatReactor::Abort(const absl::Status& status) { EndWith(status); }

void ChatReactor::OnDone() {
  std::unique_ptr<TokenMailbox> running;
  std::vector<std::unique_ptr<TokenMailbox>> retired;
  {
    absl::MutexLock lock(&mu_);
    if (turn_id_.has_value()) serving_->engine->Cancel(*turn_id_);
    running = std::move(turn_mailbox_);
    retired.swap(retired_);
  }
  running.reset();  // detaches: no wake-up runs after this
  retired.clear();
  service_.Unregister(this);
  service_.observer().Finished(record_);
  delete this;
}

}  // namespace smollm::service

// Implementation of ChatSession: the stream, turns, cancel, rewind, resume and rebuild.
#include "service/client/chat_session.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/client/grpc_status.h"

namespace smollm::service::client {
namespace {

// Whether a failure means the stream or the replica's copy of the session is gone, so
// that reconnecting (resume, else rebuild) may fix it. A replica that shuts down may end
// its idle streams as UNAVAILABLE, CANCELLED or ABORTED depending on how far it got.
// Statuses after which a fresh stream may succeed. A replica that dies behind a proxy does
// not always surface as UNAVAILABLE: HAProxy ends the stream without a status (UNKNOWN) and
// nginx resets it (INTERNAL, RST_STREAM). Callers retry only when no reply text has reached
// the user yet, so a retry never duplicates output.
bool Reconnectable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsNotFound(status) || absl::IsCancelled(status) ||
         absl::IsAborted(status) || absl::IsUnknown(status) || absl::IsInternal(status);
}

absl::Status FromChatError(const v1::ChatError& error) {
  return absl::Status(static_cast<absl::StatusCode>(error.code()), error.message());
}

// Fresh ids to try when a replica says the proposed one is taken (with 128 random bits
// that means a broken random source, so a second collision ends the attempt).
constexpr int kProposals = 2;

// Tries of one turn (each reconnects first when the stream or the session is gone), and
// the pause before the next one when a reconnect itself failed.
constexpr int kTurnAttempts = 3;
constexpr absl::Duration kReconnectPause = absl::Milliseconds(200);

}  // namespace

absl::StatusOr<std::string> NewSessionId() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(
          absl::StrCat("session id: getrandom failed: ", std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 0xf]);
  }
  return id;
}

absl::StatusOr<std::unique_ptr<ChatSession>> ChatSession::Open(Client& client,
                                                               ChatOptions options) {
  std::unique_ptr<ChatSession> session(new ChatSession(client));
  session->options_ = std::move(options);
  v1::OpenSession open;
  open.set_system_prompt(session->options_.system_prompt);
  if (session->options_.enable_thinking.has_value()) {
    open.set_enable_thinking(*session->options_.enable_thinking);
  }
  *open.mutable_sampling() = session->options_.sampling;
  if (absl::Status s = session->ConnectNew(std::move(open)); !s.ok()) return s;
  return session;
}

absl::StatusOr<std::unique_ptr<ChatSession>> ChatSession::Resume(Client& client,
                                                                 const std::string& session_id) {
  std::unique_ptr<ChatSession> session(new ChatSession(client));
  {
    absl::MutexLock lock(&session->mu_);
    session->id_ = session_id;
  }
  v1::OpenSession open;
  open.set_session_id(session_id);
  if (absl::Status s = session->Connect(open); !s.ok()) return s;
  const v1::SessionInfo& info = session->info_;
  session->options_.system_prompt = info.system_prompt();
  if (info.has_enable_thinking()) session->options_.enable_thinking = info.enable_thinking();
  session->options_.sampling = info.sampling();
  session->history_complete_ = info.turns() == 0;
  return session;
}

ChatSession::~ChatSession() { Close().IgnoreError(); }

std::string ChatSession::id() const {
  absl::MutexLock lock(&mu_);
  return id_;
}

absl::Status ChatSession::Connect(const v1::OpenSession& open) {
  absl::MutexLock lock(&mu_);
  // The routing header: the session's id, or the one this open proposes.
  context_ = client_.NewContext(absl::InfiniteDuration(), open.session_id().empty()
                                                              ? open.proposed_session_id()
                                                              : open.session_id());
  stream_ = client_.stub().Chat(context_.get());
  v1::ChatRequest request;
  *request.mutable_open() = open;
  v1::ChatResponse response;
  // A failed open ends the stream: its status is the answer.
  if (!stream_->Write(request) || !stream_->Read(&response)) {
    absl::Status status = FromGrpc(stream_->Finish());
    stream_.reset();
    if (status.ok()) status = absl::InternalError("Chat: the stream ended before the open");
    return status;
  }
  client_.NoteServedBy(*context_);
  if (response.has_error()) {
    stream_->WritesDone();
    context_->TryCancel();
    stream_->Finish().ok();
    stream_.reset();
    return FromChatError(response.error());
  }
  if (!response.has_session()) {
    context_->TryCancel();
    stream_->Finish().ok();
    stream_.reset();
    return absl::InternalError("Chat: the answer to open carried no SessionInfo");
  }
  info_ = response.session();
  id_ = info_.session_id();
  return absl::OkStatus();
}

absl::Status ChatSession::ConnectNew(v1::OpenSession open) {
  if (!options_.propose_session_id) return Connect(open);
  absl::Status status;
  for (int attempt = 0; attempt < kProposals; ++attempt) {
    absl::StatusOr<std::string> id = NewSessionId();
    if (!id.ok()) return id.status();
    open.set_proposed_session_id(*id);
    status = Connect(open);
    if (!absl::IsAlreadyExists(status)) return status;
  }
  return status;
}

absl::Status ChatSession::EndStream() {
  absl::MutexLock lock(&mu_);
  if (stream_ == nullptr) return absl::OkStatus();
  absl::Status status = FromGrpc(stream_->Finish());
  stream_.reset();
  return status.ok() ? absl::UnavailableError("Chat: the server ended the stream") : status;
}

ChatSession::Stream* ChatSession::live_stream() {
  absl::MutexLock lock(&mu_);
  return stream_.get();
}

absl::Status ChatSession::EnsureStream() {
  if (live_stream() != nullptr && !reconcile_) return absl::OkStatus();
  if (live_stream() == nullptr) {
    v1::OpenSession open;
    open.set_session_id(id());
    absl::Status status = Connect(open);
    if (absl::IsNotFound(status)) return Rebuild();
    if (!status.ok()) return status;
  } else {
    // The stream lives but a turn failed midway: ask the replica what it holds.
    absl::StatusOr<v1::SessionInfo> info = client_.GetSession(id());
    if (absl::IsNotFound(info.status())) {
      Close().IgnoreError();
      return Rebuild();
    }
    if (!info.ok()) return info.status();
    info_ = *std::move(info);
  }
  // The replica's copy must hold exactly the turns seen here: after a failure mid-turn
  // it may hold one more (drop it), and anything else means it diverged (rebuild).
  if (!history_complete_) {
    reconcile_ = false;
    return absl::OkStatus();
  }
  const int64_t local = static_cast<int64_t>(history_.size());
  if (info_.turns() == local) {
    reconcile_ = false;
    return absl::OkStatus();
  }
  if (info_.turns() == local + 1 && info_.state() == v1::SESSION_STATE_IDLE) {
    v1::ChatRequest request;
    request.mutable_rewind();
    v1::ChatResponse response;
    if (Write(request) && live_stream()->Read(&response) && response.has_session()) {
      info_ = response.session();
      reconcile_ = false;
      return absl::OkStatus();
    }
  }
  Close().IgnoreError();
  return Rebuild();
}

absl::Status ChatSession::Rebuild() {
  std::string old_id = id();
  if (!history_complete_) {
    return absl::NotFoundError(absl::StrCat(
        "session ", old_id, " is unknown to the replica, and its turns before this client ",
        "resumed it are unknown here: it cannot be rebuilt"));
  }
  v1::OpenSession open;
  open.set_system_prompt(options_.system_prompt);
  if (options_.enable_thinking.has_value()) open.set_enable_thinking(*options_.enable_thinking);
  *open.mutable_sampling() = options_.sampling;
  for (const ChatTurn& turn : history_) {
    v1::ChatMessage* user = open.add_history();
    user->set_role("user");
    user->set_content(turn.user);
    v1::ChatMessage* assistant = open.add_history();
    assistant->set_role("assistant");
    assistant->set_content(turn.assistant);
  }
  if (absl::Status s = ConnectNew(std::move(open)); !s.ok()) return s;
  reconcile_ = false;
  ++rebuilds_;
  return absl::OkStatus();
}

bool ChatSession::Write(const v1::ChatRequest& request) {
  absl::MutexLock lock(&mu_);
  if (stream_ == nullptr) return false;
  if (request.has_turn()) turn_running_ = true;
  return stream_->Write(request);
}

void ChatSession::Cancel() {
  absl::MutexLock lock(&mu_);
  if (stream_ == nullptr || !turn_running_) return;
  v1::ChatRequest request;
  request.mutable_cancel();
  stream_->Write(request);
}

absl::StatusOr<v1::TurnEnd> ChatSession::RunTurn(const v1::UserTurn& turn,
                                                 const DeltaCallback& on_delta, bool* delivered) {
  v1::ChatRequest request;
  *request.mutable_turn() = turn;
  Stream* stream = live_stream();
  std::string reply;
  v1::ChatResponse response;
  absl::StatusOr<v1::TurnEnd> result = absl::UnknownError("Chat: no answer");
  bool ended = false;
  if (Write(request)) {
    while (!ended && stream->Read(&response)) {
      switch (response.kind_case()) {
        case v1::ChatResponse::kDelta:
          *delivered = true;
          reply += response.delta().text();
          if (!on_delta(response.delta())) Cancel();
          break;
        case v1::ChatResponse::kTurnEnd:
          // A cancelled turn leaves no trace in the replica's history: none here either.
          if (response.turn_end().finish_reason() != v1::FINISH_REASON_CANCELLED) {
            history_.push_back({turn.content(), std::move(reply)});
          }
          result = response.turn_end();
          ended = true;
          break;
        case v1::ChatResponse::kError:
          result = FromChatError(response.error());
          // After deltas the replica may keep the partial turn: check on the next call.
          if (*delivered) reconcile_ = true;
          ended = true;
          break;
        default:
          break;  // a SessionInfo or a kind newer than this client: nothing to do
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    turn_running_ = false;
  }
  if (!ended) {
    result = EndStream();
    if (*delivered) reconcile_ = true;
  }
  return result;
}

absl::StatusOr<v1::TurnEnd> ChatSession::Send(const v1::UserTurn& turn,
                                              const DeltaCallback& on_delta) {
  absl::StatusOr<v1::TurnEnd> result = absl::UnknownError("Chat: not sent");
  for (int attempt = 0; attempt < kTurnAttempts; ++attempt) {
    absl::Status ready = EnsureStream();
    if (!ready.ok()) {
      // A proxy may refuse the reconnect while it learns that a replica went away.
      if (!Reconnectable(ready) || attempt + 1 == kTurnAttempts) return ready;
      absl::SleepFor(kReconnectPause * (attempt + 1));
      continue;
    }
    bool delivered = false;
    result = RunTurn(turn, on_delta, &delivered);
    if (result.ok() || delivered || !Reconnectable(result.status())) return result;
    // NOT_FOUND in-stream: the replica dropped the session (idle TTL, eviction) while
    // the stream lived; the stream itself is fine but must be replaced.
    if (absl::IsNotFound(result.status())) Close().IgnoreError();
  }
  return result;
}

absl::StatusOr<v1::TurnEnd> ChatSession::Send(const std::string& user_text,
                                              const DeltaCallback& on_delta) {
  v1::UserTurn turn;
  turn.set_content(user_text);
  return Send(turn, on_delta);
}

absl::Status ChatSession::Rewind() {
  if (history_complete_ && history_.empty()) {
    return absl::FailedPreconditionError("rewind: the session has no turn to drop");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (absl::Status ready = EnsureStream(); !ready.ok()) return ready;
    v1::ChatRequest request;
    request.mutable_rewind();
    v1::ChatResponse response;
    absl::Status status;
    if (Write(request) && live_stream()->Read(&response)) {
      if (response.has_session()) {
        info_ = response.session();
        if (!history_.empty()) history_.pop_back();
        return absl::OkStatus();
      }
      status = response.has_error() ? FromChatError(response.error())
                                    : absl::InternalError("rewind: unexpected answer");
    } else {
      status = EndStream();
    }
    if (!absl::IsNotFound(status) || !history_complete_) {
      if (!Reconnectable(status)) return status;
      continue;
    }
    // The replica lost the session: the rewound conversation is rebuilt from here.
    history_.pop_back();
    Close().IgnoreError();
    return Rebuild();
  }
  return absl::UnavailableError("rewind: the server could not be reached");
}

absl::Status ChatSession::Close() {
  absl::MutexLock lock(&mu_);
  if (stream_ == nullptr) return absl::OkStatus();
  stream_->WritesDone();
  // A server that ignores the half-close must not hang us: cancel after a grace period.
  absl::Notification done;
  grpc::ClientContext* context = context_.get();
  std::thread watchdog([&done, context] {
    if (!done.WaitForNotificationWithTimeout(absl::Seconds(5))) context->TryCancel();
  });
  v1::ChatResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  absl::Status status = FromGrpc(stream_->Finish());
  done.Notify();
  watchdog.join();
  stream_.reset();
  return status;
}

}  // namespace smollm::service::client

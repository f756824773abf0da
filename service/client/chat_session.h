// A chat session over the bidirectional Chat stream that survives replica changes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/client/client.h"

namespace smollm::service::client {

struct ChatOptions {
  std::string system_prompt;             // empty: the template's default system text
  std::optional<bool> enable_thinking;   // unset: the template's default
  v1::SamplingParams sampling;           // defaults of every turn
  // Pick the id of every new session here (128 random bits, OpenSession.proposed_session_id)
  // and send it as `x-session-id` on the opening stream too, so that a load balancer
  // hashing that header routes the open to the replica every later stream reaches. Off:
  // the replica mints the id, and only streams after the open carry the header.
  bool propose_session_id = true;
};

// A fresh session id as servers spell them (32 lowercase hex characters from the
// operating system's random source); Unavailable when it has none.
absl::StatusOr<std::string> NewSessionId();

// One finished turn as this client saw it (cancelled turns are not kept, as on the
// replica).
struct ChatTurn {
  std::string user;
  std::string assistant;  // the streamed reply
};

// A session on one Chat stream. The session lives on a replica; the stream may break and
// the replica may forget it (it restarted, or the load balancer moved the session).
// The object keeps every turn it has seen and hides both:
// - a new session's id is chosen here (ChatOptions::propose_session_id), so its opening
//   stream already carries the `x-session-id` that routes all of them to one replica;
// - a broken stream is reopened by id on the next call (`x-session-id` routes it);
// - a replica that answers NOT_FOUND, or whose copy does not match the turns seen here,
//   gets a NEW session built from the same options plus OpenSession.history (the user
//   turns and the replies streamed to us). The API cannot make a replica generate "the
//   same" reply again, and replaying only the user turns would make it generate new,
//   different replies the user never saw: resending the replies' text is the one honest
//   rebuild. The new session has a new id (id() changes; rebuilds() counts them), and its
//   first turn recomputes the history's KV.
// A call that fails before any of its reply reached the caller is retried after
// reconnecting (three tries in all, a reconnect that fails counting as one); a failure
// after deltas were delivered is returned (the turn is not recorded) and the next call
// reconciles with the replica.
// Resume() knows no turns before it: if such a session is lost it cannot be rebuilt and
// the call returns NOT_FOUND.
//
// Thread-safety: one caller drives Send/Rewind/Close; Cancel may be called from any
// thread (e.g. a signal-watching thread, or inside on_delta) while Send runs.
class ChatSession {
 public:
  static absl::StatusOr<std::unique_ptr<ChatSession>> Open(Client& client, ChatOptions options);
  static absl::StatusOr<std::unique_ptr<ChatSession>> Resume(Client& client,
                                                             const std::string& session_id);
  ~ChatSession();  // Close()
  ChatSession(const ChatSession&) = delete;
  ChatSession& operator=(const ChatSession&) = delete;

  // Runs one user turn, streaming the reply to `on_delta` (returning false cancels the
  // turn, which then ends with FINISH_REASON_CANCELLED). In-stream errors come back with
  // their code (INVALID_ARGUMENT, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ...).
  absl::StatusOr<v1::TurnEnd> Send(const v1::UserTurn& turn, const DeltaCallback& on_delta);
  absl::StatusOr<v1::TurnEnd> Send(const std::string& user_text, const DeltaCallback& on_delta);
  // Asks the replica to stop the running turn; a no-op when none runs.
  void Cancel();
  // Drops the last turn here and on the replica. FAILED_PRECONDITION when there is none.
  absl::Status Rewind();
  // Half-closes the stream and waits (bounded) for its status; the session stays on the
  // replica until its idle TTL. Idempotent.
  absl::Status Close();

  std::string id() const;
  const std::vector<ChatTurn>& history() const { return history_; }
  int rebuilds() const { return rebuilds_; }
  // The last SessionInfo the replica sent (open, resume or rewind).
  const v1::SessionInfo& info() const { return info_; }

 private:
  using Stream = grpc::ClientReaderWriter<v1::ChatRequest, v1::ChatResponse>;
  explicit ChatSession(Client& client) : client_(client) {}

  // Opens a stream, sends `open`, waits for the SessionInfo.
  absl::Status Connect(const v1::OpenSession& open);
  // Connect for a new session: with a proposed id when the options ask for one, and
  // another fresh one should a replica already hold it (ALREADY_EXISTS).
  absl::Status ConnectNew(v1::OpenSession open);
  // A live stream on a replica whose session matches history_: resumes, else rebuilds.
  absl::Status EnsureStream();
  absl::Status Rebuild();
  // Ends a broken stream and returns its status.
  absl::Status EndStream();
  Stream* live_stream();  // null when no stream is open
  bool Write(const v1::ChatRequest& request);
  absl::StatusOr<v1::TurnEnd> RunTurn(const v1::UserTurn& turn, const DeltaCallback& on_delta,
                                      bool* delivered);

  Client& client_;
  ChatOptions options_;
  std::vector<ChatTurn> history_;
  bool history_complete_ = true;  // false after Resume: earlier turns are unknown
  bool reconcile_ = false;        // the replica may hold a turn history_ lacks
  int rebuilds_ = 0;
  v1::SessionInfo info_;

  mutable absl::Mutex mu_;  // guards the stream's writer side and the id
  std::string id_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::ClientContext> context_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Stream> stream_ ABSL_GUARDED_BY(mu_);
  bool turn_running_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace smollm::service::client

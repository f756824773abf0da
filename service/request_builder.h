// Generate requests and session turns -> validated runtime::GenerateRequests.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/engine/engine.h"
#include "service/serving_context.h"
#include "service/session_book.h"
#include "smollm/v1/inference.pb.h"

namespace smollm::service {

struct PreparedRequest {
  runtime::GenerateRequest request;
  std::optional<runtime::SessionId> session;  // set for a session turn
};

// A Generate call: `prompt` (raw text), `messages` (chat template) or, with a session id
// (the field, else `metadata_session_id` from x-session-id), the session's next user
// turn. Validates every field (FieldError naming it). May wait for the engine thread
// (session lookups): call it off the gRPC reaction threads.
absl::StatusOr<PreparedRequest> BuildGenerateRequest(const ServingContext& serving,
                                                     SessionBook& book,
                                                     const v1::GenerateRequest& request,
                                                     absl::string_view metadata_session_id,
                                                     const std::string& principal,
                                                     std::optional<absl::Time> deadline);

// The next user turn of session `id` (Chat `turn`; field paths start with "turn").
// May wait for the engine thread.
absl::StatusOr<PreparedRequest> BuildTurnRequest(const ServingContext& serving,
                                                 SessionBook& book, const runtime::SessionId& id,
                                                 const std::string& principal,
                                                 const v1::UserTurn& turn,
                                                 std::optional<absl::Time> deadline);

// Session errors as clients see them: a session of another principal is NOT_FOUND, like
// an unknown one (the API promises no difference), with reason SESSION_NOT_FOUND.
absl::Status SessionStatus(absl::Status status);

// Remembers how a session turn ended: whether its reply closed with the end-of-turn
// token (the next turn's rendering depends on it).
class TurnTracker {
 public:
  void Observe(const runtime::TokenEvent& event) {
    if (!event.tokens.empty()) last_token_ = event.tokens.back();
  }
  // Records a finished turn of `session` in the book (a failed or cancelled turn left
  // the history as it was, so it records nothing).
  void Finished(const ServingContext& serving, SessionBook& book,
                const std::optional<runtime::SessionId>& session,
                const runtime::FinalEvent& final_event) const;

 private:
  runtime::TokenId last_token_ = -1;
};

}  // namespace smollm::service

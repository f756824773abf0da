// OpenSession.history -> the initial turns of a rebuilt session, rendered and tokenized
// exactly as those turns would have been had they run on this replica.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/core/types.h"
#include "runtime/engine/session_store_types.h"
#include "runtime/tokenizer/chat_turns.h"
#include "service/serving_context.h"
#include "smollm/v1/inference.pb.h"

namespace smollm::service {

// How every turn of a session with `options` is rendered (RenderChatTurn's options):
// the model's template family, the session's system prompt and reasoning mode, today's date.
runtime::ChatTurnOptions TurnOptionsFor(const ServingContext& serving,
                                        const runtime::SessionOptions& options);

// The history's (user, assistant) pairs as whole turns for Engine::CreateSession: turn i
// is RenderChatTurn(i, user_i, previous_reply_closed = true) tokenized, then the reply's
// text with kChatEndOfTurn tokenized (special tokens parsed, as a live turn's text is).
// Each reply is closed by the end-of-turn token, so the next live turn renders as after
// a reply that ended by sampling it. The pieces are tokenized apart because a live turn
// has the same boundaries: its text is tokenized alone and the reply is sampled after it.
//
// Checks, as the proto documents (errors name `open.history[i].role` or `.content`):
// at most limits.max_messages messages; roles alternate "user", "assistant", starting
// with "user" and ending with "assistant"; UTF-8; user messages not empty; the history's
// text with `options.system_prompt` at most limits.max_prompt_bytes bytes
// (InvalidArgument); the tokens leaving room for another turn in the context
// (history + 2 <= context_length, else OutOfRange naming `open.history`).
absl::StatusOr<std::vector<std::vector<runtime::TokenId>>> RenderOpenHistory(
    const ServingContext& serving, const runtime::SessionOptions& options,
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& history);

}  // namespace smollm::service

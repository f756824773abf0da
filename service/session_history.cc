// Rendering OpenSession.history into a rebuilt session's initial turns.
#include "service/session_history.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/chat_template.h"
#include "service/convert.h"
#include "service/status_map.h"

namespace smollm::service {
namespace {

constexpr absl::string_view kField = "open.history";

std::string MessageField(int i, absl::string_view part) {
  return absl::StrCat(kField, "[", i, "].", part);
}

// Roles, order, UTF-8 and sizes of the history (everything but its token count).
absl::Status CheckHistory(const google::protobuf::RepeatedPtrField<v1::ChatMessage>& history,
                          const runtime::SessionOptions& options, const RequestLimits& limits) {
  const int n = history.size();
  if (n > limits.max_messages) {
    return FieldError(kField, absl::StrCat("has ", n, " messages; allowed up to ",
                                           limits.max_messages));
  }
  int64_t total = static_cast<int64_t>(options.system_prompt.size());
  for (int i = 0; i < n; ++i) {
    const v1::ChatMessage& m = history[i];
    const bool user = i % 2 == 0;
    if (m.role() != (user ? "user" : "assistant")) {
      return FieldError(MessageField(i, "role"),
                        absl::StrCat("must be \"", user ? "user" : "assistant",
                                     "\": the history alternates user and assistant messages, "
                                     "starting with user"));
    }
    total += static_cast<int64_t>(m.content().size());
    if (total > limits.max_prompt_bytes) {
      return FieldError(MessageField(i, "content"),
                        absl::StrCat("the history's text with the system prompt passes ",
                                     limits.max_prompt_bytes, " bytes, the limit per session"));
    }
    RETURN_IF_ERROR(CheckText(m.content(), MessageField(i, "content"), limits.max_prompt_bytes,
                              /*allow_empty=*/!user));
  }
  if (n % 2 != 0) {
    return FieldError(MessageField(n - 1, "role"),
                      "the history must end with an assistant message; send the last user "
                      "message as the session's next turn");
  }
  return absl::OkStatus();
}

}  // namespace

runtime::ChatTurnOptions TurnOptionsFor(const ServingContext& serving,
                                        const runtime::SessionOptions& options) {
  runtime::ChatTurnOptions out;
  out.family = serving.model->chat_template().family;
  out.system_prompt = options.system_prompt;
  out.enable_thinking = options.enable_thinking;
  out.date = runtime::TodayChatDate();
  return out;
}

absl::StatusOr<std::vector<std::vector<runtime::TokenId>>> RenderOpenHistory(
    const ServingContext& serving, const runtime::SessionOptions& options,
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& history) {
  const RequestLimits& limits = serving.limits;
  RETURN_IF_ERROR(CheckHistory(history, options, limits));
  const runtime::ChatTurnOptions turn_options = TurnOptionsFor(serving, options);
  const runtime::BpeTokenizer& tokenizer = serving.model->tokenizer();
  const runtime::EncodeOptions encode{.add_special = false, .parse_special = true};
  std::vector<std::vector<runtime::TokenId>> turns;
  int64_t total = 0;
  for (int i = 0; i + 1 < history.size(); i += 2) {
    const std::string& user = history[i].content();
    absl::StatusOr<std::string> text = runtime::RenderChatTurn(
        turn_options, i / 2, user, /*previous_reply_closed=*/true);
    if (!text.ok()) return FieldError(MessageField(i, "content"), text.status().message());
    std::vector<runtime::TokenId> turn = tokenizer.Encode(*text, encode);
    const std::vector<runtime::TokenId> reply = tokenizer.Encode(
        absl::StrCat(history[i + 1].content(),
                     absl::string_view(runtime::kChatEndOfTurn.data(),
                                       runtime::kChatEndOfTurn.size())),
        encode);
    turn.insert(turn.end(), reply.begin(), reply.end());
    total += static_cast<int64_t>(turn.size());
    turns.push_back(std::move(turn));
  }
  // A turn after them needs a new token and room for a reply token.
  if (total + 2 > limits.context_length) {
    absl::Status status = absl::OutOfRangeError(absl::StrCat(
        kField, ": the history renders to ", total,
        " tokens, leaving no room for another turn in the context of ", limits.context_length,
        " tokens; send fewer earlier turns"));
    status.SetPayload(kFieldPayloadUrl, absl::Cord(kField));
    return status;
  }
  return turns;
}

}  // namespace smollm::service

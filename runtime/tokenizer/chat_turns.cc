// RenderChatTurn: a session turn's text, derived from RenderChat so the two never disagree.
#include "runtime/tokenizer/chat_turns.h"

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/json_value_text.h"

namespace smollm::runtime {
namespace {

// The conversation of a first turn: the system prompt (when given) and the user message.
std::vector<ChatMessage> FirstTurnMessages(const ChatTurnOptions& options,
                                           std::string_view user_content) {
  std::vector<ChatMessage> messages;
  if (!options.system_prompt.empty()) {
    messages.push_back({.role = "system", .content = options.system_prompt});
  }
  messages.push_back({.role = "user", .content = std::string(user_content)});
  return messages;
}

// RenderChat would name messages[i]; the caller knows these fields by their own names.
absl::Status CheckUtf8(std::string_view text, absl::string_view field) {
  if (const std::optional<size_t> bad = FindInvalidUtf8(text)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": invalid UTF-8 at byte ", *bad));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RenderChatTurn(const ChatTurnOptions& options, int32_t turn_index,
                                           std::string_view user_content,
                                           bool previous_reply_closed) {
  if (turn_index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("turn_index: must be >= 0 (0 = the first turn), got ", turn_index));
  }
  RETURN_IF_ERROR(CheckUtf8(options.system_prompt, "options.system_prompt"));
  RETURN_IF_ERROR(CheckUtf8(user_content, "user_content"));
  const std::vector<ChatMessage> messages = FirstTurnMessages(options, user_content);
  ChatRenderOptions render;
  render.enable_thinking = options.enable_thinking;
  render.date = options.date;
  // Also validates every input, whatever the turn.
  ASSIGN_OR_RETURN(std::string with_prompt, RenderChat(options.family, messages, render));
  if (turn_index == 0) return with_prompt;

  // The generation prompt is what add_generation_prompt adds: in SmolLM3 it depends on the
  // reasoning mode, which the system prompt's flags may set, so the template decides it.
  render.add_generation_prompt = false;
  ASSIGN_OR_RETURN(const std::string without_prompt,
                   RenderChat(options.family, messages, render));
  if (with_prompt.compare(0, without_prompt.size(), without_prompt) != 0) {
    return absl::InternalError("chat template: the generation prompt is not a suffix");
  }
  const std::string_view generation_prompt =
      std::string_view(with_prompt).substr(without_prompt.size());

  // Every supported template renders a user message as ChatML does, and puts a newline
  // after the end-of-turn token that closed the previous reply.
  std::string out;
  if (!previous_reply_closed) out.append(kChatEndOfTurn);
  out.append("\n<|im_start|>user\n");
  out.append(user_content);
  out.append(kChatEndOfTurn);
  out.append("\n");
  out.append(generation_prompt);
  return out;
}

}  // namespace smollm::runtime

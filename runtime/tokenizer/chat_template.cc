// RenderChat: input validation, then the family's renderer; and the date helpers.
#include "runtime/tokenizer/chat_template.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/chat_template_internal.h"
#include "runtime/tokenizer/json_value.h"
#include "runtime/tokenizer/json_value_text.h"

namespace smollm::runtime {
namespace {

absl::Status CheckUtf8(std::string_view text, absl::string_view field) {
  if (const std::optional<size_t> bad = FindInvalidUtf8(text)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": invalid UTF-8 at byte ", *bad));
  }
  return absl::OkStatus();
}

// Parses optional JSON array text; nullopt when `text` is empty.
absl::StatusOr<std::optional<JsonValue>> ParseJsonArray(std::string_view text,
                                                        absl::string_view field) {
  if (text.empty()) return std::optional<JsonValue>();
  absl::StatusOr<JsonValue> value = ParseJson(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", value.status().message()));
  }
  if (value->kind() != JsonValue::Kind::kArray) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": expected a JSON array"));
  }
  return std::optional<JsonValue>(*std::move(value));
}

absl::Status ValidateMessages(absl::Span<const ChatMessage> messages) {
  if (messages.empty()) return absl::InvalidArgumentError("messages: empty conversation");
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const std::string prefix = absl::StrCat("messages[", i, "]");
    if (message.role != "system" && message.role != "user" && message.role != "assistant" &&
        message.role != "tool") {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, ".role: unknown role \"", absl::CHexEscape(message.role),
                       "\" (expected system, user, assistant or tool)"));
    }
    RETURN_IF_ERROR(CheckUtf8(message.content, absl::StrCat(prefix, ".content")));
    RETURN_IF_ERROR(CheckUtf8(message.tool_call_id, absl::StrCat(prefix, ".tool_call_id")));
    RETURN_IF_ERROR(
        ParseJsonArray(message.tool_calls, absl::StrCat(prefix, ".tool_calls")).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RenderChat(ChatTemplateFamily family,
                                       absl::Span<const ChatMessage> messages,
                                       const ChatRenderOptions& options) {
  RETURN_IF_ERROR(ValidateMessages(messages));
  if (options.custom_instructions.has_value()) {
    RETURN_IF_ERROR(CheckUtf8(*options.custom_instructions, "options.custom_instructions"));
  }
  ASSIGN_OR_RETURN(std::optional<JsonValue> xml_tools,
                   ParseJsonArray(options.xml_tools, "options.xml_tools"));
  ASSIGN_OR_RETURN(std::optional<JsonValue> python_tools,
                   ParseJsonArray(options.python_tools, "options.python_tools"));
  RETURN_IF_ERROR(CheckUtf8(options.date, "options.date"));

  switch (family) {
    case ChatTemplateFamily::kSmolLM3:
      if (options.date.empty()) {
        return absl::InvalidArgumentError(
            "options.date: required by the SmolLM3 template (see TodayChatDate)");
      }
      return chat_internal::RenderSmolLM3(messages, options, xml_tools ? &*xml_tools : nullptr,
                                          python_tools ? &*python_tools : nullptr);
    case ChatTemplateFamily::kSmolLM2:
      return chat_internal::RenderChatML(messages, options.add_generation_prompt,
                                         chat_internal::kSmolLM2DefaultSystem);
    case ChatTemplateFamily::kChatML:
      return chat_internal::RenderChatML(messages, options.add_generation_prompt, "");
  }
  return absl::InvalidArgumentError("family: unknown chat template family");
}

std::string FormatChatDate(int year, int month, int day) {
  static constexpr std::string_view kMonths[] = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};
  const std::string_view name = kMonths[std::clamp(month, 1, 12) - 1];
  return absl::StrFormat("%02d %s %d", day, name, year);
}

std::string TodayChatDate() {
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::LocalTimeZone());
  return FormatChatDate(static_cast<int>(today.year()), today.month(), today.day());
}

}  // namespace smollm::runtime

// Chat templates: which family a GGUF's tokenizer.chat_template belongs to, and rendering a
// conversation to prompt text byte-identically to what transformers renders from that template.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace smollm::runtime {

enum class ChatTemplateFamily {
  // SmolLM3-3B's template: a metadata system header (date, /think or /no_think), optional
  // XML/Python tool lists, empty think blocks in /no_think mode.
  kSmolLM3,
  // SmolLM2's ChatML, which adds a default system prompt when the first message is not one.
  kSmolLM2,
  // Plain ChatML (transformers' historical default): the fallback for unknown templates.
  kChatML,
};

// "smollm3", "smollm2" or "chatml".
std::string_view ChatTemplateFamilyName(ChatTemplateFamily family);

struct ChatTemplateDetection {
  ChatTemplateFamily family = ChatTemplateFamily::kChatML;
  // Empty when the text is exactly a template we render byte-identically (SmolLM3's released
  // text, also as stored by llama.cpp's converter without its `[:]` slices; SmolLM2's; plain
  // ChatML). Otherwise says what was recognised and what will be rendered instead, for the
  // caller to log: this library never prints.
  std::string warning;
};

// Recognises the family of a chat template text (a GGUF's tokenizer.chat_template). Never
// fails: an unknown or empty text gives kChatML with a warning.
ChatTemplateDetection DetectChatTemplate(std::string_view template_text);

struct ChatMessage {
  std::string role;     // "system", "user", "assistant" or "tool"
  std::string content;  // UTF-8; empty also stands for a missing (None) content
  // JSON array text of the tool calls an assistant turn made, or empty. Validated, but neither
  // SmolLM template renders it: the calls must also be in `content` (SmolLM3 writes them as
  // <tool_call>...</tool_call> text) to reach the prompt.
  std::string tool_calls;
  std::string tool_call_id;  // for role "tool"; not rendered by these templates
};

struct ChatRenderOptions {
  // Ends the prompt with the header of a new assistant turn.
  bool add_generation_prompt = true;
  // SmolLM3: the reasoning mode; unset means enabled, as in the template. A "/think" or
  // "/no_think" flag in the first (system) message overrides it.
  std::optional<bool> enable_thinking;
  // SmolLM3: the template variable `custom_instructions`, used when there is no system message
  // (a system message replaces it). Rendered as given, trailing whitespace included.
  std::optional<std::string> custom_instructions;
  // SmolLM3: JSON array texts of tool descriptions (the template's `xml_tools` and
  // `python_tools`); empty means not given. Each element is printed as Python's str() of what
  // json.loads returns (dicts in repr form), exactly as the template's `| string` does.
  std::string xml_tools;
  std::string python_tools;
  // SmolLM3: the text of strftime_now("%d %B %Y"), e.g. "05 March 2025"; see FormatChatDate
  // and TodayChatDate. Required for that family.
  std::string date;
};

// Renders `messages` the way transformers' apply_chat_template(tokenize=False) renders them
// with the family's template. Options a family's template does not read are validated and
// ignored (as transformers ignores them).
// Errors (InvalidArgument, naming the field): no messages; a role outside the four above
// (messages[i].role); content that is not UTF-8 (messages[i].content); tool_calls that is not
// a JSON array (messages[i].tool_calls); tools that are not a JSON array
// (options.xml_tools / options.python_tools); an empty options.date for kSmolLM3.
absl::StatusOr<std::string> RenderChat(ChatTemplateFamily family,
                                       absl::Span<const ChatMessage> messages,
                                       const ChatRenderOptions& options);

// "%d %B %Y" in the C locale, as Python's strftime prints it: "05 March 2025". `month` is
// 1..12 (out-of-range values are clamped), `day` is printed with two digits.
std::string FormatChatDate(int year, int month, int day);

// Today's date in the local time zone (Python's datetime.now()), formatted by FormatChatDate.
std::string TodayChatDate();

}  // namespace smollm::runtime

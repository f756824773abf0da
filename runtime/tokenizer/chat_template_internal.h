// The per-family renderers behind RenderChat; their inputs are already validated.
#pragma once

#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/json_value.h"

namespace smollm::runtime::chat_internal {

// SmolLM3's template. `xml_tools` / `python_tools` are the parsed JSON arrays, or nullptr
// when not given; options.date is non-empty.
std::string RenderSmolLM3(absl::Span<const ChatMessage> messages, const ChatRenderOptions& options,
                          const JsonValue* xml_tools, const JsonValue* python_tools);

// ChatML: "<|im_start|>{role}\n{content}<|im_end|>\n" per message. A non-empty
// `default_system` is emitted first when the first message is not a system message
// (SmolLM2's behaviour).
std::string RenderChatML(absl::Span<const ChatMessage> messages, bool add_generation_prompt,
                         std::string_view default_system);

// SmolLM2's default system prompt (no final period, as in its template).
inline constexpr std::string_view kSmolLM2DefaultSystem =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

}  // namespace smollm::runtime::chat_internal

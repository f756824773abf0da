// ChatML rendering: SmolLM2's template (with its default system prompt) and plain ChatML.
#include "absl/strings/str_cat.h"
#include "runtime/tokenizer/chat_template_internal.h"

namespace smollm::runtime::chat_internal {

std::string RenderChatML(absl::Span<const ChatMessage> messages, bool add_generation_prompt,
                         std::string_view default_system) {
  std::string out;
  if (!default_system.empty() && (messages.empty() || messages[0].role != "system")) {
    out.append("<|im_start|>system\n").append(default_system).append("<|im_end|>\n");
  }
  // Every message renders under its own role, system messages anywhere included.
  for (const ChatMessage& message : messages) {
    absl::StrAppend(&out, "<|im_start|>", message.role, "\n", message.content, "<|im_end|>\n");
  }
  if (add_generation_prompt) out.append("<|im_start|>assistant\n");
  return out;
}

}  // namespace smollm::runtime::chat_internal

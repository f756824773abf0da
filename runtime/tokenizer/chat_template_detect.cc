// DetectChatTemplate: exact matches of the templates we reproduce, then markers and a warning.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/json_value_text.h"

namespace smollm::runtime {
namespace {

// SmolLM3-3B's released template (tokenizer_config.json), normalised as below: 5277 bytes
// with this FNV-1a 64 hash. The test suite checks both against the committed template text.
constexpr size_t kSmolLM3Length = 5277;
constexpr uint64_t kSmolLM3Fnv1a = 0xa321c9af54728102ULL;

// SmolLM2's template as stored in its GGUF files (with newline characters, not `\n`
// escapes, inside its string literals).
constexpr std::string_view kSmolLM2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}";

// transformers' historical default ChatML template.
constexpr std::string_view kChatMLTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}";

// `known` or the same text with its newlines written as `\n` escapes, which Jinja reads the
// same inside string literals (both templates have all their newlines there).
bool IsKnownText(std::string_view text, std::string_view known) {
  return text == known || text == PythonReplace(known, "\n", "\\n");
}

uint64_t Fnv1a64(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Differences that do not change what renders: llama.cpp's converter drops the `[:]` list
// slices (its Jinja engine lacks them) and files may end with a newline.
std::string Normalize(std::string_view text) {
  std::string out = PythonReplace(text, "[:]", "");
  while (!out.empty() &&
         (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  return out;
}

}  // namespace

std::string_view ChatTemplateFamilyName(ChatTemplateFamily family) {
  switch (family) {
    case ChatTemplateFamily::kSmolLM3:
      return "smollm3";
    case ChatTemplateFamily::kSmolLM2:
      return "smollm2";
    case ChatTemplateFamily::kChatML:
      return "chatml";
  }
  return "chatml";
}

ChatTemplateDetection DetectChatTemplate(std::string_view template_text) {
  const std::string text = Normalize(template_text);
  if (text.size() == kSmolLM3Length && Fnv1a64(text) == kSmolLM3Fnv1a) {
    return {ChatTemplateFamily::kSmolLM3, ""};
  }
  if (IsKnownText(text, kSmolLM2Template)) return {ChatTemplateFamily::kSmolLM2, ""};
  if (IsKnownText(text, kChatMLTemplate)) return {ChatTemplateFamily::kChatML, ""};

  if (text.empty()) {
    return {ChatTemplateFamily::kChatML, "the model has no chat template; rendering plain ChatML"};
  }
  const bool chatml = absl::StrContains(text, "<|im_start|>");
  if (chatml && absl::StrContains(text, "Reasoning Mode")) {
    if (absl::StrContains(text, "XML Tools")) {
      return {ChatTemplateFamily::kSmolLM3,
              "the chat template looks like the pre-release SmolLM3 template (tool sections "
              "always present, system block always closed); rendering with the released "
              "SmolLM3 template, so prompts differ from what this text would render"};
    }
    return {ChatTemplateFamily::kSmolLM3,
            absl::StrCat("the chat template looks like SmolLM3's but differs from the released "
                         "text (",
                         template_text.size(),
                         " bytes); rendering with the released SmolLM3 template")};
  }
  if (chatml && absl::StrContains(text, "named SmolLM")) {
    return {ChatTemplateFamily::kSmolLM2,
            "the chat template looks like SmolLM2's but differs from it; rendering with "
            "SmolLM2's ChatML template"};
  }
  if (chatml) {
    return {ChatTemplateFamily::kChatML,
            "unrecognised ChatML-style chat template; rendering plain ChatML"};
  }
  return {ChatTemplateFamily::kChatML, "unrecognised chat template; falling back to plain ChatML"};
}

}  // namespace smollm::runtime

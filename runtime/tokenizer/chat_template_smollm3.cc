// SmolLM3's chat template, step for step in the order of the Jinja text it reproduces.
#include <optional>
#include <string>
#include <string_view>

#include "runtime/tokenizer/chat_template_internal.h"
#include "runtime/tokenizer/json_value_python.h"
#include "runtime/tokenizer/json_value_text.h"

namespace smollm::runtime::chat_internal {
namespace {

constexpr std::string_view kThink = "/think";
constexpr std::string_view kNoThink = "/no_think";
constexpr std::string_view kSystemOverride = "/system_override";

constexpr std::string_view kThinkInstructions =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an "
    "assistant involves thoroughly exploring questions through a systematic thinking process "
    "before providing the final precise and accurate solutions. This requires engaging in a "
    "comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, "
    "backtracking, and iteration to develop well-considered thinking process. Please structure "
    "your response into two main sections: Thought and Solution using the specified format: "
    "<think> Thought section </think> Solution section. In the Thought section, detail your "
    "reasoning process in steps. Each step should include detailed considerations such as "
    "analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the "
    "accuracy of the current steps, refining any errors, and revisiting previous steps. In the "
    "Solution section, based on various attempts, explorations, and reflections from the "
    "Thought section, systematically present the final solution that you deem correct. The "
    "Solution section should be logical, accurate, and concise and detail necessary steps "
    "needed to reach the conclusion.\n\n";
constexpr std::string_view kNoThinkInstructions =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n";

constexpr std::string_view kXmlToolsIntro =
    "You may call one or more functions to assist with the user query.\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n\n<tools>\n";
constexpr std::string_view kXmlToolsOutro =
    "</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";
constexpr std::string_view kPythonToolsIntro =
    "When you send a message containing Python code between '<code>' and '</code>' tags, it "
    "will be executed in a stateful Jupyter notebook environment, and you will then be given "
    "the output to continued reasoning in an agentic loop.\n\nYou can use the following tools "
    "in your python code like regular functions:\n<tools>\n";
constexpr std::string_view kPythonToolsOutro =
    "</tools>\n\nThe state persists between code executions: so variables that you define in "
    "one step are still available thereafter.";

constexpr std::string_view kEmptyThink = "<think>\n\n</think>\n";

// Python's `part in text`.
bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// A Jinja list is truthy when it has elements.
bool Truthy(const JsonValue* tools) { return tools != nullptr && !tools->items().empty(); }

// `intro ~ (tool | string) ~ "\n"` for each tool, then `outro`.
void AppendToolList(const JsonValue& tools, std::string_view intro, std::string_view outro,
                    std::string* out) {
  out->append(intro);
  for (const JsonValue& tool : tools.items()) {
    out->append(PythonStr(tool));
    out->push_back('\n');
  }
  out->append(outro);
}

}  // namespace

std::string RenderSmolLM3(absl::Span<const ChatMessage> messages, const ChatRenderOptions& options,
                          const JsonValue* xml_tools, const JsonValue* python_tools) {
  std::string_view reasoning_mode = options.enable_thinking.value_or(true) ? kThink : kNoThink;
  std::string out = "<|im_start|>system\n";

  // Only a system message in first place counts; it replaces the custom_instructions variable
  // and its flags override enable_thinking.
  const bool has_system = !messages.empty() && messages[0].role == "system";
  std::optional<std::string> custom_instructions = options.custom_instructions;
  std::string_view system_message;
  if (has_system) {
    system_message = messages[0].content;
    if (Contains(system_message, kNoThink)) {
      reasoning_mode = kNoThink;
    } else if (Contains(system_message, kThink)) {
      reasoning_mode = kThink;
    }
    custom_instructions = std::string(
        PythonRstrip(PythonReplace(PythonReplace(system_message, kNoThink, ""), kThink, "")));
  }

  if (has_system && Contains(system_message, kSystemOverride)) {
    // The system text replaces the whole metadata header (and the tool lists).
    out.append(PythonRstrip(PythonReplace(*custom_instructions, kSystemOverride, "")));
    out.append("<|im_end|>\n");
  } else {
    out.append("## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: ")
        .append(options.date)
        .append("\nReasoning Mode: ")
        .append(reasoning_mode)
        .append("\n\n## Custom Instructions\n\n");
    if (custom_instructions.has_value() && !custom_instructions->empty()) {
      out.append(*custom_instructions).append("\n\n");
    } else if (reasoning_mode == kThink) {
      out.append(kThinkInstructions);
    } else {
      out.append(kNoThinkInstructions);
    }
    // The system block is closed only here: without tools the first turn follows directly.
    if (Truthy(xml_tools) || Truthy(python_tools)) {
      out.append("### Tools\n\n");
      if (Truthy(xml_tools)) AppendToolList(*xml_tools, kXmlToolsIntro, kXmlToolsOutro, &out);
      if (Truthy(python_tools)) {
        AppendToolList(*python_tools, kPythonToolsIntro, kPythonToolsOutro, &out);
      }
      out.append("\n\n<|im_end|>\n");
    }
  }

  for (const ChatMessage& message : messages) {
    if (message.role == "user" || message.role == "tool") {
      // Tool results are presented as user turns.
      out.append("<|im_start|>user\n").append(message.content).append("<|im_end|>\n");
    } else if (message.role == "assistant") {
      // Past turns keep their text (think blocks included) minus leading newlines; in
      // /no_think mode each gets an empty think block in front.
      out.append("<|im_start|>assistant\n")
          .append(reasoning_mode == kThink ? "" : kEmptyThink)
          .append(PythonLstripAscii(message.content, "\n"))
          .append("<|im_end|>\n");
    }
    // System messages render nothing here: the first one went into the header, later ones
    // are dropped by the template.
  }

  if (options.add_generation_prompt) {
    out.append("<|im_start|>assistant\n").append(reasoning_mode == kThink ? "" : kEmptyThink);
  }
  return out;
}

}  // namespace smollm::runtime::chat_internal

// Fuzzes the chat-template renderers with arbitrary conversations: roles, contents, tool
// calls and tool lists (JSON parsed and printed as Python would), options, and session
// turns; and template detection on arbitrary template text. Every error names what is
// wrong, a rendering of valid UTF-8 inputs is valid UTF-8, and a session's turns add up
// to the whole conversation's rendering.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/chat_turns.h"
#include "runtime/tokenizer/utf8.h"

namespace smollm::fuzz {
namespace {

using runtime::ChatTemplateFamily;

constexpr const char* kRoles[] = {"system", "user", "assistant", "tool"};
constexpr const char* kSamples[] = {
    "", "/think", "/no_think", "/system_override", "<|im_start|>", "<|im_end|>",
    "<think>\n\n</think>", "[]", "[{\"name\": \"f\", \"arguments\": {\"x\": 1}}]",
    "[{\"type\": \"function\", \"function\": {\"name\": \"get\", \"parameters\": {}}}]",
    "{\"a\": [1, 2.5, true, null, \"\\u00e9\\ud83d\\ude00\"]}", "05 March 2025"};

// Tracks whether every string handed to the renderer was valid UTF-8.
struct Input {
  FuzzedDataProvider& fdp;
  bool all_utf8 = true;

  std::string Text() {
    std::string s;
    if (fdp.ConsumeIntegralInRange<int>(0, 3) == 0) {
      s = kSamples[fdp.ConsumeIntegralInRange<size_t>(0, std::size(kSamples) - 1)];
    } else {
      s = fdp.ConsumeRandomLengthString(256);
    }
    all_utf8 = all_utf8 && runtime::IsValidUtf8(s);
    return s;
  }
  std::string Role() {
    if (fdp.ConsumeIntegralInRange<int>(0, 7) == 0) return Text();
    return kRoles[fdp.ConsumeIntegralInRange<size_t>(0, std::size(kRoles) - 1)];
  }
  std::optional<bool> MaybeBool() {
    switch (fdp.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: return std::nullopt;
      case 1: return true;
      default: return false;
    }
  }
  ChatTemplateFamily Family() {
    return static_cast<ChatTemplateFamily>(fdp.ConsumeIntegralInRange<int>(0, 2));
  }
};

void CheckResult(const absl::StatusOr<std::string>& out, const Input& in) {
  FUZZ_CHECK(HasMessage(out.status()), "render error without a message");
  FUZZ_CHECK(out.ok() || out.status().code() == absl::StatusCode::kInvalidArgument,
             "render error that is not InvalidArgument");
  if (out.ok() && in.all_utf8) {
    FUZZ_CHECK(runtime::IsValidUtf8(*out), "valid UTF-8 inputs rendered invalid UTF-8");
  }
}

void FuzzRenderChat(Input& in) {
  const ChatTemplateFamily family = in.Family();
  std::vector<runtime::ChatMessage> messages(in.fdp.ConsumeIntegralInRange<size_t>(0, 6));
  for (runtime::ChatMessage& m : messages) {
    m.role = in.Role();
    m.content = in.Text();
    if (in.fdp.ConsumeBool()) m.tool_calls = in.Text();
    if (in.fdp.ConsumeBool()) m.tool_call_id = in.Text();
  }
  runtime::ChatRenderOptions options;
  options.add_generation_prompt = in.fdp.ConsumeBool();
  options.enable_thinking = in.MaybeBool();
  if (in.fdp.ConsumeBool()) options.custom_instructions = in.Text();
  if (in.fdp.ConsumeBool()) options.xml_tools = in.Text();
  if (in.fdp.ConsumeBool()) options.python_tools = in.Text();
  options.date = in.fdp.ConsumeBool() ? runtime::FormatChatDate(2025, 3, 5) : in.Text();
  CheckResult(runtime::RenderChat(family, messages, options), in);
}

void FuzzRenderTurn(Input& in) {
  runtime::ChatTurnOptions options;
  options.family = in.Family();
  options.system_prompt = in.Text();
  options.enable_thinking = in.MaybeBool();
  options.date = in.fdp.ConsumeBool() ? runtime::FormatChatDate(2025, 3, 5) : in.Text();
  const int32_t turn = in.fdp.ConsumeBool() ? in.fdp.ConsumeIntegralInRange<int32_t>(0, 3)
                                            : in.fdp.ConsumeIntegral<int32_t>();
  const bool closed = in.fdp.ConsumeBool();
  const std::string content = in.Text();
  const absl::StatusOr<std::string> out = runtime::RenderChatTurn(options, turn, content, closed);
  CheckResult(out, in);
  if (out.ok()) FUZZ_CHECK(turn >= 0, "a negative turn index rendered");
}

// A session replayed turn by turn (RenderChatTurn, each reply, the end-of-turn token when
// the reply was closed by it) renders, before each reply, what RenderChat renders for the
// conversation so far: chat_turns.h's contract. User turns are non-empty valid UTF-8 (the
// service refuses others); SmolLM3's template strips leading newlines from past replies,
// the one documented exception, so replies here do not start with one.
void FuzzSessionReplay(Input& in) {
  runtime::ChatTurnOptions options;
  options.family = in.Family();
  options.system_prompt = in.Text();
  options.enable_thinking = in.MaybeBool();
  options.date = runtime::FormatChatDate(2025, 3, 5);
  const size_t turns = in.fdp.ConsumeIntegralInRange<size_t>(1, 4);
  std::vector<runtime::ChatMessage> messages;
  if (!options.system_prompt.empty()) messages.push_back({"system", options.system_prompt});
  std::string history;
  bool previous_closed = true;
  for (size_t k = 0; k < turns; ++k) {
    std::string user = in.Text();
    if (user.empty()) user = "?";
    std::string reply = in.Text();
    while (!reply.empty() && reply.front() == '\n') reply.erase(0, 1);
    if (!in.all_utf8) return;
    absl::StatusOr<std::string> turn =
        runtime::RenderChatTurn(options, static_cast<int32_t>(k), user, previous_closed);
    FUZZ_CHECK(turn.ok(), "a valid session turn failed to render");
    history += *turn;
    messages.push_back({"user", user});
    runtime::ChatRenderOptions render;
    render.enable_thinking = options.enable_thinking;
    render.date = options.date;
    absl::StatusOr<std::string> whole = runtime::RenderChat(options.family, messages, render);
    FUZZ_CHECK(whole.ok(), "a valid conversation failed to render");
    FUZZ_CHECK(*whole == history, "session turns differ from the whole conversation's text");
    history += reply;
    previous_closed = in.fdp.ConsumeBool();
    if (previous_closed) history += runtime::kChatEndOfTurn;
    messages.push_back({"assistant", reply});
  }
}

}  // namespace
}  // namespace smollm::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smollm;
  FuzzedDataProvider fdp(data, size);
  fuzz::Input in{fdp};
  switch (fdp.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
    case 1:
      fuzz::FuzzRenderChat(in);
      break;
    case 2:
      fuzz::FuzzRenderTurn(in);
      break;
    case 3:
      fuzz::FuzzSessionReplay(in);
      break;
    default: {
      const std::string text = fdp.ConsumeRemainingBytesAsString();
      const runtime::ChatTemplateDetection d = runtime::DetectChatTemplate(text);
      FUZZ_CHECK(static_cast<int>(d.family) >= 0 && static_cast<int>(d.family) <= 2,
                 "detection returned no family");
      runtime::ChatTemplateFamilyName(d.family);
      break;
    }
  }
  return 0;
}

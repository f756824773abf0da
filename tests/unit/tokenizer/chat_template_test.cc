// Chat templates: family detection, input errors, dates and the SmolLM3 structure rules.
#include "runtime/tokenizer/chat_template.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

std::string SmolLM3Text() {
  return testing::ReadFixture("chat_template/smollm3_chat_template.jinja");
}
std::string SmolLM2Text() {
  return testing::ReadFixture("chat_template/smollm2_chat_template.jinja");
}

TEST(DetectChatTemplate, ReleasedSmolLM3AndConverterVariant) {
  const std::string text = SmolLM3Text();
  ASSERT_TRUE(absl::StrContains(text, "xml_tools[:]"));
  for (const std::string& variant : {text, absl::StrReplaceAll(text, {{"[:]", ""}}), text + "\n\n",
                                     text.substr(0, text.size() - 1)}) {
    const ChatTemplateDetection detection = DetectChatTemplate(variant);
    EXPECT_EQ(detection.family, ChatTemplateFamily::kSmolLM3);
    EXPECT_EQ(detection.warning, "");
  }
}

TEST(DetectChatTemplate, EditedSmolLM3Warns) {
  const std::string edited = absl::StrReplaceAll(SmolLM3Text(), {{"June 2025", "July 2025"}});
  const ChatTemplateDetection detection = DetectChatTemplate(edited);
  EXPECT_EQ(detection.family, ChatTemplateFamily::kSmolLM3);
  EXPECT_TRUE(absl::StrContains(detection.warning, "differs from the released"))
      << detection.warning;

  const std::string pre_release = absl::StrReplaceAll(
      SmolLM3Text(),
      {{"{{- \"### Tools\\n\\n\" -}}", "{{- \"## Tools\\n\\n### XML Tools\\n\\n\" -}}"}});
  ASSERT_NE(pre_release, SmolLM3Text());
  const ChatTemplateDetection old = DetectChatTemplate(pre_release);
  EXPECT_EQ(old.family, ChatTemplateFamily::kSmolLM3);
  EXPECT_TRUE(absl::StrContains(old.warning, "pre-release")) << old.warning;
}

TEST(DetectChatTemplate, SmolLM2AndChatML) {
  const ChatTemplateDetection smollm2 = DetectChatTemplate(SmolLM2Text());
  EXPECT_EQ(smollm2.family, ChatTemplateFamily::kSmolLM2);
  EXPECT_EQ(smollm2.warning, "");
  // The same text with `\n` escapes instead of newline characters in its string literals.
  const ChatTemplateDetection escaped =
      DetectChatTemplate(absl::StrReplaceAll(SmolLM2Text(), {{"\n", "\\n"}}));
  EXPECT_EQ(escaped.family, ChatTemplateFamily::kSmolLM2);
  EXPECT_EQ(escaped.warning, "");

  const ChatTemplateDetection edited = DetectChatTemplate(
      absl::StrReplaceAll(SmolLM2Text(), {{"trained by Hugging Face", "trained by someone"}}));
  EXPECT_EQ(edited.family, ChatTemplateFamily::kSmolLM2);
  EXPECT_FALSE(edited.warning.empty());

  const std::string chatml =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
      "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
      "{{ '<|im_start|>assistant\\n' }}{% endif %}";
  EXPECT_EQ(DetectChatTemplate(chatml).family, ChatTemplateFamily::kChatML);
  EXPECT_EQ(DetectChatTemplate(chatml).warning, "");

  const ChatTemplateDetection qwen_like =
      DetectChatTemplate("{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}");
  EXPECT_EQ(qwen_like.family, ChatTemplateFamily::kChatML);
  EXPECT_TRUE(absl::StrContains(qwen_like.warning, "ChatML")) << qwen_like.warning;
}

TEST(DetectChatTemplate, UnknownFallsBackToChatMLWithWarning) {
  for (const std::string& text :
       {std::string("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}"),
        std::string(""), std::string("\xFF\xFE garbage")}) {
    const ChatTemplateDetection detection = DetectChatTemplate(text);
    EXPECT_EQ(detection.family, ChatTemplateFamily::kChatML);
    EXPECT_FALSE(detection.warning.empty());
  }
  EXPECT_EQ(ChatTemplateFamilyName(ChatTemplateFamily::kSmolLM3), "smollm3");
  EXPECT_EQ(ChatTemplateFamilyName(ChatTemplateFamily::kSmolLM2), "smollm2");
  EXPECT_EQ(ChatTemplateFamilyName(ChatTemplateFamily::kChatML), "chatml");
}

ChatRenderOptions Dated() {
  ChatRenderOptions options;
  options.date = "05 March 2025";
  return options;
}

void ExpectInvalid(ChatTemplateFamily family, const std::vector<ChatMessage>& messages,
                   const ChatRenderOptions& options, const std::string& field) {
  const absl::StatusOr<std::string> result = RenderChat(family, messages, options);
  ASSERT_FALSE(result.ok()) << "expected an error naming " << field;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(result.status().message(), field)) << result.status();
}

TEST(RenderChat, InvalidInputNamesTheField) {
  const ChatMessage user{"user", "hi"};
  for (ChatTemplateFamily family :
       {ChatTemplateFamily::kSmolLM3, ChatTemplateFamily::kSmolLM2, ChatTemplateFamily::kChatML}) {
    ExpectInvalid(family, {}, Dated(), "messages: empty");
    ExpectInvalid(family, {user, {"developer", "x"}}, Dated(), "messages[1].role");
    ExpectInvalid(family, {user, {"User", "x"}}, Dated(), "messages[1].role");
    ExpectInvalid(family, {{"user", "bad \xC3"}}, Dated(), "messages[0].content");
    ExpectInvalid(family, {user, {"assistant", "", "[{\"name\": }]"}}, Dated(),
                  "messages[1].tool_calls: invalid JSON at byte 10");
    ExpectInvalid(family, {user, {"assistant", "", "{\"name\": 1}"}}, Dated(),
                  "messages[1].tool_calls: expected a JSON array");
    ChatRenderOptions tools = Dated();
    tools.xml_tools = "[{\"name\": \"f\",}]";
    ExpectInvalid(family, {user}, tools, "options.xml_tools: invalid JSON");
    tools.xml_tools = "{\"name\": \"f\"}";
    ExpectInvalid(family, {user}, tools, "options.xml_tools: expected a JSON array");
    tools.xml_tools = "";
    tools.python_tools = "[";
    ExpectInvalid(family, {user}, tools, "options.python_tools");
    ChatRenderOptions custom = Dated();
    custom.custom_instructions = "\xE2\x82";
    ExpectInvalid(family, {user}, custom, "options.custom_instructions");
  }
  ExpectInvalid(ChatTemplateFamily::kSmolLM3, {user}, ChatRenderOptions(), "options.date");
  EXPECT_TRUE(RenderChat(ChatTemplateFamily::kSmolLM2, {user}, ChatRenderOptions()).ok());
}

TEST(RenderChat, SmolLM3SystemBlockClosesOnlyWithTools) {
  const std::vector<ChatMessage> messages = {{"user", "hi"}};
  ChatRenderOptions options = Dated();
  options.enable_thinking = false;
  absl::StatusOr<std::string> plain = RenderChat(ChatTemplateFamily::kSmolLM3, messages, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain,
            "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\n"
            "Today Date: 05 March 2025\nReasoning Mode: /no_think\n\n## Custom Instructions\n\n"
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n"
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n");

  options.python_tools = R"j(["f(x)"])j";
  absl::StatusOr<std::string> tools = RenderChat(ChatTemplateFamily::kSmolLM3, messages, options);
  ASSERT_TRUE(tools.ok());
  EXPECT_TRUE(absl::StrContains(*tools, "<tools>\nf(x)\n</tools>")) << *tools;
  EXPECT_TRUE(absl::StrContains(*tools, "thereafter.\n\n<|im_end|>\n<|im_start|>user\n"));
}

TEST(RenderChat, SmolLM3ThinkingDefaultsToOn) {
  const std::vector<ChatMessage> messages = {{"user", "hi"}, {"assistant", "\n\nyo"}};
  ChatRenderOptions unset = Dated();
  ChatRenderOptions on = Dated();
  on.enable_thinking = true;
  absl::StatusOr<std::string> a = RenderChat(ChatTemplateFamily::kSmolLM3, messages, unset);
  absl::StatusOr<std::string> b = RenderChat(ChatTemplateFamily::kSmolLM3, messages, on);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(absl::StrContains(*a, "Reasoning Mode: /think\n"));
  EXPECT_TRUE(absl::EndsWith(*a, "<|im_start|>assistant\nyo<|im_end|>\n<|im_start|>assistant\n"));
}

TEST(ChatDate, FormatsLikePythonStrftime) {
  EXPECT_EQ(FormatChatDate(2025, 3, 5), "05 March 2025");
  EXPECT_EQ(FormatChatDate(1999, 12, 31), "31 December 1999");
  EXPECT_EQ(FormatChatDate(2026, 1, 1), "01 January 2026");
  const std::vector<std::string> parts = absl::StrSplit(TodayChatDate(), ' ');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].size(), 2u);
  EXPECT_EQ(parts[2].size(), 4u);
  bool known_month = false;
  for (int month = 1; month <= 12; ++month) {
    known_month |= FormatChatDate(2000, month, 1) == "01 " + parts[1] + " 2000";
  }
  EXPECT_TRUE(known_month) << parts[1];
}

}  // namespace
}  // namespace smollm::runtime

// RenderChat against transformers: every committed conversation must render byte for byte as
// apply_chat_template rendered it (tests/reference/chat_template_reference.py).
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/json_value.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

const JsonValue& Fixture() {
  static const JsonValue* fixture = [] {
    absl::StatusOr<JsonValue> parsed =
        ParseJson(testing::ReadFixture("chat_template/chat_template_cases.json"));
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return new JsonValue(parsed.ok() ? *std::move(parsed) : JsonValue());
  }();
  return *fixture;
}

std::string StringOr(const JsonValue& object, std::string_view key, std::string fallback) {
  const JsonValue* value = object.Find(key);
  return value != nullptr && value->kind() == JsonValue::Kind::kString ? value->text() : fallback;
}

ChatTemplateFamily FamilyOf(const std::string& name) {
  if (name == "smollm3") return ChatTemplateFamily::kSmolLM3;
  if (name == "smollm2") return ChatTemplateFamily::kSmolLM2;
  EXPECT_EQ(name, "chatml");
  return ChatTemplateFamily::kChatML;
}

TEST(ChatTemplateConformance, FixtureProvenance) {
  EXPECT_FALSE(StringOr(Fixture(), "transformers_version", "").empty());
  EXPECT_EQ(StringOr(Fixture(), "smollm2_gguf_sha256", ""),
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53");
}

TEST(ChatTemplateConformance, RendersLikeTransformers) {
  const JsonValue* cases = Fixture().Find("cases");
  ASSERT_NE(cases, nullptr);
  std::map<std::string, int> per_family;
  for (const JsonValue& c : cases->items()) {
    const std::string family = StringOr(c, "family", "");
    const std::string name = family + "/" + StringOr(c, "name", "");
    ++per_family[family];

    std::vector<ChatMessage> messages;
    for (const JsonValue& m : c.Find("messages")->items()) {
      ChatMessage message;
      message.role = StringOr(m, "role", "");
      message.content = StringOr(m, "content", "");  // null content renders as ""
      message.tool_calls = StringOr(m, "tool_calls", "");
      message.tool_call_id = StringOr(m, "tool_call_id", "");
      messages.push_back(std::move(message));
    }
    ChatRenderOptions options;
    options.add_generation_prompt = c.Find("add_generation_prompt")->bool_value();
    if (const JsonValue* thinking = c.Find("enable_thinking")) {
      options.enable_thinking = thinking->bool_value();
    }
    if (const JsonValue* custom = c.Find("custom_instructions")) {
      options.custom_instructions = custom->text();
    }
    options.xml_tools = StringOr(c, "xml_tools", "");
    options.python_tools = StringOr(c, "python_tools", "");
    options.date = StringOr(c, "date", "");
    const std::vector<JsonValue>& ymd = c.Find("date_ymd")->items();
    EXPECT_EQ(FormatChatDate(std::stoi(ymd[0].text()), std::stoi(ymd[1].text()),
                             std::stoi(ymd[2].text())),
              options.date)
        << name;

    const absl::StatusOr<std::string> rendered = RenderChat(FamilyOf(family), messages, options);
    ASSERT_TRUE(rendered.ok()) << name << ": " << rendered.status();
    EXPECT_EQ(*rendered, StringOr(c, "expected", "")) << name;
  }
  EXPECT_GE(per_family["smollm3"], 12);
  EXPECT_GE(per_family["smollm2"], 12);
  EXPECT_GE(per_family["chatml"], 1);
}

// The committed template texts are the ones the renderers reproduce.
TEST(ChatTemplateConformance, FixtureTemplatesAreDetectedExactly) {
  const ChatTemplateDetection smollm3 =
      DetectChatTemplate(testing::ReadFixture("chat_template/smollm3_chat_template.jinja"));
  EXPECT_EQ(smollm3.family, ChatTemplateFamily::kSmolLM3);
  EXPECT_EQ(smollm3.warning, "");
  const ChatTemplateDetection smollm2 =
      DetectChatTemplate(testing::ReadFixture("chat_template/smollm2_chat_template.jinja"));
  EXPECT_EQ(smollm2.family, ChatTemplateFamily::kSmolLM2);
  EXPECT_EQ(smollm2.warning, "");
  const ChatTemplateDetection chatml =
      DetectChatTemplate(StringOr(Fixture(), "chatml_template", "missing"));
  EXPECT_EQ(chatml.family, ChatTemplateFamily::kChatML);
  EXPECT_EQ(chatml.warning, "");
}

}  // namespace
}  // namespace smollm::runtime

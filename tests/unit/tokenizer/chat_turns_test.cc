// Session turns: turn texts plus the replies rebuild RenderChat's (and transformers') text of
// the whole conversation, in text and in tokens, and the one place they differ on purpose.
#include "runtime/tokenizer/chat_turns.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/json_value.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

constexpr ChatTemplateFamily kFamilies[] = {
    ChatTemplateFamily::kSmolLM3, ChatTemplateFamily::kSmolLM2, ChatTemplateFamily::kChatML};

// A conversation as a session sees it: the user turns and the replies generated for them.
struct Exchange {
  std::string user;
  std::string reply;  // as generated, without the end-of-turn token
};

// Replays a session: each turn's text, then its reply and (when `closed`) the end-of-turn
// token the model sampled. Returns the history text before turn `k`'s reply, for each k, in
// *before_reply.
std::string Replay(const ChatTurnOptions& options, const std::vector<Exchange>& exchanges,
                   const std::vector<bool>& closed, std::vector<std::string>* before_reply) {
  std::string history;
  for (size_t k = 0; k < exchanges.size(); ++k) {
    const bool previous_closed = k == 0 || closed[k - 1];
    absl::StatusOr<std::string> turn = RenderChatTurn(options, static_cast<int32_t>(k),
                                                      exchanges[k].user, previous_closed);
    EXPECT_TRUE(turn.ok()) << turn.status();
    history += turn.value_or("");
    if (before_reply != nullptr) before_reply->push_back(history);
    history += exchanges[k].reply;
    if (closed[k]) history += kChatEndOfTurn;
  }
  return history;
}

// RenderChat of the system prompt (when given) and the first `n` exchanges, with the user
// message of exchange `n` and the generation prompt after them.
std::string Whole(const ChatTurnOptions& options, const std::vector<Exchange>& exchanges,
                  size_t n) {
  std::vector<ChatMessage> messages;
  if (!options.system_prompt.empty()) messages.push_back({"system", options.system_prompt});
  for (size_t k = 0; k < n; ++k) {
    messages.push_back({"user", exchanges[k].user});
    messages.push_back({"assistant", exchanges[k].reply});
  }
  messages.push_back({"user", exchanges[n].user});
  ChatRenderOptions render;
  render.enable_thinking = options.enable_thinking;
  render.date = options.date;
  absl::StatusOr<std::string> text = RenderChat(options.family, messages, render);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

std::vector<Exchange> Conversation(bool thinking_replies) {
  const std::string think = thinking_replies ? "<think>\nAdd them.\n</think>\n\n" : "";
  return {{"What is 2+2?", think + "4."},
          {"And 3+3?\n", think + "6, since 3+3 = 6.\n"},
          {"Thanks \xF0\x9F\x98\x80", think + "You're welcome!"},
          {"Bye", "Bye."}};
}

TEST(RenderChatTurn, TurnsRebuildTheWholeConversation) {
  for (ChatTemplateFamily family : kFamilies) {
    for (std::optional<bool> thinking : {std::optional<bool>(), std::optional<bool>(true),
                                         std::optional<bool>(false)}) {
      for (const std::string system : {"", "You are terse.", "Be brief. /no_think"}) {
        const ChatTurnOptions options{family, system, thinking, "05 March 2025"};
        SCOPED_TRACE(absl::StrCat(std::string(ChatTemplateFamilyName(family)), " thinking=",
                                  thinking.has_value() ? (*thinking ? "on" : "off") : "unset",
                                  " system=\"", system, "\""));
        const std::vector<Exchange> exchanges = Conversation(thinking.value_or(true));
        // Each reply closed by its end-of-turn token, or none of them (max_tokens endings),
        // or a mix: the history text is the same.
        for (const std::vector<bool>& closed :
             {std::vector<bool>{true, true, true, true}, std::vector<bool>{false, false, false, false},
              std::vector<bool>{true, false, true, false}}) {
          std::vector<std::string> before_reply;
          Replay(options, exchanges, closed, &before_reply);
          ASSERT_EQ(before_reply.size(), exchanges.size());
          for (size_t k = 0; k < exchanges.size(); ++k) {
            EXPECT_EQ(before_reply[k], Whole(options, exchanges, k)) << "turn " << k;
          }
        }
      }
    }
  }
}

TEST(RenderChatTurn, ClosingTextIsPrependedOnlyWhenMissing) {
  const ChatTurnOptions options{ChatTemplateFamily::kChatML, "", std::nullopt, ""};
  EXPECT_EQ(*RenderChatTurn(options, 0, "Hi", false), "<|im_start|>user\nHi<|im_end|>\n"
                                                      "<|im_start|>assistant\n");
  EXPECT_EQ(*RenderChatTurn(options, 0, "Hi", true), *RenderChatTurn(options, 0, "Hi", false));
  EXPECT_EQ(*RenderChatTurn(options, 3, "Hi", true),
            "\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(*RenderChatTurn(options, 3, "Hi", false),
            "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // SmolLM3 /no_think: the empty think block opens every reply; later turns print no date.
  const ChatTurnOptions no_think{ChatTemplateFamily::kSmolLM3, "", false, "05 March 2025"};
  EXPECT_EQ(*RenderChatTurn(no_think, 1, "Q", true),
            "\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n");
  const ChatTurnOptions flag{ChatTemplateFamily::kSmolLM3, "/no_think", true, "05 March 2025"};
  EXPECT_EQ(*RenderChatTurn(flag, 1, "Q", true), *RenderChatTurn(no_think, 1, "Q", true));
}

// SmolLM3's template strips leading newlines from past replies; the session keeps them.
TEST(RenderChatTurn, SmolLM3KeepsTheLeadingNewlinesItGenerated) {
  for (std::optional<bool> thinking : {std::optional<bool>(true), std::optional<bool>(false)}) {
    const ChatTurnOptions options{ChatTemplateFamily::kSmolLM3, "", thinking, "01 January 2026"};
    const std::string reply = "\n\n<think>\nHm.\n</think>\nAnswer.";
    std::vector<std::string> before_reply;
    Replay(options, {{"Q1", reply}, {"Q2", "A2"}}, {true, true}, &before_reply);
    const std::string rerendered = Whole(options, {{"Q1", reply}, {"Q2", ""}}, 1);
    EXPECT_NE(before_reply[1], rerendered);
    // What we keep: the reply exactly as generated where the template put it stripped.
    const std::string marked = Whole(options, {{"Q1", "@REPLY@"}, {"Q2", ""}}, 1);
    EXPECT_EQ(before_reply[1], absl::StrReplaceAll(marked, {{"@REPLY@", reply}}));
    EXPECT_EQ(absl::StrReplaceAll(marked, {{"@REPLY@", reply.substr(2)}}), rerendered);
  }
}

std::string StringOr(const JsonValue& object, std::string_view key) {
  const JsonValue* value = object.Find(key);
  return value != nullptr && value->kind() == JsonValue::Kind::kString ? value->text() : "";
}

// transformers' own renderings (tests/reference/chat_template_reference.py) of every
// committed conversation a session can produce: an optional system message, then user and
// assistant turns alternating, no tools and no custom instructions.
TEST(RenderChatTurn, MatchesTransformersConversations) {
  absl::StatusOr<JsonValue> fixture =
      ParseJson(testing::ReadFixture("chat_template/chat_template_cases.json"));
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  int checked = 0;
  for (const JsonValue& c : fixture->Find("cases")->items()) {
    if (!StringOr(c, "xml_tools").empty() || !StringOr(c, "python_tools").empty() ||
        c.Find("custom_instructions") != nullptr) {
      continue;
    }
    const std::string family_name = StringOr(c, "family");
    ChatTurnOptions options;
    for (ChatTemplateFamily f : kFamilies) {
      if (ChatTemplateFamilyName(f) == family_name) options.family = f;
    }
    options.date = StringOr(c, "date");
    if (const JsonValue* thinking = c.Find("enable_thinking")) {
      options.enable_thinking = thinking->kind() == JsonValue::Kind::kBool && thinking->bool_value();
    }
    const auto& messages = c.Find("messages")->items();
    size_t i = 0;
    if (!messages.empty() && StringOr(messages[0], "role") == "system") {
      options.system_prompt = StringOr(messages[0], "content");
      // An empty system message is not "no system message" for ChatML templates.
      if (options.system_prompt.empty()) continue;
      ++i;
    }
    std::vector<Exchange> exchanges;
    bool session_shaped = i < messages.size();
    for (; session_shaped && i < messages.size(); i += 2) {
      session_shaped = StringOr(messages[i], "role") == "user" &&
                       (i + 1 == messages.size() || StringOr(messages[i + 1], "role") == "assistant");
      const std::string reply = i + 1 < messages.size() ? StringOr(messages[i + 1], "content") : "";
      // Leading newlines are the documented difference (the test above).
      session_shaped = session_shaped && (reply.empty() || reply[0] != '\n');
      exchanges.push_back({StringOr(messages[i], "content"), reply});
    }
    const size_t turns_and_replies = messages.size() - (options.system_prompt.empty() ? 0 : 1);
    const bool ends_with_user = turns_and_replies % 2 == 1;
    const JsonValue* add = c.Find("add_generation_prompt");
    const bool generation_prompt = add != nullptr && add->bool_value();
    if (!session_shaped || generation_prompt != ends_with_user) continue;
    SCOPED_TRACE(family_name + "/" + StringOr(c, "name"));
    std::vector<bool> closed(exchanges.size(), true);
    // A conversation that ends on a user turn has no reply yet; one that ends on a reply
    // renders the newline after its end-of-turn token.
    closed.back() = !ends_with_user;
    std::string history = Replay(options, exchanges, closed, nullptr);
    if (!ends_with_user) history += "\n";
    EXPECT_EQ(history, StringOr(c, "expected"));
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

// Tokenizing turn by turn (what a session stores) gives the tokens of the whole text.
TEST(RenderChatTurn, TurnTokensEqualTheWholeConversationsTokens) {
  const std::string path = testing::TestModelPath();
  ASSERT_FALSE(path.empty());
  absl::StatusOr<GgufFile> gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  absl::StatusOr<BpeTokenizer> tokenizer = BpeTokenizer::FromGguf(*gguf);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const EncodeOptions special{.add_special = false, .parse_special = true};
  const std::vector<TokenId> end = tokenizer->Encode(kChatEndOfTurn, special);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0], tokenizer->eos_id());
  for (ChatTemplateFamily family : kFamilies) {
    for (bool thinking : {true, false}) {
      const ChatTurnOptions options{family, "", thinking, "28 October 2025"};
      const std::vector<Exchange> exchanges = Conversation(thinking);
      std::vector<TokenId> tokens;
      for (size_t k = 0; k < exchanges.size(); ++k) {
        tokenizer->Encode(*RenderChatTurn(options, static_cast<int32_t>(k), exchanges[k].user,
                                          true),
                          special, &tokens);
        if (k + 1 == exchanges.size()) break;
        // The reply as the model would emit it: plain text tokens, then the end token.
        tokenizer->Encode(exchanges[k].reply, special, &tokens);
        tokens.push_back(end[0]);
      }
      EXPECT_EQ(tokens, tokenizer->Encode(Whole(options, exchanges, exchanges.size() - 1),
                                          special))
          << ChatTemplateFamilyName(family) << " thinking=" << thinking;
    }
  }
}

TEST(RenderChatTurn, InvalidInputNamesTheField) {
  const ChatTurnOptions chatml{ChatTemplateFamily::kChatML, "", std::nullopt, ""};
  auto expect = [](const absl::StatusOr<std::string>& result, std::string_view needle) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_TRUE(testing::MessageContains(result.status(), needle)) << result.status();
  };
  expect(RenderChatTurn(chatml, -1, "Hi", true), "turn_index");
  expect(RenderChatTurn(chatml, 2, "bad \xC3", true), "user_content: invalid UTF-8 at byte 4");
  expect(RenderChatTurn({ChatTemplateFamily::kSmolLM2, "\xE2\x82", std::nullopt, ""}, 0, "Hi",
                        true),
         "options.system_prompt");
  // The date is required at every turn, so a session cannot start without one unnoticed.
  expect(RenderChatTurn({ChatTemplateFamily::kSmolLM3, "", true, ""}, 1, "Hi", true),
         "options.date");
}

}  // namespace
}  // namespace smollm::runtime

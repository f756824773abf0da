// Chat sessions rebuilt from OpenSession.history: the rebuilt session answers its next
// turn with the same tokens, from the same prompt, as the session that ran the earlier
// turns live; bad histories end the stream with a status naming the field.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

struct TurnResult {
  std::string text;
  std::vector<int32_t> token_ids;
  v1::TurnEnd end;
};

// Sends a user turn and reads its deltas up to its turn_end.
TurnResult RunTurn(ChatClient& chat, const std::string& content) {
  v1::ChatRequest request;
  request.mutable_turn()->set_content(content);
  EXPECT_TRUE(chat.stream().Write(request));
  TurnResult out;
  v1::ChatResponse response;
  while (chat.stream().Read(&response)) {
    if (response.has_delta()) {
      out.text += response.delta().text();
      out.token_ids.insert(out.token_ids.end(), response.delta().token_ids().begin(),
                           response.delta().token_ids().end());
      continue;
    }
    EXPECT_TRUE(response.has_turn_end()) << response.DebugString();
    out.end = response.turn_end();
    break;
  }
  return out;
}

v1::ChatMessage Message(const std::string& role, const std::string& content) {
  v1::ChatMessage m;
  m.set_role(role);
  m.set_content(content);
  return m;
}

// Short exchanges that SmolLM2-135M (Q4_1) answers with its end-of-turn token well within
// 48 tokens under greedy decoding (questions about places make it ramble to the limit).
const char* const kUsers[] = {"Hello!", "What is 2+2?", "Say hi."};

// Runs the three turns live, then rebuilds a session from the first two and runs the
// third there: same prompt, same reply.
// `ended`: how the first two live replies end (the case under test).
void ExpectRebuildMatchesLive(TestServer& server, const v1::SamplingParams& sampling,
                              v1::FinishReason ended) {
  v1::OpenSession open;
  open.set_system_prompt("You answer briefly.");
  *open.mutable_sampling() = sampling;
  std::vector<TurnResult> live;
  {
    ChatClient chat(server);
    ASSERT_TRUE(chat.Open(open).has_session());
    for (const char* user : kUsers) live.push_back(RunTurn(chat, user));
    EXPECT_TRUE(chat.Close().ok());
  }
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[0].end.finish_reason(), ended);
  EXPECT_EQ(live[1].end.finish_reason(), ended);
  for (int i = 0; i < 2; ++i) {
    open.add_history()->CopyFrom(Message("user", kUsers[i]));
    open.add_history()->CopyFrom(Message("assistant", live[i].text));
  }
  ChatClient chat(server);
  const v1::ChatResponse opened = chat.Open(open);
  ASSERT_TRUE(opened.has_session()) << opened.DebugString();
  EXPECT_EQ(opened.session().turns(), 2);
  // The first two turns, recomputed here: no KV of this session's own yet.
  EXPECT_GT(opened.session().history_tokens(), live[1].end.usage().prompt_tokens());
  EXPECT_LT(opened.session().history_tokens(), live[2].end.usage().prompt_tokens());
  EXPECT_EQ(opened.session().cached_tokens(), 0);
  const TurnResult again = RunTurn(chat, kUsers[2]);
  EXPECT_EQ(again.token_ids, live[2].token_ids);
  EXPECT_EQ(again.text, live[2].text);
  EXPECT_EQ(again.end.usage().prompt_tokens(), live[2].end.usage().prompt_tokens());
  EXPECT_EQ(again.end.finish_reason(), live[2].end.finish_reason());
  EXPECT_TRUE(chat.Close().ok());
}

TEST(ServerRebuildTest, RebuiltSessionAnswersAsTheLiveOneAfterRepliesCutByMaxTokens) {
  TestServer server;
  ExpectRebuildMatchesLive(server, GreedyExact(6), v1::FINISH_REASON_MAX_TOKENS);
}

TEST(ServerRebuildTest, RebuiltSessionAnswersAsTheLiveOneAfterRepliesThatStopped) {
  TestServer server;
  v1::SamplingParams greedy;
  greedy.set_temperature(0);
  greedy.set_max_tokens(48);  // the first two replies stop well within it
  ExpectRebuildMatchesLive(server, greedy, v1::FINISH_REASON_STOP);
}

TEST(ServerRebuildTest, BadHistoriesEndTheStreamNamingTheField) {
  TestServer server;
  struct Case {
    std::vector<v1::ChatMessage> history;
    grpc::StatusCode code;
    std::string field;
  };
  // Within the test server's 4096 bytes, but each digit is a token: past 1024 tokens.
  std::string digits;
  for (int i = 0; digits.size() < 1900; ++i) digits += std::to_string(i * 7919 % 1000) + ",";
  const std::vector<Case> cases = {
      {{Message("assistant", "Hi"), Message("user", "Hello")},
       grpc::StatusCode::INVALID_ARGUMENT, "open.history[0].role"},
      {{Message("user", "Hi"), Message("user", "Hello")},
       grpc::StatusCode::INVALID_ARGUMENT, "open.history[1].role"},
      {{Message("user", "Hi"), Message("assistant", "Hello"), Message("user", "More")},
       grpc::StatusCode::INVALID_ARGUMENT, "open.history[2].role"},
      {{Message("user", ""), Message("assistant", "Hello")},
       grpc::StatusCode::INVALID_ARGUMENT, "open.history[0].content"},
      {{Message("user", std::string(3000, 'x')), Message("assistant", std::string(1100, 'y'))},
       grpc::StatusCode::INVALID_ARGUMENT, "open.history[1].content"},
      {{Message("user", digits), Message("assistant", digits)},
       grpc::StatusCode::OUT_OF_RANGE, "open.history"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    ChatClient chat(server);
    v1::ChatRequest request;
    for (const v1::ChatMessage& m : cases[i].history) {
      request.mutable_open()->add_history()->CopyFrom(m);
    }
    chat.stream().Write(request);
    const grpc::Status status = chat.Close();
    EXPECT_EQ(status.error_code(), cases[i].code) << "case " << i << ": " << status.error_message();
    EXPECT_EQ(BadRequestField(status), cases[i].field) << "case " << i;
  }
  // A resumed session takes no history.
  ChatClient chat(server);
  v1::ChatRequest request;
  request.mutable_open()->set_session_id("0123456789abcdef0123456789abcdef");
  request.mutable_open()->add_history()->CopyFrom(Message("user", "Hi"));
  chat.stream().Write(request);
  const grpc::Status status = chat.Close();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "open.history");
  EXPECT_EQ(server.engine().Stats().sessions, 0);
}

}  // namespace
}  // namespace smollm::service::testing

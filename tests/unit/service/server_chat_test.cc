// Chat sessions through a real channel: turns reuse the cache, resume, cancel, rewind,
// in-stream errors, and Generate as a session turn.
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

v1::SessionInfo GetSession(TestServer& server, const std::string& id, grpc::Status* status,
                           const std::string& key = "") {
  v1::GetSessionRequest request;
  request.set_session_id(id);
  v1::SessionInfo info;
  auto context = server.Context(key);
  *status = server.stub().GetSession(context.get(), request, &info);
  return info;
}

TEST(ServerChatTest, ThreeTurnsReuseTheCacheAndResumeOnANewStream) {
  TestServer server;
  std::string id;
  {
    ChatClient chat(server);
    v1::OpenSession open;
    open.set_system_prompt("You answer briefly.");
    *open.mutable_sampling() = GreedyExact(4);
    const v1::ChatResponse opened = chat.Open(open);
    ASSERT_TRUE(opened.has_session()) << opened.DebugString();
    id = opened.session().session_id();
    EXPECT_EQ(opened.session().turns(), 0);
    int previous_prompt = 0;
    for (int turn = 0; turn < 3; ++turn) {
      std::string text;
      const v1::ChatResponse end =
          chat.Turn("Tell me fact number " + std::to_string(turn), {}, &text);
      ASSERT_TRUE(end.has_turn_end()) << end.DebugString();
      const v1::Usage& usage = end.turn_end().usage();
      EXPECT_EQ(usage.completion_tokens(), 4);
      EXPECT_EQ(end.turn_end().finish_reason(), v1::FINISH_REASON_MAX_TOKENS);
      EXPECT_GT(usage.prompt_tokens(), previous_prompt);
      if (turn > 0) {
        // The history before this turn was computed already: only the new tokens ran.
        EXPECT_GT(usage.cached_tokens(), previous_prompt / 2) << "turn " << turn;
      }
      previous_prompt = usage.prompt_tokens();
    }
    EXPECT_TRUE(chat.Close().ok());
  }
  grpc::Status status;
  v1::SessionInfo info = GetSession(server, id, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(info.turns(), 3);
  EXPECT_EQ(info.state(), v1::SESSION_STATE_IDLE);
  EXPECT_EQ(info.system_prompt(), "You answer briefly.");
  EXPECT_EQ(info.sampling().max_tokens(), 4);

  ChatClient resumed(server);
  v1::OpenSession open;
  open.set_session_id(id);
  const v1::ChatResponse reopened = resumed.Open(open);
  ASSERT_TRUE(reopened.has_session()) << reopened.DebugString();
  EXPECT_EQ(reopened.session().turns(), 3);
  EXPECT_GT(reopened.session().cached_tokens(), 0);
  const v1::ChatResponse end = resumed.Turn("And one more.", {});
  ASSERT_TRUE(end.has_turn_end());
  EXPECT_GT(end.turn_end().usage().cached_tokens(), 0);
  EXPECT_TRUE(resumed.Close().ok());
}

TEST(ServerChatTest, CancelRewindAndInStreamErrors) {
  TestServerOptions options;
  options.token_buffer = 4;
  TestServer server(options);
  ChatClient chat(server);
  v1::OpenSession open;
  *open.mutable_sampling() = GreedyExact(3);
  const std::string id = chat.Open(open).session().session_id();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(chat.Turn("Hello", {}).has_turn_end());

  // A long turn, cancelled after its first delta.
  v1::ChatRequest turn;
  turn.mutable_turn()->set_content("Write a long story.");
  turn.mutable_turn()->mutable_sampling()->set_max_tokens(400);
  ASSERT_TRUE(chat.stream().Write(turn));
  v1::ChatResponse response;
  ASSERT_TRUE(chat.stream().Read(&response));
  ASSERT_TRUE(response.has_delta());
  // Another turn and a rewind while it runs are refused in-stream.
  v1::ChatResponse busy = chat.Send(turn);
  ASSERT_TRUE(busy.has_error());
  EXPECT_EQ(busy.error().code(), 9);  // FAILED_PRECONDITION
  // So is a Generate turn on the same session.
  v1::GenerateRequest generate;
  generate.set_prompt("Hi");
  generate.set_session_id(id);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), generate);
  EXPECT_EQ(ReadGenerate(*reader).status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::ChatRequest cancel;
  cancel.mutable_cancel();
  const v1::ChatResponse cancelled = chat.Send(cancel);
  ASSERT_TRUE(cancelled.has_turn_end()) << cancelled.DebugString();
  EXPECT_EQ(cancelled.turn_end().finish_reason(), v1::FINISH_REASON_CANCELLED);
  EXPECT_LT(cancelled.turn_end().usage().completion_tokens(), 400);

  grpc::Status status;
  EXPECT_EQ(GetSession(server, id, &status).turns(), 1);  // the cancelled turn left no trace
  v1::ChatRequest rewind;
  rewind.mutable_rewind();
  const v1::ChatResponse rewound = chat.Send(rewind);
  ASSERT_TRUE(rewound.has_session()) << rewound.DebugString();
  EXPECT_EQ(rewound.session().turns(), 0);
  const v1::ChatResponse nothing = chat.Send(rewind);
  ASSERT_TRUE(nothing.has_error());
  EXPECT_EQ(nothing.error().code(), 9);

  // Bad messages are answered in-stream; the stream goes on.
  v1::ChatRequest empty;
  empty.mutable_turn();
  const v1::ChatResponse bad = chat.Send(empty);
  ASSERT_TRUE(bad.has_error());
  EXPECT_EQ(bad.error().code(), 3);
  v1::ChatResponse bad_sampling;
  {
    v1::SamplingParams s;
    s.set_top_p(-1);
    bad_sampling = chat.Turn("fine text", s);
  }
  ASSERT_TRUE(bad_sampling.has_error());
  EXPECT_NE(bad_sampling.error().message().find("turn.sampling.top_p"), std::string::npos);
  v1::ChatRequest reopen;
  reopen.mutable_open();
  EXPECT_TRUE(chat.Send(reopen).has_error());
  EXPECT_TRUE(chat.Turn("Still here?", {}).has_turn_end());
  EXPECT_TRUE(chat.Close().ok());
  ASSERT_TRUE(server.engine().WaitUntilIdle(absl::Seconds(60)));
}

TEST(ServerChatTest, StreamLevelErrorsAndGenerateTurns) {
  TestServer server;
  {
    ChatClient chat(server);
    v1::ChatRequest turn;
    turn.mutable_turn()->set_content("no open first");
    chat.stream().Write(turn);
    const grpc::Status status = chat.Close();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    ChatClient chat(server);
    v1::OpenSession open;
    open.set_session_id("00000000000000000000000000000000");
    chat.stream().Write([&] {
      v1::ChatRequest r;
      *r.mutable_open() = open;
      return r;
    }());
    EXPECT_EQ(chat.Close().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ChatClient chat(server);
  v1::OpenSession open;
  *open.mutable_sampling() = GreedyExact(2);
  const std::string id = chat.Open(open).session().session_id();
  EXPECT_TRUE(chat.Close().ok());
  // Generate continues the session: by field, then by x-session-id metadata.
  v1::GenerateRequest request;
  request.set_prompt("Hi there");
  request.set_session_id(id);
  auto c1 = server.Context();
  auto r1 = server.stub().Generate(c1.get(), request);
  StreamResult first = ReadGenerate(*r1);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.end.usage().completion_tokens(), 2);  // the session's default
  request.clear_session_id();
  auto c2 = server.Context();
  c2->AddMetadata("x-session-id", id);
  auto r2 = server.stub().Generate(c2.get(), request);
  StreamResult second = ReadGenerate(*r2);
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_GT(second.end.usage().cached_tokens(), 0);
  grpc::Status status;
  EXPECT_EQ(GetSession(server, id, &status).turns(), 2);
  v1::DeleteSessionRequest del;
  del.set_session_id(id);
  v1::DeleteSessionResponse deleted;
  auto c3 = server.Context();
  EXPECT_TRUE(server.stub().DeleteSession(c3.get(), del, &deleted).ok());
  GetSession(server, id, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace smollm::service::testing

// Requests protobuf cannot parse, through a real server: INVALID_ARGUMENT naming the field
// for Generate, the unary calls and a Chat message mid-stream (never UNIMPLEMENTED, never
// a stream that ends OK).
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

// protobuf 3.21 serializes a proto3 string with invalid UTF-8 as it is (it only logs),
// so the generated stubs can send what a hostile client would.
const std::string kBadUtf8 = "ab\xff\xfe";

TEST(ServerWireTest, GenerateAndUnaryCallsNameTheField) {
  TestServer server;
  v1::GenerateRequest generate;
  generate.set_prompt(kBadUtf8);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), generate);
  const grpc::Status g = ReadGenerate(*reader).status;
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(g.error_message(), "prompt: invalid UTF-8 at byte 2");
  EXPECT_EQ(BadRequestField(g), "prompt");

  v1::TokenizeRequest tokenize;
  tokenize.set_text(kBadUtf8);
  v1::TokenizeResponse tokens;
  context = server.Context();
  grpc::Status t = server.stub().Tokenize(context.get(), tokenize, &tokens);
  EXPECT_EQ(t.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(t), "text");

  v1::GetSessionRequest get;
  get.set_session_id("\xc0\xaf");
  v1::SessionInfo info;
  context = server.Context();
  t = server.stub().GetSession(context.get(), get, &info);
  EXPECT_EQ(t.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(t.error_message(), "session_id: invalid UTF-8 at byte 0");

  // The server lives on: the same call with valid text works.
  tokenize.set_text("ab");
  context = server.Context();
  EXPECT_TRUE(server.stub().Tokenize(context.get(), tokenize, &tokens).ok());
  EXPECT_GT(tokens.token_ids_size(), 0);
}

TEST(ServerWireTest, AChatMessageMidStreamEndsTheStreamWithInvalidArgument) {
  TestServer server;
  ChatClient chat(server);
  const v1::ChatResponse opened = chat.Open(v1::OpenSession());
  ASSERT_TRUE(opened.has_session()) << opened.DebugString();
  v1::ChatRequest turn;
  turn.mutable_turn()->set_content(kBadUtf8);
  ASSERT_TRUE(chat.stream().Write(turn));
  const grpc::Status status = chat.Close();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "turn.content: invalid UTF-8 at byte 2");
  EXPECT_EQ(BadRequestField(status), "turn.content");
  // The session outlives the stream, untouched by the bad turn.
  v1::GetSessionRequest get;
  get.set_session_id(opened.session().session_id());
  v1::SessionInfo info;
  auto context = server.Context();
  ASSERT_TRUE(server.stub().GetSession(context.get(), get, &info).ok());
  EXPECT_EQ(info.turns(), 0);
}

}  // namespace
}  // namespace smollm::service::testing

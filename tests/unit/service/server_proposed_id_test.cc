// Chat opens with a client-proposed session id: a free, well-formed one names the session;
// one in use is ALREADY_EXISTS for every principal (nothing of that session leaks or
// changes); a malformed one, or one given with a resume, is INVALID_ARGUMENT by field.
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

constexpr char kAlice[] = "alpha-key-0123456789";
constexpr char kBob[] = "beta-key-9876543210";
constexpr char kProposed[] = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

// Opens a stream with `open` as its first message; the stream's status when the open
// fails (the stream then ends), or OK with `*opened` set.
grpc::Status TryOpen(TestServer& server, const std::string& key, const v1::OpenSession& open,
                     v1::ChatResponse* opened) {
  ChatClient chat(server, key);
  v1::ChatRequest request;
  *request.mutable_open() = open;
  chat.stream().Write(request);
  chat.stream().Read(opened);  // nothing when the open failed: the status says why
  return chat.Close();
}

TEST(ServerProposedIdTest, AFreeIdNamesTheSessionAndATakenOneIsRefusedToEveryone) {
  TestServerOptions options;
  options.api_keys = {kAlice, kBob};
  TestServer server(options);

  v1::OpenSession open;
  open.set_proposed_session_id(kProposed);
  open.set_system_prompt("Alice's own words.");
  *open.mutable_sampling() = GreedyExact(3);
  std::string first_reply;
  {
    ChatClient chat(server, kAlice);
    const v1::ChatResponse opened = chat.Open(open);
    ASSERT_TRUE(opened.has_session()) << opened.DebugString();
    EXPECT_EQ(opened.session().session_id(), kProposed);
    const v1::ChatResponse end = chat.Turn("Hello.", {}, &first_reply);
    ASSERT_TRUE(end.has_turn_end()) << end.DebugString();
    EXPECT_TRUE(chat.Close().ok());
  }

  // The same id again: refused to its owner and to anyone else alike, naming nobody.
  for (const char* key : {kAlice, kBob}) {
    v1::OpenSession again;
    again.set_proposed_session_id(kProposed);
    v1::ChatResponse opened;
    const grpc::Status status = TryOpen(server, key, again, &opened);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
    EXPECT_FALSE(opened.has_session());
    EXPECT_EQ(status.error_message().find("Alice"), std::string::npos);
    EXPECT_EQ(status.error_message().find(kAlice), std::string::npos);
  }
  // Bob's attempt left Alice's session as it was, and does not hand it to him.
  v1::GetSessionRequest get;
  get.set_session_id(kProposed);
  v1::SessionInfo info;
  auto alice = server.Context(kAlice);
  ASSERT_TRUE(server.stub().GetSession(alice.get(), get, &info).ok());
  EXPECT_EQ(info.turns(), 1);
  EXPECT_EQ(info.system_prompt(), "Alice's own words.");
  auto bob = server.Context(kBob);
  EXPECT_EQ(server.stub().GetSession(bob.get(), get, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Once deleted the id is free again.
  v1::DeleteSessionRequest del;
  del.set_session_id(kProposed);
  v1::DeleteSessionResponse deleted;
  auto alice_del = server.Context(kAlice);
  ASSERT_TRUE(server.stub().DeleteSession(alice_del.get(), del, &deleted).ok());
  v1::OpenSession reuse;
  reuse.set_proposed_session_id(kProposed);
  v1::ChatResponse reopened;
  ASSERT_TRUE(TryOpen(server, kBob, reuse, &reopened).ok());
  EXPECT_EQ(reopened.session().session_id(), kProposed);
  EXPECT_EQ(reopened.session().turns(), 0);
}

TEST(ServerProposedIdTest, AMalformedOrMisplacedProposalIsInvalidArgument) {
  TestServer server;
  for (const std::string& bad :
       {std::string("0F1E2D3C4B5A69788796A5B4C3D2E1F0"), std::string("abc"),
        std::string(kProposed) + "00", std::string("0f1e2d3c4b5a69788796a5b4c3d2e1fg")}) {
    v1::OpenSession open;
    open.set_proposed_session_id(bad);
    v1::ChatResponse opened;
    const grpc::Status status = TryOpen(server, "", open, &opened);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(BadRequestField(status), "open.proposed_session_id") << bad;
  }
  // With a resume: the session keeps its id, a proposal is meaningless.
  v1::OpenSession open;
  open.set_session_id(kProposed);
  open.set_proposed_session_id(kProposed);
  v1::ChatResponse opened;
  const grpc::Status status = TryOpen(server, "", open, &opened);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "open.proposed_session_id");
}

}  // namespace
}  // namespace smollm::service::testing

// End to end: every status code of the API provoked on purpose, auth, and size limits.
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/client/grpc_status.h"
#include "tests/e2e/e2e_support.h"

namespace smollm::testing {
namespace {

using service::client::BadRequestFields;
using service::client::RetryDelay;

constexpr char kUnknownSession[] = "0123456789abcdef0123456789abcdef";

// A server with API keys and small limits: one running sequence, one queued request,
// 64 KiB messages, 8 KiB prompts, a 512-token context.
class StatusCodesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_file_ = new std::string(::testing::TempDir() + "/e2e_api_keys.txt");
    std::FILE* f = std::fopen(keys_file_->c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("# test keys\nkey-alpha\nkey-beta\n", f);
    std::fclose(f);
    server_ = StartServer({"--api_keys_file=" + *keys_file_, "--max_running=1",
                           "--max_queued_requests=1", "--max_message_bytes=65536",
                           "--max_prompt_bytes=8192", "--max_context=512"})
                  .release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::remove(keys_file_->c_str());
    delete keys_file_;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    alpha_ = Connect(*server_, {.api_key = "key-alpha"});
    auto info = alpha_->GetModelInfo();
    ASSERT_TRUE(info.ok()) << info.status();
    info_ = *info;
  }
  absl::Status GenerateStatus(const v1::GenerateRequest& request) {
    return alpha_->Generate(request, [](const v1::TokenDelta&) { return true; }).status();
  }

  static std::string* keys_file_;
  static ServerProcess* server_;
  std::unique_ptr<Client> alpha_;
  v1::ModelInfo info_;
};
std::string* StatusCodesTest::keys_file_ = nullptr;
ServerProcess* StatusCodesTest::server_ = nullptr;

TEST_F(StatusCodesTest, InvalidArgumentNamesTheField) {
  v1::GenerateRequest empty;
  empty.set_prompt("");
  EXPECT_TRUE(absl::IsInvalidArgument(GenerateStatus(empty))) << GenerateStatus(empty);

  v1::GenerateRequest hot;
  hot.set_prompt("Hi");
  hot.mutable_sampling()->set_temperature(-1);
  absl::Status status = GenerateStatus(hot);
  ASSERT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(std::string(status.message()).find("temperature"), std::string::npos) << status;
  std::vector<std::string> fields = BadRequestFields(status);
  ASSERT_EQ(fields.size(), 1u) << "no google.rpc.BadRequest in the details";
  EXPECT_NE(fields[0].find("temperature"), std::string::npos) << fields[0];
  EXPECT_EQ(info_.limits().max_prompt_bytes(), 8192);
  EXPECT_EQ(info_.context_length(), 512);
}

TEST_F(StatusCodesTest, OutOfRangeWhenPromptPlusMaxTokensPassTheContext) {
  v1::GenerateRequest request;
  request.set_prompt("Hello");
  request.mutable_sampling()->set_max_tokens(info_.context_length());
  absl::Status status = GenerateStatus(request);
  EXPECT_TRUE(absl::IsOutOfRange(status)) << status;
  EXPECT_NE(std::string(status.message()).find("512"), std::string::npos) << status;
}

TEST_F(StatusCodesTest, NotFoundForUnknownSessions) {
  EXPECT_TRUE(absl::IsNotFound(alpha_->GetSession(kUnknownSession).status()));
  auto resumed = ChatSession::Resume(*alpha_, kUnknownSession);
  EXPECT_TRUE(absl::IsNotFound(resumed.status())) << resumed.status();
  v1::GenerateRequest request;
  request.set_prompt("Hi");
  request.set_session_id(kUnknownSession);
  EXPECT_TRUE(absl::IsNotFound(GenerateStatus(request))) << GenerateStatus(request);
}

TEST_F(StatusCodesTest, FailedPreconditionInStreamKeepsTheStream) {
  auto context = alpha_->NewContext(absl::Seconds(60), "");
  auto stream = alpha_->stub().Chat(context.get());
  v1::ChatRequest open;
  open.mutable_open()->set_system_prompt("");
  ASSERT_TRUE(stream->Write(open));
  v1::ChatResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_session());
  const std::string id = response.session().session_id();

  v1::ChatRequest rewind;
  rewind.mutable_rewind();
  ASSERT_TRUE(stream->Write(rewind));  // no turn to drop
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_error()) << response.ShortDebugString();
  EXPECT_EQ(response.error().code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));

  v1::ChatRequest turn;
  turn.mutable_turn()->set_content("Tell me a long story.");
  *turn.mutable_turn()->mutable_sampling() = Greedy(info_, 400);
  ASSERT_TRUE(stream->Write(turn));
  ASSERT_TRUE(stream->Write(turn));  // a second turn while the first generates
  bool refused = false, ended = false;
  while (!ended && stream->Read(&response)) {
    if (response.has_error()) {
      EXPECT_EQ(response.error().code(), static_cast<int>(absl::StatusCode::kFailedPrecondition))
          << response.error().message();
      refused = true;
      v1::ChatRequest cancel;
      cancel.mutable_cancel();
      ASSERT_TRUE(stream->Write(cancel));
    }
    if (response.has_turn_end()) ended = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(ended) << "the stream died after the in-stream error";
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(alpha_->DeleteSession(id).ok());
}

TEST_F(StatusCodesTest, UnauthenticatedWithoutOrWithAWrongKey) {
  auto anonymous = Connect(*server_);
  absl::Status status = anonymous->GetModelInfo().status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
  auto stranger = Connect(*server_, {.api_key = "key-gamma"});
  status = stranger->Tokenize(v1::TokenizeRequest()).status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
  EXPECT_EQ(std::string(status.message()).find("key-gamma"), std::string::npos)
      << "the error echoes the key";
  auto opened = ChatSession::Open(*stranger, {});
  EXPECT_TRUE(absl::IsUnauthenticated(opened.status())) << opened.status();
}

TEST_F(StatusCodesTest, AnotherKeysSessionIsNotFound) {
  auto session = ChatSession::Open(*alpha_, {});
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = (*session)->id();
  auto beta = Connect(*server_, {.api_key = "key-beta"});
  EXPECT_TRUE(absl::IsNotFound(beta->GetSession(id).status()));
  EXPECT_TRUE(absl::IsNotFound(ChatSession::Resume(*beta, id).status()));
  EXPECT_TRUE(absl::IsNotFound(beta->DeleteSession(id)));
  EXPECT_TRUE(alpha_->GetSession(id).ok());
  (*session)->Close().IgnoreError();
  EXPECT_TRUE(alpha_->DeleteSession(id).ok());
}

TEST_F(StatusCodesTest, ResourceExhaustedCarriesRetryInfo) {
  // One runs, one waits, the rest are refused; everyone stops once a refusal is seen.
  constexpr int kCalls = 4;
  std::atomic<bool> refused{false};
  std::vector<absl::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::GenerateRequest request;
      request.set_prompt(absl::StrCat("Story number ", i, ":"));
      *request.mutable_sampling() = Greedy(info_, 400);
      statuses[i] = alpha_->Generate(request, [&](const v1::TokenDelta&) {
                              return !refused.load();
                            }).status();
      if (absl::IsResourceExhausted(statuses[i])) refused = true;
    });
  }
  for (auto& t : threads) t.join();
  int exhausted = 0;
  for (const absl::Status& status : statuses) {
    if (!absl::IsResourceExhausted(status)) {
      EXPECT_TRUE(status.ok() || absl::IsCancelled(status)) << status;
      continue;
    }
    ++exhausted;
    std::optional<absl::Duration> delay = RetryDelay(status);
    ASSERT_TRUE(delay.has_value()) << "no RetryInfo in " << status;
    EXPECT_GT(*delay, absl::ZeroDuration());
  }
  EXPECT_GE(exhausted, 1);
}

TEST_F(StatusCodesTest, OversizedMessageAndPromptAreRefused) {
  v1::GenerateRequest huge;
  huge.set_prompt(std::string(100 << 10, 'a'));  // beyond the 64 KiB message limit
  absl::Status status = GenerateStatus(huge);
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;

  v1::GenerateRequest big;
  big.set_prompt(std::string(10 << 10, 'a'));  // a valid message, beyond 8 KiB of prompt
  status = GenerateStatus(big);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(std::string(status.message()).find("8192"), std::string::npos) << status;

  // The server still serves after both.
  EXPECT_TRUE(alpha_->GetModelInfo().ok());
}

}  // namespace
}  // namespace smollm::testing

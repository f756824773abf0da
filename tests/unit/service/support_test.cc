// Small service pieces: JSON log lines, the token mailbox bridge, server options.
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "service/json_log.h"
#include "service/server_options.h"
#include "service/token_mailbox.h"

namespace smollm::service {
namespace {

TEST(JsonLogTest, LinesAreJsonWithEscapes) {
  std::string captured;
  SetLogSinkForTest(&captured);
  LogLine(LogLevel::kInfo, "serving")
      .RequestId("r1")
      .Int("port", 50051)
      .Str("text", "a\"b\\c\nd\x01\xff")
      .Bool("tls", false)
      .Num("ratio", 0.5)
      .Emit();
  LogLine(LogLevel::kDebug, "hidden").Emit();  // below the default level
  SetLogSinkForTest(nullptr);
  EXPECT_TRUE(absl::StartsWith(captured, "{\"level\":\"info\",\"ts\":\"")) << captured;
  EXPECT_TRUE(absl::StrContains(captured, "\"event\":\"serving\",\"request_id\":\"r1\","
                                          "\"port\":50051,"))
      << captured;
  EXPECT_TRUE(absl::StrContains(captured, R"("text":"a\"b\\c\nd\u0001\u00ff")")) << captured;
  EXPECT_TRUE(absl::StrContains(captured, "\"tls\":false,\"ratio\":0.5}\n")) << captured;
  EXPECT_FALSE(absl::StrContains(captured, "hidden"));
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("WARN", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
}

TEST(TokenMailboxTest, WakesOnPushCoalescesAndStopsAfterDetach) {
  TokenMailbox mailbox(4);
  std::atomic<int> wakes{0};
  mailbox.Attach([&] { wakes.fetch_add(1); });
  std::thread engine([&] {
    for (int i = 0; i < 3; ++i) mailbox.sink()->Push({"x", {i}, {}, {}});
  });
  engine.join();
  EXPECT_EQ(wakes.load(), 3);
  TokenMailbox::Batch batch = mailbox.Take();
  ASSERT_TRUE(batch.has_delta);
  EXPECT_EQ(batch.delta.text, "xxx");
  EXPECT_EQ(batch.delta.tokens, (std::vector<runtime::TokenId>{0, 1, 2}));
  EXPECT_FALSE(batch.final_event.has_value());
  EXPECT_TRUE(mailbox.Take().empty());
  // Over the bound the engine is told to pause (Push returns true).
  EXPECT_TRUE(mailbox.sink()->Push({"", {1, 2, 3, 4}, {}, {}}));
  mailbox.sink()->Finish({absl::OkStatus(), {}});
  batch = mailbox.Take();
  EXPECT_TRUE(batch.has_delta);
  ASSERT_TRUE(batch.final_event.has_value());
  mailbox.Detach();
  const int before = wakes.load();
  std::shared_ptr<runtime::TokenSink> sink = mailbox.sink();
  sink->Push({"late", {9}, {}, {}});
  EXPECT_EQ(wakes.load(), before);
}

TEST(ServerOptionsTest, Validation) {
  ServerOptions o;
  o.model_path = "m.gguf";
  EXPECT_TRUE(ValidateServerOptions(o).ok());
  ServerOptions bad = o;
  bad.model_path = "";
  EXPECT_EQ(ValidateServerOptions(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = o;
  bad.device = "cuda:0";
  EXPECT_EQ(ValidateServerOptions(bad).code(), absl::StatusCode::kFailedPrecondition);
  bad = o;
  bad.port = 70000;
  EXPECT_TRUE(absl::StrContains(ValidateServerOptions(bad).message(), "--port"));
  bad = o;
  bad.metrics_port = -2;
  EXPECT_FALSE(ValidateServerOptions(bad).ok());
  bad = o;
  bad.tls_cert = "cert.pem";
  EXPECT_TRUE(absl::StrContains(ValidateServerOptions(bad).message(), "--tls_key"));
  bad = o;
  bad.log_level = "chatty";
  EXPECT_FALSE(ValidateServerOptions(bad).ok());
  EXPECT_EQ(JoinHostPort("::1", 5), "[::1]:5");
  EXPECT_EQ(JoinHostPort("0.0.0.0", 5), "0.0.0.0:5");
  EXPECT_GE(PhysicalCores(), 1);
  EXPECT_FALSE(HostName().empty());
}

}  // namespace
}  // namespace smollm::service

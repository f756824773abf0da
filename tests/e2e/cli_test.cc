// End to end through the `smollm` command-line client: its output and exit codes.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_support.h"

namespace smollm::testing {
namespace {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// Runs `smollm <args>` through the shell with `input` on stdin.
CliResult RunCli(const std::string& args, const std::string& input = "") {
  const std::string input_file = ::testing::TempDir() + "/cli_input.txt";
  std::FILE* in = std::fopen(input_file.c_str(), "w");
  std::fputs(input.c_str(), in);
  std::fclose(in);
  const std::string command =
      absl::StrCat(SMOLLM_CLI_BINARY, " ", args, " < ", input_file, " 2>&1");
  CliResult result;
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) result.out.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = SharedServer();
    ASSERT_NE(server_, nullptr);
    target_ = absl::StrCat("--target=", server_->target());
  }
  ServerProcess* server_ = nullptr;
  std::string target_;
};

TEST_F(CliTest, GenerateStreamsTextAndUsage) {
  CliResult r = RunCli(absl::StrCat(target_, " generate --raw --temperature=0 --max_tokens=",
                                    kTokens, " 'The capital of France is'"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("finish "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prompt "), std::string::npos) << r.out;
}

TEST_F(CliTest, ChatFromAPipeKeepsTheSessionAndRewinds) {
  CliResult r = RunCli(absl::StrCat(target_, " chat --temperature=0 --max_tokens=", kTokens),
                       "Hello.\nAnd again.\n/rewind\n/quit\nnot sent\n");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("[session "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[rewound: 1 turns left]"), std::string::npos) << r.out;
  // The second turn reused the first one's KV: its usage line shows a nonzero cache.
  const size_t second = r.out.find("finish ", r.out.find("finish ") + 1);
  ASSERT_NE(second, std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(cached 0)", second), std::string::npos) << r.out;
  // The session is left on the server: delete it so later tests see no used KV.
  const size_t at = r.out.find("[session ") + 9;
  auto client = Connect(*server_);
  EXPECT_TRUE(client->DeleteSession(r.out.substr(at, 32)).ok()) << r.out;
}

TEST_F(CliTest, TokenizeInfoHealthAndErrors) {
  CliResult tokens = RunCli(absl::StrCat(target_, " tokenize 'Hello world'"));
  EXPECT_EQ(tokens.exit_code, 0) << tokens.out;
  EXPECT_NE(tokens.out.find_first_of("0123456789"), std::string::npos) << tokens.out;

  CliResult info = RunCli(absl::StrCat(target_, " info"));
  EXPECT_EQ(info.exit_code, 0) << info.out;
  EXPECT_NE(info.out.find("architecture: \"llama\""), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("served_by: \"e2e-shared\""), std::string::npos) << info.out;

  CliResult health = RunCli(absl::StrCat(target_, " health"));
  EXPECT_EQ(health.exit_code, 0) << health.out;
  EXPECT_NE(health.out.find("SERVING"), std::string::npos);

  CliResult bad = RunCli(absl::StrCat(target_, " generate --temperature=500 'Hi'"));
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("smollm: INVALID_ARGUMENT: "), std::string::npos) << bad.out;

  CliResult usage = RunCli(absl::StrCat(target_, " frobnicate"));
  EXPECT_EQ(usage.exit_code, 2) << usage.out;

  CliResult down = RunCli("--target=127.0.0.1:1 --timeout=5 health");
  EXPECT_EQ(down.exit_code, 1) << down.out;
  EXPECT_NE(down.out.find("smollm: UNAVAILABLE: "), std::string::npos) << down.out;
}

}  // namespace
}  // namespace smollm::testing

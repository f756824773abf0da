// Shared pieces of the C++ end-to-end tests: server launch, clients, greedy sampling.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "service/client/chat_session.h"
#include "service/client/client.h"
#include "tests/e2e/server_process.h"
#include "tests/test_support.h"

namespace smollm::testing {

namespace v1 = ::smollm::v1;
using service::client::ChatOptions;
using service::client::ChatSession;
using service::client::Client;
using service::client::ClientOptions;

// Tokens the tests generate per call: the ASan build runs the model some twenty times
// slower, so it generates less (the checks stay the same).
inline constexpr int kTokens = kSanitizerBuild ? 6 : 24;

// The smollm-server flags every test server gets: two threads (the CI machine has two
// cores), a small KV pool, a short drain.
std::vector<std::string> BaseFlags();

// Starts a server with BaseFlags() plus `flags`; fails the test (and returns null) when
// it does not come up.
std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> flags = {},
                                           std::vector<std::string> env = {}, int port = 0);

// The server most tests share (replica name "e2e-shared"), started on first use and
// killed at exit; null (with a test failure) when it cannot start. Tests that use it
// leave no session behind, so the KV-page checks hold.
ServerProcess* SharedServer();

std::unique_ptr<Client> Connect(const ServerProcess& server, ClientOptions options = {});

// Greedy sampling of exactly `max_tokens` tokens: the end-of-turn token is banned, so a
// generation's length never depends on what the model says.
v1::SamplingParams Greedy(const v1::ModelInfo& info, int max_tokens);

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or truncated sequences).
bool IsValidUtf8(const std::string& text);

// Polls the server's /metrics until `name{labels}` satisfies `want`, for up to `timeout`;
// returns the last value seen (or -1 when the sample never appeared).
double AwaitMetric(const ServerProcess& server, const std::string& name,
                   const std::string& labels, const std::function<bool(double)>& want,
                   absl::Duration timeout = absl::Seconds(10));

}  // namespace smollm::testing

// Implementation of the shared end-to-end test pieces.
#include "tests/e2e/e2e_support.h"

#include <cstdlib>
#include <limits>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace smollm::testing {

std::vector<std::string> BaseFlags() {
  return {"--threads=2", "--kv_cache_mib=64", "--drain_timeout=20s", "--log_level=info"};
}

std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> flags,
                                           std::vector<std::string> env, int port) {
  ServerProcess::Options options;
  // SMOLLM_E2E_SERVER runs the tests against another build of the server.
  const char* binary = std::getenv("SMOLLM_E2E_SERVER");
  options.binary = binary != nullptr && *binary != '\0' ? binary : SMOLLM_SERVER_BINARY;
  options.model = TestModelPath();
  if (options.model.empty()) return nullptr;
  options.flags = BaseFlags();
  options.flags.insert(options.flags.end(), flags.begin(), flags.end());
  options.env = std::move(env);
  options.port = port;
  auto server = std::make_unique<ServerProcess>();
  absl::Status started = server->Start(options);
  if (!started.ok()) {
    ADD_FAILURE() << started;
    return nullptr;
  }
  return server;
}

ServerProcess* SharedServer() {
  // Destroyed at exit, which kills the process.
  static std::unique_ptr<ServerProcess> server = StartServer({"--replica_name=e2e-shared"});
  if (server == nullptr) ADD_FAILURE() << "the shared server did not start";
  return server.get();
}

std::unique_ptr<Client> Connect(const ServerProcess& server, ClientOptions options) {
  auto client = Client::Create(server.target(), std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

v1::SamplingParams Greedy(const v1::ModelInfo& info, int max_tokens) {
  v1::SamplingParams sampling;
  sampling.set_temperature(0);
  sampling.set_max_tokens(max_tokens);
  (*sampling.mutable_logit_bias())[info.eos_token_id()] =
      -std::numeric_limits<float>::infinity();
  return sampling;
}

bool IsValidUtf8(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    int len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

double AwaitMetric(const ServerProcess& server, const std::string& name,
                   const std::string& labels, const std::function<bool(double)>& want,
                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  double last = -1;
  for (;;) {
    absl::StatusOr<std::string> text = server.ScrapeMetrics();
    if (text.ok()) {
      absl::StatusOr<double> value = MetricValue(*text, name, labels);
      if (value.ok()) {
        last = *value;
        if (want(last)) return last;
      }
    }
    if (absl::Now() > deadline) return last;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace smollm::testing

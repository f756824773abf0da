// Every generation reports its end to the metrics exactly once: finished, cancelled by
// the client mid-stream (Generate, a Chat stream as a whole), with its sampled tokens.
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "service/metrics.h"
#include "tests/unit/service/server_test_util.h"
#include "tests/unit/service_metrics/prometheus_text.h"

namespace smollm::service::testing {
namespace {

using smollm::testing::ParsePrometheusText;
using smollm::testing::PromExposition;
using smollm::testing::PromHistogram;

std::unique_ptr<ServiceMetrics> NewMetrics() {
  MetricsOptions options;
  options.model_name = "SmolLM2-135M";
  absl::StatusOr<std::unique_ptr<ServiceMetrics>> m = ServiceMetrics::Create(options);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

PromExposition Parse(const ServiceMetrics& metrics) {
  absl::StatusOr<PromExposition> e = ParsePrometheusText(metrics.TextExposition());
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *std::move(e) : PromExposition();
}

double Cancelled(const ServiceMetrics& metrics) {
  return Parse(metrics).Total("smollm_generations_total", {{"finish_reason", "cancelled"}});
}

// Waits (up to 20 s) until `cancelled` generations were reported as cancelled, then until
// the engine is idle and its published sampled-token total settled.
void AwaitCancelled(TestServer& server, const ServiceMetrics& metrics, double cancelled) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (Cancelled(metrics) < cancelled && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(server.engine().WaitUntilIdle(absl::Seconds(20)));
}

// The engine's total of sampled tokens as its published stats say, once they caught up
// with `expected` (they are published after each loop pass).
int64_t EngineSampled(TestServer& server, int64_t expected) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (server.engine().Stats().tokens_out != expected && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return server.engine().Stats().tokens_out;
}

TEST(ServerMetricsTest, CancelledCallsReportTheirEndOnce) {
  std::unique_ptr<ServiceMetrics> metrics = NewMetrics();
  ASSERT_NE(metrics, nullptr);
  TestServerOptions options;
  options.metrics = metrics.get();
  options.token_buffer = 2;  // the engine pauses the sequence while the client waits
  TestServer server(options);

  // A finished call: 4 tokens.
  v1::GenerateRequest request;
  request.set_prompt("The quick brown fox");
  *request.mutable_sampling() = GreedyExact(4);
  {
    auto context = server.Context();
    auto reader = server.stub().Generate(context.get(), request);
    const StreamResult done = ReadGenerate(*reader);
    ASSERT_TRUE(done.status.ok()) << done.status.error_message();
    ASSERT_EQ(done.token_ids.size(), 4u);
  }
  EXPECT_EQ(Cancelled(*metrics), 0);

  // A call cancelled by the client after a few tokens, while the engine still runs it.
  *request.mutable_sampling() = GreedyExact(600);
  {
    auto context = server.Context();
    auto reader = server.stub().Generate(context.get(), request);
    v1::GenerateResponse response;
    int delivered = 0;
    while (delivered < 3 && reader->Read(&response)) delivered += response.delta().token_ids_size();
    ASSERT_GE(delivered, 3);
    context->TryCancel();
    while (reader->Read(&response)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  AwaitCancelled(server, *metrics, 1);
  PromExposition e = Parse(*metrics);
  EXPECT_EQ(Cancelled(*metrics), 1);
  EXPECT_EQ(e.Total("smollm_generations_total"), 2);
  // The token counter counts the tokens each generation sampled, delivered or not: the
  // engine's own total, exactly.
  const double tokens = *e.Value("smollm_generation_tokens_total");
  EXPECT_GE(tokens, 4 + 3);
  EXPECT_LT(tokens, 4 + 600);
  EXPECT_EQ(tokens, EngineSampled(server, static_cast<int64_t>(tokens)));
  absl::StatusOr<PromHistogram> ttft = e.Histogram("smollm_time_to_first_token_seconds");
  ASSERT_TRUE(ttft.ok()) << ttft.status();
  EXPECT_EQ(ttft->count, 2);
  absl::StatusOr<PromHistogram> e2e = e.Histogram("smollm_e2e_request_latency_seconds");
  ASSERT_TRUE(e2e.ok()) << e2e.status();
  EXPECT_EQ(e2e->count, 2);

  // A Chat stream cancelled as a whole while its turn runs.
  {
    ChatClient chat(server);
    v1::OpenSession open;
    ASSERT_TRUE(chat.Open(open).has_session());
    v1::ChatRequest turn;
    turn.mutable_turn()->set_content("Write a long story.");
    *turn.mutable_turn()->mutable_sampling() = GreedyExact(600);
    ASSERT_TRUE(chat.stream().Write(turn));
    v1::ChatResponse response;
    ASSERT_TRUE(chat.stream().Read(&response));
    ASSERT_TRUE(response.has_delta());
    chat.context().TryCancel();
    while (chat.stream().Read(&response)) {
    }
    EXPECT_EQ(chat.stream().Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  AwaitCancelled(server, *metrics, 2);
  e = Parse(*metrics);
  EXPECT_EQ(Cancelled(*metrics), 2);
  EXPECT_EQ(e.Total("smollm_generations_total"), 3);
  const double all_tokens = *e.Value("smollm_generation_tokens_total");
  EXPECT_GT(all_tokens, tokens);
  EXPECT_EQ(all_tokens, EngineSampled(server, static_cast<int64_t>(all_tokens)));
  EXPECT_EQ(e.Histogram("smollm_time_to_first_token_seconds")->count, 3);
  EXPECT_EQ(*e.Value("smollm_cancellations_total"), 2);
}

}  // namespace
}  // namespace smollm::service::testing

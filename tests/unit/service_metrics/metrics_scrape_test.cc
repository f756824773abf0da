// Tests of the metrics HTTP exposer: scraping /metrics over a socket, several instances in
// one process, a port in use, and updates racing scrapes.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "service/metrics.h"
#include "tests/test_support.h"
#include "tests/unit/service_metrics/metrics_test_util.h"

namespace smollm::service {
namespace {

using testing::PromExposition;

PromExposition ScrapeOrFail(int port) {
  absl::StatusOr<PromExposition> e = testing::Scrape(port);
  if (!e.ok()) {
    ADD_FAILURE() << "scrape of port " << port << ": " << e.status();
    return {};
  }
  return *std::move(e);
}

TEST(ServiceMetricsScrapeTest, ServesTheRegistryOverHttp) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics("127.0.0.1:0");
  ASSERT_NE(m, nullptr);
  ASSERT_GT(m->metrics_port(), 0);
  m->RpcStarted("Generate");
  m->RpcFinished("Generate", grpc::StatusCode::RESOURCE_EXHAUSTED);
  m->GenerationFinished(
      Final(absl::OkStatus(), runtime::FinishReason::kStopToken, 120, 64, 33,
            absl::Milliseconds(4), absl::Milliseconds(41)),
      absl::Milliseconds(900));
  m->TokensStreamed(3, absl::Milliseconds(45));
  const PromExposition e = ScrapeOrFail(m->metrics_port());
  EXPECT_EQ(e.Value("smollm_rpcs_finished_total",
                    {{"method", "Generate"}, {"code", "RESOURCE_EXHAUSTED"}}),
            1);
  EXPECT_EQ(e.Value("smollm_generations_total", {{"finish_reason", "stop_token"}}), 1);
  EXPECT_EQ(e.Value("smollm_prompt_tokens_cached_total"), 64);
  EXPECT_EQ(e.Value("smollm_time_to_first_token_seconds_count"), 1);
  EXPECT_EQ(e.Value("smollm_inter_token_latency_seconds_count"), 3);
  EXPECT_EQ(e.Value("smollm_build_info", {{"device", "cpu"}}), 1);
  // The HTTP body renders the registry as TextExposition() does, plus the exposer's own
  // exposer_* metrics.
  std::vector<const testing::PromSample*> served;
  for (const testing::PromSample& s : e.samples) {
    if (s.name.rfind("smollm_", 0) == 0) {
      served.push_back(&s);
    } else {
      EXPECT_EQ(s.name.rfind("exposer_", 0), 0u) << s.name;
    }
  }
  const PromExposition local = Exposition(*m);
  ASSERT_EQ(served.size(), local.samples.size());
  for (size_t i = 0; i < served.size(); ++i) {
    EXPECT_EQ(served[i]->name, local.samples[i].name);
    EXPECT_EQ(served[i]->labels, local.samples[i].labels);
    EXPECT_EQ(served[i]->value, local.samples[i].value) << served[i]->name;
  }
  // Only /metrics is served.
  EXPECT_FALSE(testing::HttpGet(m->metrics_port(), "/other").ok());
}

TEST(ServiceMetricsScrapeTest, InstancesInOneProcessAreIndependent) {
  // Servers in one test process each make their own metrics, one after another too.
  for (int round = 0; round < 3; ++round) {
    std::unique_ptr<ServiceMetrics> a = MakeMetrics("127.0.0.1:0");
    std::unique_ptr<ServiceMetrics> b = MakeMetrics("127.0.0.1:0");
    std::unique_ptr<ServiceMetrics> c = MakeMetrics();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    ASSERT_NE(a->metrics_port(), b->metrics_port());
    for (int i = 0; i <= round; ++i) a->RpcStarted("Chat");
    b->RpcStarted("Tokenize");
    c->Cancelled();
    const PromExposition ea = ScrapeOrFail(a->metrics_port());
    const PromExposition eb = ScrapeOrFail(b->metrics_port());
    EXPECT_EQ(ea.Value("smollm_rpcs_started_total", {{"method", "Chat"}}), round + 1);
    EXPECT_EQ(ea.Value("smollm_rpcs_started_total", {{"method", "Tokenize"}}), 0);
    EXPECT_EQ(eb.Value("smollm_rpcs_started_total", {{"method", "Chat"}}), 0);
    EXPECT_EQ(eb.Value("smollm_rpcs_started_total", {{"method", "Tokenize"}}), 1);
    EXPECT_EQ(ea.Value("smollm_cancellations_total"), 0);
    EXPECT_EQ(Exposition(*c).Value("smollm_cancellations_total"), 1);
  }
}

TEST(ServiceMetricsScrapeTest, PortInUseIsUnavailable) {
  std::unique_ptr<ServiceMetrics> a = MakeMetrics("127.0.0.1:0");
  ASSERT_NE(a, nullptr);
  MetricsOptions options;
  options.listen_address = "127.0.0.1:" + std::to_string(a->metrics_port());
  absl::StatusOr<std::unique_ptr<ServiceMetrics>> b = ServiceMetrics::Create(options);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable) << b.status();
  EXPECT_TRUE(testing::MessageContains(b.status(), "listen_address")) << b.status();
  // The first exposer still serves.
  EXPECT_TRUE(testing::Scrape(a->metrics_port()).ok());
}

TEST(ServiceMetricsScrapeTest, UpdatesRacingScrapesLoseNothing) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics("127.0.0.1:0");
  ASSERT_NE(m, nullptr);
  const int kThreads = 4;
  const int kPerThread = testing::kSanitizerBuild ? 500 : 3000;
  const char* kMethods[] = {"Generate", "Chat", "GetSession", "bogus"};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        m->RpcStarted(kMethods[t]);
        m->TokensStreamed(1 + i % 7, absl::Microseconds(100 + i));
        m->RpcFinished(kMethods[t], static_cast<grpc::StatusCode>(i % 17));
      }
      done.fetch_add(1);
    });
  }
  double last = 0;
  int scrapes = 0;
  while (done.load() < kThreads || scrapes == 0) {
    const PromExposition e = ScrapeOrFail(m->metrics_port());
    const double started = e.Total("smollm_rpcs_started_total");
    EXPECT_GE(started, last);
    last = started;
    ++scrapes;
  }
  for (std::thread& t : threads) t.join();
  const PromExposition e = ScrapeOrFail(m->metrics_port());
  EXPECT_EQ(e.Total("smollm_rpcs_started_total"), kThreads * kPerThread);
  EXPECT_EQ(e.Total("smollm_rpcs_finished_total"), kThreads * kPerThread);
  EXPECT_EQ(e.Total("smollm_rpcs_in_flight"), 0);
  EXPECT_EQ(e.Value("smollm_rpcs_finished_total", {{"method", "other"}, {"code", "INTERNAL"}}),
            kPerThread / 17 + (kPerThread % 17 > 13 ? 1 : 0));
  double tokens = 0;
  for (int i = 0; i < kPerThread; ++i) tokens += 1 + i % 7;
  EXPECT_EQ(e.Value("smollm_inter_token_latency_seconds_count"), kThreads * tokens);
}

}  // namespace
}  // namespace smollm::service

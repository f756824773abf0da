// Tests of the service metrics' values as rendered in the text format: RPC, generation,
// token and engine metrics, label bounds, histogram consistency, counter monotonicity.
#include "service/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_support.h"
#include "tests/unit/service_metrics/metrics_test_util.h"

namespace smollm::service {
namespace {

using runtime::FinishReason;
using testing::PromExposition;
using testing::PromHistogram;

const std::vector<std::string> kMethodNames = {"Generate",     "Chat",       "Tokenize",
                                               "Detokenize",   "GetModelInfo", "GetSession",
                                               "DeleteSession"};

// Observations at or under each bucket bound, counted here independently of the library.
void ExpectBuckets(const PromHistogram& h, const std::vector<double>& observed,
                   const std::string& what) {
  for (const auto& [le, count] : h.buckets) {
    double expected = 0;
    for (double v : observed) expected += v <= le ? 1 : 0;
    EXPECT_EQ(count, expected) << what << " le=" << le;
  }
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

TEST(ServiceMetricsTest, WithoutExposerHasNoPortAndEveryFamily) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->metrics_port(), 0);
  const PromExposition e = Exposition(*m);
  EXPECT_EQ(e.Value("smollm_build_info", {{"version", "0.1.0"},
                                          {"model", "SmolLM3-3B"},
                                          {"architecture", "smollm3"},
                                          {"quantization", "Q4_K_M"},
                                          {"device", "cpu"}}),
            1);
  const std::map<std::string, std::string> expected = {
      {"smollm_rpcs_started_total", "counter"},
      {"smollm_rpcs_in_flight", "gauge"},
      {"smollm_generations_total", "counter"},
      {"smollm_prompt_tokens_total", "counter"},
      {"smollm_prompt_tokens_cached_total", "counter"},
      {"smollm_generation_tokens_total", "counter"},
      {"smollm_prefix_cache_hit_ratio", "gauge"},
      {"smollm_cancellations_total", "counter"},
      {"smollm_prefix_cache_hit_tokens_total", "counter"},
      {"smollm_prefix_cache_lookups_total", "counter"},
      {"smollm_kv_cache_evictions_total", "counter"},
      {"smollm_preemptions_total", "counter"},
      {"smollm_engine_prefill_tokens_total", "counter"},
      {"smollm_engine_sampled_tokens_total", "counter"},
      {"smollm_engine_steps_total", "counter"},
      {"smollm_engine_step_seconds_total", "counter"},
      {"smollm_sessions_expired_total", "counter"},
      {"smollm_sessions_evicted_total", "counter"},
      {"smollm_session_kv_dropped_total", "counter"},
      {"smollm_requests_running", "gauge"},
      {"smollm_requests_waiting", "gauge"},
      {"smollm_requests_paused", "gauge"},
      {"smollm_sessions_active", "gauge"},
      {"smollm_engine_draining", "gauge"},
      {"smollm_kv_cache_usage_ratio", "gauge"},
      {"smollm_kv_cache_pages", "gauge"},
      {"smollm_kv_cache_capacity_pages", "gauge"},
      {"smollm_model_load_time_seconds", "gauge"},
      {"smollm_build_info", "gauge"},
      {"smollm_time_to_first_token_seconds", "histogram"},
      {"smollm_inter_token_latency_seconds", "histogram"},
      {"smollm_e2e_request_latency_seconds", "histogram"},
      {"smollm_request_queue_time_seconds", "histogram"},
      {"smollm_request_prompt_tokens", "histogram"},
      {"smollm_request_generation_tokens", "histogram"},
  };
  EXPECT_EQ(e.type, expected);
  // Finished-RPC series (method x code) appear on first use, so the family too.
  m->RpcFinished("Chat", grpc::StatusCode::OK);
  EXPECT_EQ(Exposition(*m).type.at("smollm_rpcs_finished_total"), "counter");
  for (const auto& [name, help] : e.help) EXPECT_FALSE(help.empty()) << name;
  // Every fixed label value is present from the start, so rate() sees the first event.
  for (const std::string& method : kMethodNames) {
    EXPECT_EQ(e.Value("smollm_rpcs_started_total", {{"method", method}}), 0) << method;
  }
  EXPECT_EQ(e.Find("smollm_generations_total").size(), 7u);
  for (const char* state : {"used", "free", "cached"}) {
    EXPECT_EQ(e.Value("smollm_kv_cache_pages", {{"state", state}}), 0) << state;
  }
  // Bucket layouts: ms to minutes, 1 to 128k tokens.
  absl::StatusOr<PromHistogram> e2e = e.Histogram("smollm_e2e_request_latency_seconds");
  ASSERT_TRUE(e2e.ok()) << e2e.status();
  EXPECT_EQ(e2e->buckets.front().first, 0.001);
  EXPECT_EQ(e2e->buckets[e2e->buckets.size() - 2].first, 600);
  absl::StatusOr<PromHistogram> prompt = e.Histogram("smollm_request_prompt_tokens");
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ(prompt->buckets.front().first, 1);
  EXPECT_EQ(prompt->buckets[prompt->buckets.size() - 2].first, 131072);
}

TEST(ServiceMetricsTest, RejectsMalformedListenAddress) {
  for (const char* address : {"nonsense", "127.0.0.1:", ":9464", "127.0.0.1:65536",
                              "127.0.0.1:-1", "127.0.0.1:12ab", "127.0.0.1:0000009464"}) {
    MetricsOptions options;
    options.listen_address = address;
    absl::StatusOr<std::unique_ptr<ServiceMetrics>> m = ServiceMetrics::Create(options);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_TRUE(testing::MessageContains(m.status(), "listen_address")) << m.status();
  }
}

TEST(ServiceMetricsTest, RpcLabelsStayBoundedUnderGarbageInput) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics();
  ASSERT_NE(m, nullptr);
  std::mt19937 rng(20261126);
  std::map<std::string, double> started;                        // method label -> count
  std::map<std::pair<std::string, std::string>, double> finished;  // (method, code) -> count
  const std::vector<std::string> code_names = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  for (int i = 0; i < 2000; ++i) {
    std::string method;
    if (rng() % 2 == 0) {
      method = kMethodNames[rng() % kMethodNames.size()];
    } else {  // random bytes, quotes and newlines included
      method.resize(rng() % 24);
      for (char& c : method) c = static_cast<char>(rng() % 256);
    }
    const int code = static_cast<int>(rng() % 40) - 8;  // -8..31: most out of range
    const std::string label =
        std::find(kMethodNames.begin(), kMethodNames.end(), method) != kMethodNames.end()
            ? method
            : "other";
    const std::string code_label = code >= 0 && code <= 16 ? code_names[code] : "other";
    m->RpcStarted(method);
    started[label] += 1;
    if (i % 10 != 0) {  // every tenth stays in flight
      m->RpcFinished(method, static_cast<grpc::StatusCode>(code));
      finished[{label, code_label}] += 1;
    }
  }
  const PromExposition e = Exposition(*m);
  EXPECT_LE(e.Find("smollm_rpcs_started_total").size(), 8u);
  EXPECT_LE(e.Find("smollm_rpcs_finished_total").size(), 8u * 18u);
  EXPECT_EQ(e.Find("smollm_rpcs_finished_total").size(), finished.size());
  for (const auto& [method, count] : started) {
    EXPECT_EQ(e.Value("smollm_rpcs_started_total", {{"method", method}}), count) << method;
  }
  for (const auto& [key, count] : finished) {
    EXPECT_EQ(e.Value("smollm_rpcs_finished_total", {{"method", key.first}, {"code", key.second}}),
              count)
        << key.first << " " << key.second;
  }
  EXPECT_EQ(e.Total("smollm_rpcs_in_flight"), 200);  // 2000 / 10
  for (const testing::PromSample* s : e.Find("smollm_rpcs_finished_total")) {
    EXPECT_EQ(s->labels.size(), 2u);
  }
}

TEST(ServiceMetricsTest, GenerationsFeedOutcomesTokenTotalsAndHistograms) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics();
  ASSERT_NE(m, nullptr);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0, 1);
  std::map<std::string, double> outcomes;
  double prompt_total = 0, cached_total = 0, generated_total = 0;
  std::vector<double> e2e, ttft, queue, prompt_hist, generated_hist;
  const std::vector<std::pair<FinishReason, std::string>> reasons = {
      {FinishReason::kStopToken, "stop_token"}, {FinishReason::kStopString, "stop_string"},
      {FinishReason::kMaxTokens, "max_tokens"}, {FinishReason::kLength, "length"}};
  for (int i = 0; i < 300; ++i) {
    const int prompt = 1 + static_cast<int>(std::pow(2.0, unit(rng) * 17.5));  // 2 .. ~185k
    const int cached = static_cast<int>(unit(rng) * prompt);
    const int generated = static_cast<int>(std::pow(2.0, unit(rng) * 12)) - 1;  // 0 .. 4095
    // Spread over 0.5 ms .. 15 min on a log scale.
    const absl::Duration total = absl::Seconds(0.0005 * std::pow(1.8e6, unit(rng)));
    const absl::Duration q = total * unit(rng) * 0.5;
    const absl::Duration first = q + (total - q) * unit(rng);
    absl::Status status;
    FinishReason reason = FinishReason::kNone;
    std::string outcome;
    switch (rng() % 6) {
      case 0: status = absl::CancelledError("gone"); reason = FinishReason::kCancelled;
              outcome = "cancelled"; break;
      case 1: status = absl::DeadlineExceededError("late"); outcome = "deadline_exceeded";
              break;
      case 2: status = absl::InternalError("boom"); outcome = "error"; break;
      default: {
        const auto& r = reasons[rng() % reasons.size()];
        reason = r.first;
        outcome = r.second;
      }
    }
    m->GenerationFinished(Final(status, reason, prompt, cached, generated, q, first), total);
    outcomes[outcome] += 1;
    prompt_total += prompt;
    cached_total += cached;
    generated_total += generated;
    e2e.push_back(absl::ToDoubleSeconds(total));
    prompt_hist.push_back(prompt);
    generated_hist.push_back(generated);
    queue.push_back(absl::ToDoubleSeconds(q));
    if (generated > 0) ttft.push_back(absl::ToDoubleSeconds(first));
  }
  // Refused before reaching the engine: an empty Usage counts only the outcome and e2e.
  m->GenerationFinished(Final(absl::ResourceExhaustedError("queue full"), FinishReason::kNone,
                              0, 0, 0),
                        absl::Milliseconds(3));
  outcomes["error"] += 1;
  e2e.push_back(0.003);

  const PromExposition e = Exposition(*m);
  for (const auto& [outcome, count] : outcomes) {
    EXPECT_EQ(e.Value("smollm_generations_total", {{"finish_reason", outcome}}), count)
        << outcome;
  }
  EXPECT_EQ(e.Value("smollm_prompt_tokens_total"), prompt_total);
  EXPECT_EQ(e.Value("smollm_prompt_tokens_cached_total"), cached_total);
  EXPECT_EQ(e.Value("smollm_generation_tokens_total"), generated_total);
  EXPECT_NEAR(*e.Value("smollm_prefix_cache_hit_ratio"), cached_total / prompt_total, 1e-12);

  const std::vector<std::pair<std::string, const std::vector<double>*>> histograms = {
      {"smollm_e2e_request_latency_seconds", &e2e},
      {"smollm_time_to_first_token_seconds", &ttft},
      {"smollm_request_queue_time_seconds", &queue},
      {"smollm_request_prompt_tokens", &prompt_hist},
      {"smollm_request_generation_tokens", &generated_hist}};
  for (const auto& [name, observed] : histograms) {
    absl::StatusOr<PromHistogram> h = e.Histogram(name);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->count, static_cast<double>(observed->size())) << name;
    EXPECT_NEAR(h->sum, Sum(*observed), 1e-9 * Sum(*observed)) << name;
    ExpectBuckets(*h, *observed, name);
  }
  // Some values lie past the last finite bucket: they count in +Inf only.
  for (const char* name : {"smollm_e2e_request_latency_seconds", "smollm_request_prompt_tokens"}) {
    absl::StatusOr<PromHistogram> h = e.Histogram(name);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_GT(h->buckets.back().second, h->buckets[h->buckets.size() - 2].second) << name;
  }
}

TEST(ServiceMetricsTest, InterTokenLatencySpreadsAWriteOverItsTokens) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics();
  ASSERT_NE(m, nullptr);
  m->TokensStreamed(4, absl::Milliseconds(36));  // 9 ms each
  {
    const PromExposition e = Exposition(*m);
    absl::StatusOr<PromHistogram> h = e.Histogram("smollm_inter_token_latency_seconds");
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->count, 4);
    EXPECT_NEAR(h->sum, 0.036, 1e-12);
    ExpectBuckets(*h, {0.009, 0.009, 0.009, 0.009}, "one write");
  }
  std::mt19937 rng(99);
  std::vector<double> observed(4, 0.009);
  for (int i = 0; i < 500; ++i) {
    const int tokens = 1 + static_cast<int>(rng() % 64);
    const absl::Duration wait = absl::Microseconds(rng() % 20'000'000);  // 0 .. 20 s
    m->TokensStreamed(tokens, wait);
    for (int t = 0; t < tokens; ++t) observed.push_back(absl::ToDoubleSeconds(wait) / tokens);
  }
  m->TokensStreamed(0, absl::Seconds(1));  // ignored
  m->TokensStreamed(-3, absl::Seconds(1));
  m->TokensStreamed(5, -absl::Seconds(1));
  const PromExposition e = Exposition(*m);
  absl::StatusOr<PromHistogram> h = e.Histogram("smollm_inter_token_latency_seconds");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->count, static_cast<double>(observed.size()));
  EXPECT_NEAR(h->sum, Sum(observed), 1e-9 * Sum(observed));
  ExpectBuckets(*h, observed, "random writes");
}

TEST(ServiceMetricsTest, EngineCountersFollowTotalsAndNeverDecrease) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics();
  ASSERT_NE(m, nullptr);
  std::mt19937 rng(5);
  runtime::EngineStats s;
  std::map<std::string, double> expected, previous;
  const auto advance = [&](const std::string& name, auto& field, int64_t step) {
    field += step;
    expected[name] += static_cast<double>(step);
  };
  for (int i = 0; i < 60; ++i) {
    // At update 40 a new engine reports totals of 1, below the old ones: they count in
    // full. Every third update repeats the same totals.
    if (i == 40) s = runtime::EngineStats();
    const auto step = [&](uint32_t n) -> int64_t { return i == 40 ? 1 : rng() % n; };
    if (i % 3 != 0) {
      advance("smollm_prefix_cache_hit_tokens_total", s.prefix_hit_tokens, 16 * step(50));
      advance("smollm_prefix_cache_lookups_total", s.prefix_lookups, step(5));
      advance("smollm_kv_cache_evictions_total", s.evictions, step(7));
      advance("smollm_preemptions_total", s.preemptions, step(3));
      advance("smollm_engine_prefill_tokens_total", s.tokens_in, step(2000));
      advance("smollm_engine_sampled_tokens_total", s.tokens_out, step(64));
      advance("smollm_engine_steps_total", s.steps, 1 + step(10));
      advance("smollm_sessions_expired_total", s.sessions_expired, step(3));
      advance("smollm_sessions_evicted_total", s.sessions_evicted, step(2));
      advance("smollm_session_kv_dropped_total", s.session_kv_dropped, step(4));
      const int64_t ms = 1 + step(500);
      s.total_step_time += absl::Milliseconds(ms);
      expected["smollm_engine_step_seconds_total"] += ms * 1e-3;
    }
    s.running = static_cast<int>(rng() % 64);
    s.waiting = static_cast<int>(rng() % 200);
    s.paused = static_cast<int>(rng() % 4);
    s.kv_pages_total = 1024;
    s.kv_pages_free = static_cast<int32_t>(rng() % 512);
    s.kv_pages_cached = static_cast<int32_t>(rng() % 256);
    s.kv_pages_used = s.kv_pages_total - s.kv_pages_free - s.kv_pages_cached;
    s.draining = i >= 55;
    m->UpdateEngineStats(s);
    const PromExposition e = Exposition(*m);
    for (const auto& [name, value] : expected) {
      const std::optional<double> got = e.Value(name);
      ASSERT_TRUE(got.has_value()) << name;
      EXPECT_NEAR(*got, value, 1e-9 * (1 + value)) << name << " update " << i;
      EXPECT_GE(*got, previous[name]) << name << " update " << i;
      previous[name] = *got;
    }
    EXPECT_EQ(e.Value("smollm_requests_running"), s.running);
    EXPECT_EQ(e.Value("smollm_requests_waiting"), s.waiting);
    EXPECT_EQ(e.Value("smollm_requests_paused"), s.paused);
    EXPECT_EQ(e.Value("smollm_engine_draining"), s.draining ? 1 : 0);
    EXPECT_EQ(e.Value("smollm_kv_cache_capacity_pages"), 1024);
    EXPECT_EQ(e.Value("smollm_kv_cache_pages", {{"state", "used"}}), s.kv_pages_used);
    EXPECT_EQ(e.Value("smollm_kv_cache_pages", {{"state", "free"}}), s.kv_pages_free);
    EXPECT_EQ(e.Value("smollm_kv_cache_pages", {{"state", "cached"}}), s.kv_pages_cached);
    EXPECT_NEAR(*e.Value("smollm_kv_cache_usage_ratio"), s.kv_pages_used / 1024.0, 1e-12);
  }
  // An empty pool (engine not started yet) gives ratio 0, not NaN.
  m->UpdateEngineStats(runtime::EngineStats());
  EXPECT_EQ(Exposition(*m).Value("smollm_kv_cache_usage_ratio"), 0);
}

TEST(ServiceMetricsTest, SessionsModelLoadAndCancellations) {
  std::unique_ptr<ServiceMetrics> m = MakeMetrics();
  ASSERT_NE(m, nullptr);
  m->SessionsActive(37);
  m->SetModelLoadTime(absl::Milliseconds(2750));
  for (int i = 0; i < 13; ++i) m->Cancelled();
  PromExposition e = Exposition(*m);
  EXPECT_EQ(e.Value("smollm_sessions_active"), 37);
  EXPECT_EQ(e.Value("smollm_model_load_time_seconds"), 2.75);
  EXPECT_EQ(e.Value("smollm_cancellations_total"), 13);
  m->SessionsActive(5);
  e = Exposition(*m);
  EXPECT_EQ(e.Value("smollm_sessions_active"), 5);
}

}  // namespace
}  // namespace smollm::service

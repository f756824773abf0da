// Tests of the Prometheus text parser that the service tests read /metrics with.
#include "tests/unit/service_metrics/prometheus_text.h"

#include <cmath>

#include "gtest/gtest.h"

namespace smollm::testing {
namespace {

constexpr std::string_view kText =
    "# HELP rpcs_total RPCs \\\\ done\n"
    "# TYPE rpcs_total counter\n"
    "rpcs_total{method=\"Gen\",code=\"OK\"} 17\n"
    "rpcs_total{method=\"a\\\"b\\\\c\\nd\",code=\"OK\",} 3 1700000000000\n"
    "\n"
    "# a plain comment\n"
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_count 4\r\n"
    "lat_seconds_sum 2.75\n"
    "lat_seconds_bucket{le=\"0.5\"} 1\n"
    "lat_seconds_bucket{le=\"1\"} 3\n"
    "lat_seconds_bucket{le=\"+Inf\"} 4\n"
    "ratio 6.25e-01\n"
    "up NaN\n";

TEST(PrometheusTextTest, ParsesSamplesLabelsAndComments) {
  absl::StatusOr<PromExposition> e = ParsePrometheusText(kText);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type.at("rpcs_total"), "counter");
  EXPECT_EQ(e->type.at("lat_seconds"), "histogram");
  EXPECT_EQ(e->help.at("rpcs_total"), "RPCs \\ done");
  EXPECT_EQ(e->samples.size(), 9u);
  EXPECT_EQ(e->Value("rpcs_total", {{"method", "Gen"}}), 17);
  EXPECT_EQ(e->Value("rpcs_total", {{"method", "a\"b\\c\nd"}, {"code", "OK"}}), 3);
  EXPECT_EQ(e->Value("rpcs_total"), std::nullopt);  // two match
  EXPECT_EQ(e->Total("rpcs_total", {{"code", "OK"}}), 20);
  EXPECT_EQ(e->Total("absent_total"), 0);
  EXPECT_EQ(e->Value("ratio"), 0.625);
  ASSERT_TRUE(e->Value("up").has_value());
  EXPECT_TRUE(std::isnan(*e->Value("up")));
}

TEST(PrometheusTextTest, HistogramIsCheckedForConsistency) {
  absl::StatusOr<PromExposition> e = ParsePrometheusText(kText);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<PromHistogram> h = e->Histogram("lat_seconds");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->count, 4);
  EXPECT_EQ(h->sum, 2.75);
  ASSERT_EQ(h->buckets.size(), 3u);
  EXPECT_EQ(h->buckets[1], std::make_pair(1.0, 3.0));
  EXPECT_TRUE(std::isinf(h->buckets[2].first));
  EXPECT_EQ(e->Histogram("nothing").status().code(), absl::StatusCode::kNotFound);

  const char* broken[] = {
      // not cumulative
      "h_bucket{le=\"1\"} 3\nh_bucket{le=\"2\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\n",
      // +Inf differs from _count
      "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
      // no +Inf bucket
      "h_bucket{le=\"1\"} 3\nh_sum 1\nh_count 3\n",
      // no _sum
      "h_bucket{le=\"+Inf\"} 3\nh_count 3\n",
  };
  for (const char* text : broken) {
    absl::StatusOr<PromExposition> b = ParsePrometheusText(text);
    ASSERT_TRUE(b.ok()) << text;
    EXPECT_EQ(b->Histogram("h").status().code(), absl::StatusCode::kFailedPrecondition) << text;
  }
}

TEST(PrometheusTextTest, RejectsMalformedLines) {
  const char* bad[] = {
      "m{a=\"1\" 2\n",          // unclosed label set
      "m{a=1} 2\n",             // unquoted value
      "m{a=\"1\",a=\"2\"} 2\n",  // repeated label
      "m 12abc\n",              // bad value
      "m 1 2 3\n",              // too many fields
      "m\n",                    // no value
      "9m 1\n",                 // bad name
      "m{a=\"x\\q\"} 1\n",      // bad escape
      "m 1\nm 2\n",             // repeated sample
      "# TYPE m countr\n",      // unknown type
      "m 1 notatime\n",         // bad timestamp
  };
  for (const char* text : bad) {
    absl::StatusOr<PromExposition> e = ParsePrometheusText(text);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(PrometheusTextTest, HttpGetFailsWithoutServer) {
  // Port 1 on loopback is not listening in a test environment: connect is refused.
  EXPECT_EQ(HttpGet(1, "/metrics", absl::Seconds(2)).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace smollm::testing

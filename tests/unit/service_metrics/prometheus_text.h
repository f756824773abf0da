// Test support for the service tests: scrape /metrics over a plain socket and parse the
// Prometheus text exposition format (0.0.4).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace smollm::testing {

using PromLabels = std::map<std::string, std::string>;

struct PromSample {
  std::string name;  // as written: histograms give name_bucket, name_sum, name_count
  PromLabels labels;
  double value = 0;
};

struct PromHistogram {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count), by le; +Inf last
  double sum = 0;
  double count = 0;
};

struct PromExposition {
  std::map<std::string, std::string> type;  // family name -> counter, gauge, histogram, ...
  std::map<std::string, std::string> help;  // family name -> help text (unescaped)
  std::vector<PromSample> samples;          // in file order

  // Samples named `name` whose labels include every pair in `labels`.
  std::vector<const PromSample*> Find(std::string_view name, const PromLabels& labels = {}) const;
  // The value of the one sample that Find returns; nullopt when none or several match.
  std::optional<double> Value(std::string_view name, const PromLabels& labels = {}) const;
  // The sum of the values of the samples that Find returns (0 when none).
  double Total(std::string_view name, const PromLabels& labels = {}) const;
  // The histogram `name` with exactly `labels` (besides le). NotFound when absent;
  // FailedPrecondition when inconsistent: buckets not cumulative, no +Inf bucket, or
  // +Inf != _count.
  absl::StatusOr<PromHistogram> Histogram(std::string_view name,
                                          const PromLabels& labels = {}) const;
};

// Parses the whole text. InvalidArgument naming the line for a malformed sample, label
// set, value or TYPE line, or for a sample repeated with the same name and labels.
absl::StatusOr<PromExposition> ParsePrometheusText(std::string_view text);

// GET http://127.0.0.1:<port><path> with HTTP/1.0 over a POSIX socket; the body of a 200
// response. Unavailable when it cannot connect or the reply does not come within
// `timeout`; Internal for any status other than 200.
absl::StatusOr<std::string> HttpGet(int port, std::string_view path,
                                    absl::Duration timeout = absl::Seconds(10));

// HttpGet(port, "/metrics") then ParsePrometheusText.
absl::StatusOr<PromExposition> Scrape(int port);

}  // namespace smollm::testing

// Helpers shared by the service metrics tests.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/engine/engine.h"
#include "service/metrics.h"
#include "tests/unit/service_metrics/prometheus_text.h"

namespace smollm::service {

// The metrics as GET /metrics would render them, parsed; fails the test when unparsable.
inline testing::PromExposition Exposition(const ServiceMetrics& metrics) {
  absl::StatusOr<testing::PromExposition> e = testing::ParsePrometheusText(metrics.TextExposition());
  if (!e.ok()) {
    ADD_FAILURE() << e.status();
    return {};
  }
  return *std::move(e);
}

inline std::unique_ptr<ServiceMetrics> MakeMetrics(std::string listen_address = "") {
  MetricsOptions options;
  options.listen_address = std::move(listen_address);
  options.model_name = "SmolLM3-3B";
  options.architecture = "smollm3";
  options.quantization = "Q4_K_M";
  options.device = "cpu";
  options.version = "0.1.0";
  absl::StatusOr<std::unique_ptr<ServiceMetrics>> m = ServiceMetrics::Create(options);
  if (!m.ok()) {
    ADD_FAILURE() << m.status();
    return nullptr;
  }
  return *std::move(m);
}

inline runtime::FinalEvent Final(absl::Status status, runtime::FinishReason reason, int prompt,
                                 int cached, int completion,
                                 absl::Duration queue = absl::ZeroDuration(),
                                 absl::Duration ttft = absl::ZeroDuration()) {
  runtime::FinalEvent e;
  e.status = std::move(status);
  e.usage.prompt_tokens = prompt;
  e.usage.cached_tokens = cached;
  e.usage.completion_tokens = completion;
  e.usage.queue_time = queue;
  e.usage.time_to_first_token = ttft;
  e.usage.finish_reason = reason;
  return e;
}

}  // namespace smollm::service

// Prometheus metrics of the gRPC service: RPCs, generations, latencies and engine gauges.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "runtime/engine/engine.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace smollm::service {

class MetricsExposer;

struct MetricsOptions {
  // "host:port" for the HTTP exposer serving GET /metrics; port 0 picks a free port.
  // Empty: no exposer (the metrics are still kept and TextExposition() renders them).
  std::string listen_address;
  // Labels of smollm_build_info; fixed for the process, so they cannot multiply series.
  std::string model_name, architecture, quantization, device, version;
};

// One registry per instance: several instances (several servers in one test process)
// never share or clash. Every method is thread-safe and never blocks on a scrape for
// long (prometheus-cpp counters and gauges are atomics, histograms take a short lock).
// Label values are bounded: methods outside the fixed list, codes outside gRPC's 17 and
// unexpected finish states are reported as "other" (or "error" for failed generations).
class ServiceMetrics {
 public:
  // InvalidArgument when listen_address is not "host:port" (IPv6 host in brackets) with a
  // port in 0..65535; Unavailable when nothing can listen there (address in use, not an
  // address of this machine).
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Create(const MetricsOptions& options);
  ~ServiceMetrics();  // stops the exposer (within milliseconds) before the registry goes
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  // The bound port (the one chosen when listen port 0 was asked for); 0 without exposer.
  int metrics_port() const;

  void SetModelLoadTime(absl::Duration d);

  // method: "Generate", "Chat", "Tokenize", "Detokenize", "GetModelInfo", "GetSession",
  // "DeleteSession"; anything else counts as "other". Call RpcFinished once per
  // RpcStarted: the in-flight gauge is their difference.
  void RpcStarted(absl::string_view method);
  void RpcFinished(absl::string_view method, grpc::StatusCode code);

  // A generation (Generate call or session turn) ended; `end_to_end` is the server's
  // time from receiving the request to the final event. Feeds the finish-reason counter,
  // the token totals and the TTFT, queue-time, end-to-end and token-count histograms.
  void GenerationFinished(const runtime::FinalEvent& final_event, absl::Duration end_to_end);
  // A write of `tokens` tokens reached the stream `since_previous_write` after the
  // stream's previous write. Call it for the writes after the first (the first one's wait
  // is the time to first token): it records `tokens` inter-token latencies of
  // since_previous_write / tokens each, so the histogram's mean is the time per output
  // token. tokens <= 0 or a negative duration is ignored.
  void TokensStreamed(int tokens, absl::Duration since_previous_write);
  void Cancelled();  // a client cancel or disconnect stopped a sequence

  // Sets the engine gauges and advances the counters fed from EngineStats' monotonic
  // totals by their increase since the previous call. A total below the previous one
  // means a new engine counting from zero: the counter grows by the new total, so the
  // exported counters never decrease. The server calls this periodically (this class
  // owns no thread).
  void UpdateEngineStats(const runtime::EngineStats& stats);
  void SessionsActive(int64_t n);

  // The registry in Prometheus text format 0.0.4, as GET /metrics serves it.
  std::string TextExposition() const;

 private:
  struct Instruments;  // metric handles (metrics.cc)
  ServiceMetrics();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Instruments> m_;
  std::unique_ptr<MetricsExposer> exposer_;  // after the registry: destroyed first

  absl::Mutex engine_mu_;
  std::vector<uint64_t> last_totals_ ABSL_GUARDED_BY(engine_mu_);  // EngineStats totals seen
  absl::Mutex ratio_mu_;  // keeps the prefix-cache hit ratio consistent with its counters
  int64_t prompt_tokens_ ABSL_GUARDED_BY(ratio_mu_) = 0;
  int64_t cached_tokens_ ABSL_GUARDED_BY(ratio_mu_) = 0;
};

}  // namespace smollm::service

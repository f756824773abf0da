// Where every call reports its start, its end and its generation: metrics and the
// one-line-per-request JSON log, in one place.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/engine/engine.h"
#include "service/metrics.h"

namespace smollm::service {

// What a finished call reports.
struct CallRecord {
  std::string request_id;
  std::string method;
  std::string principal;   // never a key
  std::string session_id;  // empty when none
  absl::Status status;
  int prompt_tokens = 0;
  int cached_tokens = 0;
  int completion_tokens = 0;
  absl::Duration time_to_first_token = absl::ZeroDuration();
  absl::Time started;
  bool counted = false;  // RpcStarted was counted (metrics were present at the start)
};

// Thread-safe. `metrics` may be null (no metrics) and must outlive the observer.
class CallObserver {
 public:
  explicit CallObserver(ServiceMetrics* metrics) : metrics_(metrics) {}
  // Metrics may join later (they are labelled with the model, known once it loaded).
  void SetMetrics(ServiceMetrics* metrics) { metrics_.store(metrics); }

  // A process-unique id for a new call, e.g. "r1a".
  std::string NextRequestId();

  // Counts a started call; returns whether it was counted (store it in CallRecord).
  bool Started(absl::string_view method);
  // Logs one line (event "request") and counts the call (when its start was counted, so
  // that the in-flight gauge stays paired); call once per Started.
  void Finished(const CallRecord& record);
  void GenerationFinished(const runtime::FinalEvent& final_event, absl::Duration end_to_end);
  void TokensStreamed(int tokens, absl::Duration since_previous_write);
  void Cancelled();

 private:
  std::atomic<ServiceMetrics*> metrics_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace smollm::service

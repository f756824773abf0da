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

// The time between one stream's consecutive token writes, reported to the observer as
// inter-token latency (the first write has none before it). Not thread-safe: the owning
// reactor calls it under its lock.
class WriteGapClock {
 public:
  void Wrote(CallObserver& observer, int tokens) {
    const absl::Time now = absl::Now();
    if (last_ != absl::InfinitePast()) observer.TokensStreamed(tokens, now - last_);
    last_ = now;
  }

 private:
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace smollm::service

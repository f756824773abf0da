// Call reporting: Prometheus counters and the per-request JSON log line.
#include "service/call_observer.h"

#include "absl/strings/str_cat.h"
#include "service/json_log.h"
#include "service/status_map.h"

namespace smollm::service {

std::string CallObserver::NextRequestId() {
  return absl::StrCat("r", absl::Hex(next_id_.fetch_add(1)));
}

bool CallObserver::Started(absl::string_view method) {
  ServiceMetrics* m = metrics_.load();
  if (m != nullptr) m->RpcStarted(method);
  return m != nullptr;
}

void CallObserver::Finished(const CallRecord& r) {
  const grpc::StatusCode code = ToGrpcCode(r.status.code());
  if (ServiceMetrics* m = metrics_.load(); m != nullptr && r.counted) {
    m->RpcFinished(r.method, code);
  }
  const bool failed = !r.status.ok() && r.status.code() != absl::StatusCode::kCancelled;
  LogLine line(failed ? LogLevel::kWarning : LogLevel::kInfo, "request");
  line.RequestId(r.request_id)
      .Str("method", r.method)
      .Str("code", absl::StatusCodeToString(r.status.code()))
      .Str("principal", r.principal);
  if (!r.session_id.empty()) line.Str("session_id", r.session_id);
  if (!r.status.ok()) line.Str("message", r.status.message());
  if (r.prompt_tokens > 0 || r.completion_tokens > 0) {
    line.Int("prompt_tokens", r.prompt_tokens)
        .Int("cached_tokens", r.cached_tokens)
        .Int("completion_tokens", r.completion_tokens)
        .Millis("ttft_ms", r.time_to_first_token);
  }
  line.Millis("duration_ms", absl::Now() - r.started).Emit();
}

void CallObserver::GenerationFinished(const runtime::FinalEvent& final_event,
                                      absl::Duration end_to_end) {
  if (ServiceMetrics* m = metrics_.load()) m->GenerationFinished(final_event, end_to_end);
}

void CallObserver::TokensStreamed(int tokens, absl::Duration since_previous_write) {
  if (ServiceMetrics* m = metrics_.load()) m->TokensStreamed(tokens, since_previous_write);
}

void CallObserver::Cancelled() {
  if (ServiceMetrics* m = metrics_.load()) m->Cancelled();
}

}  // namespace smollm::service

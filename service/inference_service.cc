// InferenceService: admission, the live-stream registry and drain.
#include "service/inference_service.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/chat_reactor.h"
#include "service/generate_reactor.h"
#include "service/status_map.h"

namespace smollm::service {

InferenceService::InferenceService(ServiceConfig config, const ApiKeys& keys,
                                   CallObserver& observer)
    : config_(std::move(config)),
      keys_(keys),
      observer_(observer),
      book_(config_.session_idle_ttl),
      work_(std::make_unique<WorkQueue>(config_.work_threads)) {}

InferenceService::~InferenceService() { work_.reset(); }

void InferenceService::SetReady(const ServingContext* serving) { serving_.store(serving); }

void InferenceService::BeginDrain() {
  draining_.store(true);
  absl::MutexLock lock(&streams_mu_);
  for (LiveStream* s : streams_) s->Drain();
}

void InferenceService::AbortAll(const absl::Status& status) {
  absl::MutexLock lock(&streams_mu_);
  for (LiveStream* s : streams_) s->Abort(status);
}

size_t InferenceService::live_streams() const {
  absl::MutexLock lock(&streams_mu_);
  return streams_.size();
}

void InferenceService::Register(LiveStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.insert(stream);
}

void InferenceService::Unregister(LiveStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

absl::StatusOr<Admission> InferenceService::Admit(grpc::CallbackServerContext* context) {
  context->AddInitialMetadata("x-served-by", config_.replica_name);
  Admission admission;
  admission.serving = serving_.load();
  if (admission.serving == nullptr) {
    return WithReason(absl::UnavailableError(absl::StrCat(
                          "replica ", config_.replica_name,
                          " is loading its model; retry shortly or on another replica")),
                      "LOADING");
  }
  if (draining_.load()) {
    return WithReason(
        absl::UnavailableError(absl::StrCat(
            "replica ", config_.replica_name,
            " is draining; retry on another replica (sessions can be resumed there by "
            "rebuilding them from their history)")),
        "DRAINING");
  }
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  std::string value;
  if (it != metadata.end()) value.assign(it->second.data(), it->second.size());
  absl::StatusOr<std::string> principal =
      keys_.Authenticate(it == metadata.end() ? nullptr : &value);
  if (!principal.ok()) return WithReason(principal.status(), "BAD_API_KEY");
  admission.principal = *std::move(principal);
  return admission;
}

grpc::ServerWriteReactor<v1::GenerateResponse>* InferenceService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  return new GenerateReactor(*this, context, request);
}

grpc::ServerBidiReactor<v1::ChatRequest, v1::ChatResponse>* InferenceService::Chat(
    grpc::CallbackServerContext* context) {
  return new ChatReactor(*this, context);
}

std::optional<absl::Time> CallDeadline(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::nullopt;
  // Deadlines beyond a century are "none" (some clients send huge ones).
  if (deadline - std::chrono::system_clock::now() > std::chrono::hours(24 * 365 * 100)) {
    return std::nullopt;
  }
  return absl::FromChrono(deadline);
}

std::string MetadataValue(const grpc::CallbackServerContext& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace smollm::service

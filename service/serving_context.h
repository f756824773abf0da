// What request handling needs once the model is loaded: the model, the engine, the
// limits and the static model description.
#pragma once

#include <string>

#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "service/convert.h"
#include "smollm/v1/inference.pb.h"

namespace smollm::service {

// Immutable once published to the service (InferenceService::SetReady); the model and
// engine outlive every call.
struct ServingContext {
  const runtime::Model* model = nullptr;
  runtime::Engine* engine = nullptr;
  RequestLimits limits;
  v1::ModelInfo model_info;
};

// ModelInfo for `model` served with `limits` (name, architecture, parameter count, the
// dominant weight format, chat template, special tokens).
v1::ModelInfo BuildModelInfo(const runtime::Model& model, const RequestLimits& limits,
                             const std::string& device, int max_queued_requests,
                             int max_sessions, absl::Duration session_idle_ttl);

}  // namespace smollm::service

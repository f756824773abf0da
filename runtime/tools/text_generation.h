// Single-sequence text generation on one backend: chunked prefill, then sampled decode
// steps streamed as UTF-8-complete text. The multi-sequence engine builds on the same
// Forward; this is the loop behind smollm-generate.
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/model/model.h"
#include "runtime/model/weights.h"
#include "runtime/sampling/sampling_params.h"
#include "runtime/sampling/stop_criteria.h"

namespace smollm::runtime {

struct GenerationStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double prefill_seconds = 0;  // prompt processing, up to the first sampled token
  double decode_seconds = 0;   // every later step
  FinishReason finish_reason = FinishReason::kNone;
};

struct GenerationOptions {
  SamplingParams sampling;
  int prefill_chunk = 256;  // prompt tokens per forward step
  int page_size = 16;       // KV tokens per page
};

// Generates from `prompt` (token ids, BOS included if the model wants one) until a stop
// token (the sampling params' or the model's EOS), a stop string, max_tokens or the end
// of the context. `on_text` receives text as it becomes safe to show. Errors:
// InvalidArgument for bad sampling parameters or an empty prompt, OutOfRange when the
// prompt does not fit the context, and the backend's errors.
absl::StatusOr<GenerationStats> GenerateText(const Model& model, const ModelWeights& weights,
                                             Backend& backend,
                                             std::span<const TokenId> prompt,
                                             const GenerationOptions& options,
                                             const std::function<void(std::string_view)>& on_text);

}  // namespace smollm::runtime

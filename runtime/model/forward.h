// The decoder forward pass, written once against the Backend interface.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/model/model_config.h"
#include "runtime/model/step_batch.h"
#include "runtime/model/weights.h"

namespace smollm::runtime {

struct ForwardOptions {
  int max_tokens = 512;  // tokens per step (prefill chunk plus decode tokens)
  int max_logits = 64;   // logit rows per step (sequences sampling in that step)
};

// Owns the activation buffers for steps of up to max_tokens tokens, allocated once at
// creation: a step allocates nothing. Not thread-safe; one per compute thread. The
// config, weights and backend must outlive it.
class Forward {
 public:
  static absl::StatusOr<Forward> Create(const ModelConfig& config, const ModelWeights& weights,
                                        Backend& backend, const ForwardOptions& options);

  // Runs every token of `batch` through the decoder, writing their keys and values into
  // `cache` and the logits of batch.logit_rows() to `logits` ([n_logits][vocab], host).
  // InvalidArgument when the batch exceeds the options or a position falls outside its
  // page table; errors of the backend otherwise.
  absl::Status Run(const StepBatch& batch, KvCache& cache, std::span<float> logits);

 private:
  Forward(const ModelConfig& config, const ModelWeights& weights, Backend& backend,
          const ForwardOptions& options)
      : config_(&config), weights_(&weights), backend_(&backend), options_(options) {}
  absl::Status Validate(const StepBatch& batch, const KvCache& cache,
                        std::span<float> logits) const;
  absl::StatusOr<Activations> Buffer(int64_t rows, int64_t cols);

  const ModelConfig* config_;
  const ModelWeights* weights_;
  Backend* backend_;
  ForwardOptions options_;
  std::vector<DeviceBuffer> buffers_;
  // Activations for up to max_tokens rows (a step uses the first n_tokens of each).
  Activations x_;       // [tokens, d_model] residual stream
  Activations norm_;    // [tokens, d_model] normalised input of a block
  Activations q_;       // [tokens, q_dim]
  Activations k_;       // [tokens, kv_dim]
  Activations v_;       // [tokens, kv_dim]
  Activations attn_;    // [tokens, q_dim] attention output before projection
  Activations proj_;    // [tokens, d_model] output of attn_output / ffn_down
  Activations gate_;    // [tokens, d_ffn]
  Activations up_;      // [tokens, d_ffn]
  Activations last_;    // [logits, d_model] hidden states of the rows that need logits
  Activations logits_;  // [logits, vocab]
};

}  // namespace smollm::runtime

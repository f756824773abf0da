// Runs the decoder over whole token sequences for the conformance tests: a model opened
// once on a CPU backend (optionally wrapped), teacher-forced logits and greedy decoding.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cpu/cpu_features.h"
#include "runtime/core/thread_pool.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "runtime/model/weights.h"
#include "tests/test_support.h"

namespace smollm::testing {

struct DecoderRunnerOptions {
  int threads = 2;
  int page_size = 16;      // small pages: every sequence spans several, in shuffled order
  int max_positions = 256;  // per sequence
  int max_seqs = 8;
  int max_tokens = 256;    // per forward step (prefill chunks are cut to this)
  // The CPU backend's int8 path (CpuBackend::SetQuantizedActivations). Off by default:
  // most checks here hold the decoder to exact arithmetic; int8_fidelity_test holds the
  // int8 path to llama.cpp's own fidelity.
  bool quantized_activations = false;
  // The CPU kernels' ISA: the best this CPU runs unless set (int8_fidelity_test runs each).
  std::optional<runtime::cpu::CpuIsa> isa;
  // Wraps the CPU backend (negative controls): gets it, returns the backend to run on.
  std::function<std::unique_ptr<runtime::Backend>(runtime::Backend&)> wrap_backend;
  // Edits the config the decoder runs with (negative controls), before the upload.
  std::function<void(runtime::ModelConfig&)> edit_config;
};

// How Greedy schedules the sequences.
enum class Schedule {
  kSolo,       // one sequence at a time, alone in its steps
  kBatched,    // every prompt prefilled in one step, then one decode token of each per step
  kStaggered,  // sequence s joins at step s: its prefill shares a step with the others'
               // decode tokens, as continuous batching mixes them
};

struct GreedyResult {
  std::vector<std::vector<runtime::TokenId>> tokens;  // [seq][n_new] generated tokens
  // [seq][n_new * vocab]: the logits each generated token was picked from (row 0 comes
  // from the prefill step, row i from the decode step that fed token i - 1).
  std::vector<std::vector<float>> logits;
};

class DecoderRunner {
 public:
  static absl::StatusOr<std::unique_ptr<DecoderRunner>> Open(const std::string& path,
                                                             DecoderRunnerOptions options = {});

  const runtime::Model& model() const { return *model_; }
  const runtime::ModelConfig& config() const { return config_; }  // as run
  int vocab() const { return config_.vocab_size; }

  // Logits at every position of `tokens`: [tokens.size() * vocab], row p predicting
  // token p + 1. The sequence goes through as few steps as max_tokens allows; within a
  // step every token is its own one-token entry sharing the page table, so every row
  // comes out of the same prefill computation.
  absl::StatusOr<std::vector<float>> TeacherForced(std::span<const runtime::TokenId> tokens);

  // Greedy continuation of each prompt by n_new tokens, scheduled as `schedule` says.
  absl::StatusOr<GreedyResult> Greedy(const std::vector<std::vector<runtime::TokenId>>& prompts,
                                      int n_new, Schedule schedule);

 private:
  DecoderRunner() = default;
  std::span<const int32_t> Pages(int seq) const;
  absl::Status RunStep(std::vector<float>& logits);

  DecoderRunnerOptions options_;
  std::unique_ptr<runtime::Model> model_;
  runtime::ModelConfig config_;
  std::unique_ptr<runtime::ThreadPool> pool_;
  std::unique_ptr<runtime::CpuBackend> cpu_;
  std::unique_ptr<runtime::Backend> wrapped_;  // null when the CPU backend runs directly
  runtime::Backend* backend_ = nullptr;
  runtime::ModelWeights weights_;
  std::unique_ptr<runtime::Forward> forward_;
  runtime::KvCache cache_;
  std::vector<int32_t> page_ids_;  // [max_seqs][pages_per_seq], a shuffled permutation
  int pages_per_seq_ = 0;
  runtime::StepBatch batch_;
};

}  // namespace smollm::testing

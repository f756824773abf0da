// One decode step (one new token for each of up to max_batch sequences) on the CUDA
// backend, captured once per batch-size bucket as a CUDA graph and replayed.
//
// Graph safety: a captured graph bakes in every pointer and launch shape, so nothing a
// step changes may be a kernel argument. The step's host data (tokens, positions, page
// tables) is written into one pinned buffer; the graph's first node copies that buffer
// into a fixed device buffer, which the kernels read (DeviceStep). Launch shapes depend
// only on the bucket: the attention always runs a fixed number of splits and sizes each
// from the position it reads on the device; rows beyond the live sequences are padding
// (position -1: no KV store, zero attention). The graph's last node copies the top-k ids
// and logits to pinned memory, so only those cross to the host.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend/cuda/cuda_backend.h"

namespace smollm::runtime {

// The decoder's shape and weights as the backend holds them (no model types here: the
// model layer fills this from its config and ModelWeights).
struct DecodeLayer {
  Weight attn_norm, attn_q, attn_k, attn_v, attn_output;
  Weight ffn_norm, ffn_gate, ffn_up, ffn_down;
  bool rope = true;  // false on SmolLM3's NoPE layers
};
struct DecodeModel {
  int d_model = 0, d_ffn = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, vocab_size = 0;
  float rms_norm_eps = 0, rope_theta = 0;
  Weight token_embd, output_norm, output;
  std::vector<DecodeLayer> layers;
};

struct DecodeGraphOptions {
  int max_batch = 16;          // sequences per step (at most 64)
  int max_pages_per_seq = 64;  // page-table capacity of each sequence
  int top_k = 1;               // candidates returned per sequence (1: greedy)
  bool use_graphs = true;      // false: launch the same kernels directly (for comparison)
  // Split count launched by the captured attention; a token uses as many of them as its
  // length asks for (attention.cu), so the eager path's kMaxAttentionSplits gives the
  // same numerics.
  int attention_splits = cuda::kMaxAttentionSplits;
};

// One sequence's input to a step: the token at `pos`, and the sequence's page table.
struct DecodeInput {
  TokenId token = 0;
  Pos pos = 0;
  std::span<const int32_t> pages;
};

class DecodeGraph {
 public:
  // The backend, model weights and cache must outlive the graph; the cache must stay
  // the same object (its device pointers are captured).
  static absl::StatusOr<std::unique_ptr<DecodeGraph>> Create(CudaBackend& backend,
                                                            const DecodeModel& model,
                                                            KvCache& cache,
                                                            const DecodeGraphOptions& options);

  // Runs the step for inputs.size() (1..max_batch) sequences: stores each token's keys
  // and values at its position and writes its top_k ids and logits, best first, to
  // ids / logits ([inputs.size()][top_k]). InvalidArgument for inputs outside the limits
  // (naming them); device errors otherwise.
  absl::Status Step(std::span<const DecodeInput> inputs, std::span<TokenId> ids,
                    std::span<float> logits);

  int graphs_captured() const { return graphs_captured_; }

 private:
  DecodeGraph(CudaBackend& backend, const DecodeModel& model, KvCache& cache,
              const DecodeGraphOptions& options)
      : backend_(backend), model_(model), cache_(cache), options_(options) {}
  absl::Status Allocate();
  absl::Status Validate(std::span<const DecodeInput> inputs) const;
  int Bucket(int n) const;
  void WriteStepData(std::span<const DecodeInput> inputs, int bucket);
  void Enqueue(int bucket);  // the whole step, copies included
  absl::Status Replay(int bucket);

  CudaBackend& backend_;
  const DecodeModel& model_;
  KvCache& cache_;
  DecodeGraphOptions options_;
  std::vector<DeviceBuffer> buffers_;
  // Step data: tokens[B], positions[B], token_seq[B], page_table_begin[B + 1],
  // page_ids[B * max_pages_per_seq] (B = max_batch), pinned and on the device.
  cuda::PinnedMemory step_host_;
  cuda::DeviceMemory step_device_;
  cuda::PinnedMemory result_host_;  // ids [B][k] then logits [B][k]
  cuda::DeviceMemory result_device_;
  float* partials_ = nullptr;
  Activations x_, norm_, q_, k_, v_, attn_, proj_, gate_, up_, logits_;
  std::array<cuda::GraphExec, 65> graphs_;  // by bucket size: 1, 2, 4, ..., 64
  int graphs_captured_ = 0;
};

}  // namespace smollm::runtime

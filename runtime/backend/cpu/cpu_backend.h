// The CPU backend: weights used in place from the mapped file, f32 activations, ops
// spread over an explicitly passed thread pool.
#pragma once

#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "runtime/backend/backend.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/backend/cpu/quant_matmul.h"
#include "runtime/core/huge_page_buffer.h"
#include "runtime/core/thread_pool.h"

namespace smollm::runtime {

namespace cpu {
class OnednnMatmul;
}  // namespace cpu

class CpuBackend final : public Backend {
 public:
  // `pool` must outlive the backend. `max_cols` bounds the width of any weight row that
  // MatMul/Embed will dequantize (sizes the per-thread scratch once). The kernels are the
  // best this CPU runs unless `kernels` names others (tests compare every variant).
  CpuBackend(ThreadPool& pool, int64_t max_cols,
             const cpu::CpuKernels& kernels = cpu::BestKernels());
  ~CpuBackend() override;

  // Matmuls of at least `min_tokens` token rows go through oneDNN in bf16
  // (onednn_matmul.h; cpu::kOnednnCrossoverTokens is the measured break-even). Prefill is
  // then several times faster, but those results round differently from the int8 path,
  // so a token's logits depend on the size of its batch (beyond f32 rounding). 0, the
  // default, keeps every matmul on the backend's own kernels, batch-invariant.
  void SetOnednnMinTokens(int64_t min_tokens);

  // On (the default): weights with an int8 kernel (quant_matvec.h) are multiplied with
  // activations quantized to 8 bits per matmul, as llama.cpp does: much faster than f32
  // (tests/bench/cpu_vs_llama_cpp.py), at llama.cpp's fidelity (int8_fidelity_test.cc).
  // Off: every weight is dequantized and dotted in f32, exact up to f32 rounding (the
  // conformance checks against exact arithmetic run so).
  void SetQuantizedActivations(bool on) { quantized_activations_ = on; }

  const cpu::CpuKernels& kernels() const { return kernels_; }

  std::string_view name() const override { return "cpu"; }
  bool SupportsWeightType(GgmlType type) const override;

  absl::StatusOr<DeviceBuffer> Allocate(uint64_t bytes) override;
  // Used in place, except Q4_K and Q6_K matrices when the kernels have an interleaved-row
  // matvec for them (x16_layout.h): those are repacked once into memory the backend owns, and the pages of
  // the original are handed back to the kernel (madvise MADV_PAGEOUT), so that one copy
  // stays resident.
  absl::StatusOr<Weight> UploadWeight(const HostWeight& weight) override;
  absl::Status CopyToHost(const Activations& src, std::span<float> dst) override;
  absl::Status Synchronize() override { return absl::OkStatus(); }

  void Embed(const Weight& table, std::span<const TokenId> tokens,
             const Activations& out) override;
  void RmsNorm(const Activations& x, const Weight& gain, float eps,
               const Activations& out) override;
  void MatMul(const Weight& w, const Activations& x, const Activations& out) override;
  // One QuantMatMul::MatMulMany where the int8 path takes every target with one
  // activation format (a step too small for oneDNN); MatMul by MatMul otherwise.
  void MatMulMany(std::span<const MatMulTarget> targets, const Activations& x) override;
  void Rope(const Activations& x, const RopeParams& rope,
            std::span<const Pos> positions) override;
  void SiluMul(const Activations& gate, const Activations& up,
               const Activations& out) override;
  void Add(const Activations& x, const Activations& y) override;
  void GatherRows(const Activations& x, std::span<const int32_t> rows,
                  const Activations& out) override;
  void StoreKv(KvCache& cache, int layer, const Activations& k, const Activations& v,
               const AttentionBatch& batch) override;
  void Attention(const KvCache& cache, int layer, int n_heads, const Activations& q,
                 const AttentionBatch& batch, const Activations& out) override;

 protected:
  void Free(void* data) override;

 private:
  float* Scratch(int thread) { return scratch_.data() + thread * max_cols_; }
  // Rows of `w` interleaved by UploadWeight (0 for weights used as given).
  int64_t X16Rows(const Weight& w) const;
  // Row r of w dequantized into dst (w.cols floats), whatever its layout; `thread`
  // selects the scratch for a row that must be de-interleaved first.
  void DequantizeRow(const Weight& w, int64_t x16_rows, int64_t r, float* dst, int thread);

  ThreadPool& pool_;
  const int64_t max_cols_;
  const cpu::CpuKernels& kernels_;
  std::vector<float> scratch_;  // [threads][max_cols] dequantized weight rows
  std::vector<uint8_t> row_scratch_;  // [threads][Q6_K bytes of max_cols] de-interleaved rows
  // Segment states of a small step's attention split over the threads (cpu_attention.h):
  // 5 MiB, enough for one SmolLM3-3B sequence of up to 161k positions (16 heads x 630
  // segments of 130 floats; longer ones run unsplit); left uninitialized, so only the
  // pages a step writes become resident.
  static constexpr size_t kAttentionPartialFloats = size_t{5} << 18;
  std::unique_ptr<float[]> attention_partials_;
  std::vector<HugePageBuffer> owned_;  // repacked weights
  // Allocations of at least a huge page (KV caches), by address: Free unmaps them.
  absl::Mutex large_mutex_;
  absl::flat_hash_map<const void*, HugePageBuffer> large_ ABSL_GUARDED_BY(large_mutex_);
  std::unordered_map<const void*, int64_t> x16_rows_;  // repacked data -> interleaved rows
  int64_t onednn_min_tokens_ = 0;
  std::unique_ptr<cpu::OnednnMatmul> onednn_;  // created by SetOnednnMinTokens
  cpu::QuantMatMul quant_matmul_;  // the int8 path of the types it supports
  bool quantized_activations_ = true;
};

}  // namespace smollm::runtime

// The CUDA backend: weights uploaded once in their GGUF block layout, f32 activations in
// device memory, every op an asynchronous kernel launch on one stream.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <optional>
#include <vector>

#include "runtime/backend/backend.h"
#include "runtime/backend/cuda/attention_plan.h"
#include "runtime/backend/cuda/cuda_device.h"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/cuda_raii.h"
#include "runtime/backend/cuda/gemm_plan.h"
#include "runtime/backend/cuda/host_stager.h"
#include "runtime/backend/cuda/lt_matmul.h"
#include "runtime/backend/cuda/prefill_kernels.h"

namespace smollm::runtime {

struct CudaBackendOptions {
  int device = 0;  // CUDA device ordinal
  // Matmuls of at least this many token rows dequantize the weight and run cuBLASLt
  // (gemm_plan.h); fewer take the fused mat-vec kernel. 0: never cuBLASLt.
  int64_t gemm_min_tokens = cuda::kCublasMinTokens;
  cuda::GemmType gemm_type = cuda::GemmType::kF16;
  // On (the default): quantized weights meet activations quantized to int8 as the CPU
  // backend quantizes them (activation_quant.h). Off: every mat-vec dequantizes the
  // weights and dots them in f32, as the CPU backend's SetQuantizedActivations(false)
  // does: exact up to f32 rounding, for the checks against exact arithmetic.
  bool quantized_activations = true;
};

// Weights: copied to the device as stored (no repacking): a Q4_K mat-vec unit is one
// 16-byte load (block_dot.h), the f32 kernel's lane split one 128-byte line per warp.
// Mixed steps (prefill chunks and decode tokens of many sequences in one forward): a
// matmul picks its kernel by the step's row count (below gemm_min_tokens the mat-vec on
// int8 activations, or in f32 for F32/F16 weights and with quantized_activations off;
// dequantize + cuBLASLt from there); attention picks per sequence (attention_plan.h):
// one-row sequences take the split-K decode kernel, longer chunks the flash-style
// prefill kernel. The step's host data (tokens, positions, page tables, the plan) is
// staged once per step however many layers ask for it (host_stager.h).
// Errors of the ops (bad shapes, launch failures) are kept and returned by the next
// Synchronize or CopyToHost, as the Backend contract says.
class CudaBackend final : public Backend {
 public:
  // FailedPrecondition when there is no driver, no device, or no kernel image for it.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(const CudaBackendOptions& options);
  ~CudaBackend() override;

  const cuda::CudaDeviceInfo& device() const { return device_; }
  cudaStream_t stream() const { return stream_.get(); }

  std::string_view name() const override { return "cuda"; }
  bool SupportsWeightType(GgmlType type) const override { return cuda::KernelSupports(type); }

  absl::StatusOr<DeviceBuffer> Allocate(uint64_t bytes) override;
  absl::StatusOr<Weight> UploadWeight(const HostWeight& weight) override;
  absl::Status CopyToHost(const Activations& src, std::span<float> dst) override;
  absl::Status Synchronize() override;

  void Embed(const Weight& table, std::span<const TokenId> tokens,
             const Activations& out) override;
  void RmsNorm(const Activations& x, const Weight& gain, float eps,
               const Activations& out) override;
  void MatMul(const Weight& w, const Activations& x, const Activations& out) override;
  void MatMulMany(std::span<const MatMulTarget> targets, const Activations& x) override;
  void MatMulAdd(const Weight& w, const Activations& x, const Activations& scratch,
                 const Activations& acc) override;
  void SwiGlu(const Weight& w_gate, const Weight& w_up, const Activations& x,
              const Activations& gate, const Activations& up) override;
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

  // ---- the same ops reading their step data from device memory (graph capture) ----
  void EmbedDevice(const Weight& table, const int32_t* tokens, int n_tokens,
                   const Activations& out);
  void RopeDevice(const Activations& x, const RopeParams& rope, const int32_t* positions);
  void StoreKvDevice(KvCache& cache, int layer, const Activations& k, const Activations& v,
                     const cuda::DeviceStep& step);
  // `partials`: q.rows * n_heads * n_splits * (head_dim + 2) floats.
  void AttentionDevice(const KvCache& cache, int layer, int n_heads, const Activations& q,
                       const cuda::DeviceStep& step, int n_splits, float* partials,
                       const Activations& out);
  // ids, values: [logits.rows][k] device memory.
  void TopK(const Activations& logits, int k, int32_t* ids, float* values);

  // Makes this backend's device current on the calling thread (the engine runs the ops on
  // its own thread; a device other than 0 must be selected there). Cheap when it already is.
  void MakeCurrent();

  // Records the first failure for the next Synchronize / CopyToHost.
  void Fail(absl::Status status);
  void Check(cudaError_t error, const char* what);
  absl::Status TakeError();

  // Host -> device bytes of step data staged so far (tests check it stays a few KB/step).
  uint64_t staged_bytes() const { return stager_.bytes_copied(); }
  size_t cached_gemm_plans() const { return lt_ ? lt_->cached_plans() : 0; }

 protected:
  void Free(void* data) override;

 private:
  CudaBackend(const CudaBackendOptions& options, cuda::CudaDeviceInfo device,
              cuda::Stream stream, cuda::HostStager stager)
      : options_(options),
        device_(std::move(device)),
        stream_(std::move(stream)),
        stager_(std::move(stager)) {}
  // Unimplemented unless head_dim and the GQA group fit the attention kernels.
  absl::Status CheckAttentionShape(const KvCacheShape& s, int n_heads) const;
  // Device copy of a host span (nullptr after recording an error).
  template <class T>
  const T* Stage(std::span<const T> values);
  float* AttentionScratch(uint64_t floats);
  // Which kernel computes w · x into out: dequantize + cuBLASLt from gemm_min_tokens rows
  // (out 16-byte aligned), else the int8 mat-vec, or the f32 one for F32/F16 weights and
  // with quantized_activations off.
  enum class MatMulPath { kGemm, kF32, kInt8 };
  MatMulPath PathOf(const Weight& w, const Activations& x, const Activations& out) const;
  // True when w · x takes the int8 mat-vec in one pass (fused epilogues need that).
  bool FusesInt8(const Weight& w, const Activations& x, const Activations& out) const;
  // x's rows quantized into the scratch (nullopt after recording an error).
  std::optional<cuda::QuantizedActivations> QuantizeRows(const Activations& x, GgmlType act_type);

  CudaBackendOptions options_;
  cuda::CudaDeviceInfo device_;
  cuda::Stream stream_;
  cuda::HostStager stager_;
  std::vector<cuda::DeviceMemory> weights_;
  cuda::DeviceMemory attention_scratch_;
  // Rows of activations the int8 mat-vec quantizes per pass, and their scratch.
  static constexpr int64_t kMatVecChunkRows = 64;
  cuda::DeviceMemory quantized_scratch_;
  std::vector<const MatMulTarget*> int8_targets_;  // MatMulMany's, kept to not allocate
  std::unique_ptr<cuda::LtMatmul> lt_;  // null when gemm_min_tokens is 0
  cuda::AttentionPlan plan_;
  absl::Status error_;
};

}  // namespace smollm::runtime

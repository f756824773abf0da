// The CUDA backend: weights uploaded once in their GGUF block layout, f32 activations in
// device memory, every op an asynchronous kernel launch on one stream.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "runtime/backend/backend.h"
#include "runtime/backend/cuda/cuda_device.h"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/cuda_raii.h"
#include "runtime/backend/cuda/host_stager.h"

namespace smollm::runtime {

struct CudaBackendOptions {
  int device = 0;  // CUDA device ordinal
};

// Weights: copied to the device as stored (no repacking): the lane split of
// block_decode.h already reads Q4_K quants as one 128-byte line per warp.
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

  // Records the first failure for the next Synchronize / CopyToHost.
  void Fail(absl::Status status);
  void Check(cudaError_t error, const char* what);
  absl::Status TakeError();

 protected:
  void Free(void* data) override;

 private:
  CudaBackend(cuda::CudaDeviceInfo device, cuda::Stream stream, cuda::HostStager stager)
      : device_(std::move(device)), stream_(std::move(stream)), stager_(std::move(stager)) {}
  // Device copy of a host span (nullptr after recording an error).
  template <class T>
  const T* Stage(std::span<const T> values);
  float* AttentionScratch(uint64_t floats);

  cuda::CudaDeviceInfo device_;
  cuda::Stream stream_;
  cuda::HostStager stager_;
  std::vector<cuda::DeviceMemory> weights_;
  cuda::DeviceMemory attention_scratch_;
  absl::Status error_;
};

}  // namespace smollm::runtime

// CudaBackend: memory, weight upload, and the Backend ops as kernel launches; host step
// data is staged to the device first (the *Device variants take it there already).
#include "runtime/backend/cuda/cuda_backend.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/core/status.h"

namespace smollm::runtime {
namespace {

constexpr uint64_t kStagingBytes = 1 << 20;

bool Aligned16(const Activations& a) {
  return reinterpret_cast<uintptr_t>(a.data) % 16 == 0 && a.stride % 4 == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(
    const CudaBackendOptions& options) {
  ASSIGN_OR_RETURN(cuda::CudaDeviceInfo device, cuda::ProbeCudaDevice(options.device));
  ASSIGN_OR_RETURN(cuda::Stream stream, cuda::CreateStream());
  ASSIGN_OR_RETURN(cuda::HostStager stager, cuda::HostStager::Create(kStagingBytes));
  std::unique_ptr<CudaBackend> backend(
      new CudaBackend(options, std::move(device), std::move(stream), std::move(stager)));
  if (options.gemm_min_tokens > 0) {
    ASSIGN_OR_RETURN(backend->lt_, cuda::LtMatmul::Create(options.gemm_type));
  }
  return backend;
}

CudaBackend::~CudaBackend() {
  if (stream_) cudaStreamSynchronize(stream_.get());  // nothing may still read what we free
}

void CudaBackend::MakeCurrent() {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current == device_.ordinal) return;
  Check(cudaSetDevice(device_.ordinal), "cudaSetDevice");
}

void CudaBackend::Fail(absl::Status status) {
  if (error_.ok()) error_ = std::move(status);
}

void CudaBackend::Check(cudaError_t error, const char* what) {
  if (error != cudaSuccess) Fail(cuda::CudaStatus(error, what));
}

absl::Status CudaBackend::TakeError() { return std::exchange(error_, absl::OkStatus()); }

absl::StatusOr<DeviceBuffer> CudaBackend::Allocate(uint64_t bytes) {
  MakeCurrent();
  ASSIGN_OR_RETURN(cuda::DeviceMemory memory, cuda::AllocateDevice(bytes));
  return DeviceBuffer(this, memory.ptr.release(), bytes);
}

void CudaBackend::Free(void* data) {
  cudaStreamSynchronize(stream_.get());
  cudaFree(data);
}

absl::StatusOr<Weight> CudaBackend::UploadWeight(const HostWeight& w) {
  if (!SupportsWeightType(w.type) ||
      ((w.type == GgmlType::kF32 || w.type == GgmlType::kF16) && w.cols % 8 != 0)) {
    return absl::UnimplementedError(absl::StrCat("the CUDA backend has no kernel for ",
                                                 std::string(NameOf(w.type)), " rows of ",
                                                 w.cols));
  }
  const std::optional<uint64_t> row_bytes = RowBytes(w.type, w.cols);
  if (!row_bytes || *row_bytes * static_cast<uint64_t>(w.rows) != w.bytes.size()) {
    return absl::InvalidArgumentError("weight byte size does not match its shape");
  }
  MakeCurrent();
  ASSIGN_OR_RETURN(cuda::DeviceMemory memory, cuda::AllocateDevice(w.bytes.size()));
  RETURN_IF_ERROR(cuda::CudaStatus(
      cudaMemcpy(memory.data(), w.bytes.data(), w.bytes.size(), cudaMemcpyHostToDevice),
      "cudaMemcpy (weight upload)"));
  const Weight weight{w.type, w.rows, w.cols, *row_bytes, memory.data()};
  weights_.push_back(std::move(memory));
  // The int8 mat-vec's scratch fits the widest weight from here on, so that no matmul
  // allocates (and none does inside a graph capture).
  const uint64_t scratch = cuda::QuantizedActivationBytes(kMatVecChunkRows, w.cols);
  if (cuda::HasInt8MatVec(w.type) && quantized_scratch_.bytes < scratch) {
    quantized_scratch_ = cuda::DeviceMemory();  // cudaFree waits for the kernels using it
    ASSIGN_OR_RETURN(quantized_scratch_, cuda::AllocateDevice(scratch));
  }
  return weight;
}

absl::Status CudaBackend::CopyToHost(const Activations& src, std::span<float> dst) {
  if (dst.size() != static_cast<size_t>(src.rows * src.cols)) {
    return absl::InvalidArgumentError("CopyToHost: destination size mismatch");
  }
  Check(cudaMemcpy2DAsync(dst.data(), src.cols * sizeof(float), src.data,
                          src.stride * sizeof(float), src.cols * sizeof(float), src.rows,
                          cudaMemcpyDeviceToHost, stream_.get()),
        "cudaMemcpy2DAsync (to host)");
  return Synchronize();
}

absl::Status CudaBackend::Synchronize() {
  MakeCurrent();
  Check(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
  stager_.Reset();
  return TakeError();
}

template <class T>
const T* CudaBackend::Stage(std::span<const T> values) {
  absl::StatusOr<const void*> staged =
      stager_.Stage(stream_.get(), values.data(), values.size_bytes());
  if (!staged.ok()) {
    Fail(staged.status());
    return nullptr;
  }
  return static_cast<const T*>(*staged);
}

float* CudaBackend::AttentionScratch(uint64_t floats) {
  const uint64_t bytes = floats * sizeof(float);
  if (attention_scratch_.bytes < bytes) {
    Check(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
    stager_.Reset();
    absl::StatusOr<cuda::DeviceMemory> memory = cuda::AllocateDevice(bytes * 2);
    if (!memory.ok()) {
      Fail(memory.status());
      return nullptr;
    }
    attention_scratch_ = *std::move(memory);
  }
  return attention_scratch_.as<float>();
}

void CudaBackend::Embed(const Weight& table, std::span<const TokenId> tokens,
                        const Activations& out) {
  MakeCurrent();  // before staging: the first op of every step
  if (const int32_t* d = Stage(tokens)) EmbedDevice(table, d, static_cast<int>(tokens.size()), out);
}

void CudaBackend::EmbedDevice(const Weight& table, const int32_t* tokens, int n_tokens,
                              const Activations& out) {
  MakeCurrent();  // the first op of every step
  Check(cuda::LaunchEmbed(stream_.get(), table, tokens, n_tokens, out), "embedding kernel");
}

void CudaBackend::RmsNorm(const Activations& x, const Weight& gain, float eps,
                          const Activations& out) {
  if (gain.type != GgmlType::kF32) return Fail(absl::InvalidArgumentError("RmsNorm gain is not F32"));
  Check(cuda::LaunchRmsNorm(stream_.get(), x, static_cast<const float*>(gain.data), eps, out),
        "RMSNorm kernel");
}

void CudaBackend::MatMul(const Weight& w, const Activations& x, const Activations& out) {
  const MatMulTarget target{&w, out};
  MatMulMany(std::span(&target, 1), x);
}

void CudaBackend::MatMulMany(std::span<const MatMulTarget> targets, const Activations& x) {
  if (x.rows == 0 || targets.empty()) return;
  if (!Aligned16(x)) {
    return Fail(absl::InvalidArgumentError("MatMul activations must be 16-byte aligned rows"));
  }
  // Each target takes cuBLASLt, the f32 mat-vec or the int8 one; the int8 ones share one
  // quantization of x per activation format (q, k and v read the same rows).
  std::vector<const MatMulTarget*>& int8 = int8_targets_;
  int8.clear();
  for (const MatMulTarget& t : targets) {
    const Weight& w = *t.w;
    if (x.cols != w.cols) return Fail(absl::InvalidArgumentError("MatMul: x.cols != w.cols"));
    switch (PathOf(w, x, t.out)) {
      case MatMulPath::kGemm:
        if (absl::Status s = lt_->MatMul(stream_.get(), w, x, t.out); !s.ok()) Fail(std::move(s));
        break;
      case MatMulPath::kF32:
        Check(cuda::LaunchMatMul(stream_.get(), w, x, t.out), "matmul kernel");
        break;
      case MatMulPath::kInt8:
        int8.push_back(&t);
        break;
    }
  }
  // Activations quantized as the CPU backend quantizes them, kMatVecChunkRows rows at a
  // time (the scratch UploadWeight sized).
  for (int64_t r0 = 0; r0 < x.rows && !int8.empty(); r0 += kMatVecChunkRows) {
    const int64_t n = std::min(kMatVecChunkRows, x.rows - r0);
    const Activations xs{x.data + r0 * x.stride, n, x.cols, x.stride};
    std::optional<cuda::QuantizedActivations> a;  // the scratch's current contents
    for (const MatMulTarget* t : int8) {
      const GgmlType act_type = cuda::ActivationTypeOf(t->w->type);
      if (!a || a->type != act_type) a = QuantizeRows(xs, act_type);
      if (!a) return;
      const Activations os{t->out.data + r0 * t->out.stride, n, t->out.cols, t->out.stride};
      Check(cuda::LaunchMatMulQ8(stream_.get(), *t->w, *a, os), "int8 matmul kernel");
    }
  }
}

CudaBackend::MatMulPath CudaBackend::PathOf(const Weight& w, const Activations& x,
                                            const Activations& out) const {
  const bool out_aligned = reinterpret_cast<uintptr_t>(out.data) % 16 == 0 && out.stride % 4 == 0;
  if (lt_ && x.rows >= options_.gemm_min_tokens && out_aligned) return MatMulPath::kGemm;
  if (!options_.quantized_activations || !cuda::HasInt8MatVec(w.type)) return MatMulPath::kF32;
  return MatMulPath::kInt8;
}

bool CudaBackend::FusesInt8(const Weight& w, const Activations& x,
                            const Activations& out) const {
  return x.cols == w.cols && x.rows > 0 && x.rows <= kMatVecChunkRows && Aligned16(x) &&
         PathOf(w, x, out) == MatMulPath::kInt8;
}

std::optional<cuda::QuantizedActivations> CudaBackend::QuantizeRows(const Activations& x,
                                                                    GgmlType act_type) {
  if (quantized_scratch_.bytes < cuda::QuantizedActivationBytes(x.rows, x.cols)) {
    Fail(absl::FailedPreconditionError("MatMul with a weight this backend did not upload"));
    return std::nullopt;
  }
  const cuda::QuantizedActivations a =
      cuda::QuantizedActivationsAt(quantized_scratch_.data(), act_type, x.rows, x.cols);
  Check(cuda::LaunchQuantizeActivations(stream_.get(), x, a), "activation quantize kernel");
  return a;
}

void CudaBackend::MatMulAdd(const Weight& w, const Activations& x, const Activations& scratch,
                            const Activations& acc) {
  if (!FusesInt8(w, x, acc)) return Backend::MatMulAdd(w, x, scratch, acc);
  if (const auto a = QuantizeRows(x, cuda::ActivationTypeOf(w.type))) {
    Check(cuda::LaunchMatMulQ8(stream_.get(), w, *a, acc, /*accumulate=*/true),
          "int8 matmul kernel");
  }
}

void CudaBackend::SwiGlu(const Weight& w_gate, const Weight& w_up, const Activations& x,
                         const Activations& gate, const Activations& up) {
  if (!FusesInt8(w_gate, x, gate) || w_up.type != w_gate.type || w_up.rows != w_gate.rows) {
    return Backend::SwiGlu(w_gate, w_up, x, gate, up);
  }
  if (const auto a = QuantizeRows(x, cuda::ActivationTypeOf(w_gate.type))) {
    Check(cuda::LaunchSwiGluQ8(stream_.get(), w_gate, w_up, *a, gate), "SwiGLU int8 kernel");
  }
}

void CudaBackend::Rope(const Activations& x, const RopeParams& rope,
                       std::span<const Pos> positions) {
  if (const int32_t* d = Stage(positions)) RopeDevice(x, rope, d);
}

void CudaBackend::RopeDevice(const Activations& x, const RopeParams& rope,
                             const int32_t* positions) {
  Check(cuda::LaunchRope(stream_.get(), x, rope, positions), "RoPE kernel");
}

void CudaBackend::SiluMul(const Activations& gate, const Activations& up,
                          const Activations& out) {
  Check(cuda::LaunchSiluMul(stream_.get(), gate, up, out), "SwiGLU kernel");
}

void CudaBackend::Add(const Activations& x, const Activations& y) {
  Check(cuda::LaunchAdd(stream_.get(), x, y), "add kernel");
}

void CudaBackend::GatherRows(const Activations& x, std::span<const int32_t> rows,
                             const Activations& out) {
  if (rows.empty()) return;
  if (const int32_t* d = Stage(rows)) {
    Check(cuda::LaunchGatherRows(stream_.get(), x, d, out.FirstRows(rows.size())), "gather kernel");
  }
}

void CudaBackend::StoreKv(KvCache& cache, int layer, const Activations& k, const Activations& v,
                          const AttentionBatch& batch) {
  const cuda::DeviceStep step{Stage(batch.positions), Stage(batch.token_seq),
                              Stage(batch.page_table_begin), Stage(batch.page_ids)};
  if (!error_.ok()) return;
  StoreKvDevice(cache, layer, k, v, step);
}

void CudaBackend::StoreKvDevice(KvCache& cache, int layer, const Activations& k,
                                const Activations& v, const cuda::DeviceStep& step) {
  Check(cuda::LaunchStoreKv(stream_.get(), cache.shape, cache.k.data(), cache.v.data(), layer, k,
                            v, step),
        "KV store kernel");
}

absl::Status CudaBackend::CheckAttentionShape(const KvCacheShape& s, int n_heads) const {
  if (s.head_dim > cuda::kMaxHeadDim || n_heads % s.n_kv_heads != 0 ||
      n_heads / s.n_kv_heads > cuda::kMaxGqaGroup) {
    return absl::UnimplementedError(absl::StrCat(
        "CUDA attention handles head_dim <= ", cuda::kMaxHeadDim, " and GQA groups <= ",
        cuda::kMaxGqaGroup, "; got head_dim ", s.head_dim, ", ", n_heads, " heads over ",
        s.n_kv_heads, " KV heads"));
  }
  return absl::OkStatus();
}

void CudaBackend::Attention(const KvCache& cache, int layer, int n_heads, const Activations& q,
                            const AttentionBatch& batch, const Activations& out) {
  if (q.rows == 0) return;
  if (absl::Status s = CheckAttentionShape(cache.shape, n_heads); !s.ok()) return Fail(std::move(s));
  const int group = n_heads / cache.shape.n_kv_heads;
  cuda::PlanAttention(batch.token_seq, cuda::kPrefillQueriesPerBlock / group, plan_);
  const int n_decode = static_cast<int>(plan_.decode_rows.size());
  // First: growing the scratch synchronizes and restarts the staging ring.
  float* partials = n_decode == 0 ? nullptr
                                  : AttentionScratch(static_cast<uint64_t>(n_decode) * n_heads *
                                                     cuda::kMaxAttentionSplits *
                                                     (cache.shape.head_dim + 2));
  const cuda::DeviceStep step{Stage(batch.positions), Stage(batch.token_seq),
                              Stage(batch.page_table_begin), Stage(batch.page_ids)};
  if (!error_.ok()) return;
  if (n_decode > 0) {
    // Every row: no list to stage (a decode-only step).
    const int32_t* rows =
        n_decode == q.rows ? nullptr : Stage(std::span<const int32_t>(plan_.decode_rows));
    if (!error_.ok()) return;
    Check(cuda::LaunchAttention(stream_.get(), cache.shape, cache.k.data(), cache.v.data(), layer,
                                n_heads, q, step, cuda::kMaxAttentionSplits, partials, out, rows,
                                n_decode),
          "attention kernels");
  }
  if (!plan_.tiles.empty()) {
    const auto* tiles = reinterpret_cast<const cuda::PrefillTile*>(Stage(std::span<const int32_t>(
        reinterpret_cast<const int32_t*>(plan_.tiles.data()), plan_.tiles.size() * 2)));
    if (!error_.ok()) return;
    Check(cuda::LaunchPrefillAttention(stream_.get(), cache.shape, cache.k.data(), cache.v.data(),
                                       layer, n_heads, q, step, tiles,
                                       static_cast<int>(plan_.tiles.size()), out),
          "prefill attention kernel");
  }
}

void CudaBackend::AttentionDevice(const KvCache& cache, int layer, int n_heads,
                                  const Activations& q, const cuda::DeviceStep& step,
                                  int n_splits, float* partials, const Activations& out) {
  if (absl::Status s = CheckAttentionShape(cache.shape, n_heads); !s.ok()) return Fail(std::move(s));
  Check(cuda::LaunchAttention(stream_.get(), cache.shape, cache.k.data(), cache.v.data(), layer,
                              n_heads, q, step, n_splits, partials, out),
        "attention kernels");
}

void CudaBackend::TopK(const Activations& logits, int k, int32_t* ids, float* values) {
  if (k < 1 || k > cuda::kMaxTopK) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("top-k of ", k, " is outside 1..", cuda::kMaxTopK)));
  }
  Check(cuda::LaunchTopK(stream_.get(), logits, k, ids, values), "top-k kernel");
}

}  // namespace smollm::runtime

// CpuBackend: element-wise ops, dequantize-and-dot matmul, delegation to attention.
#include "runtime/backend/cpu/cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cpu/cpu_attention.h"
#include "runtime/backend/cpu/onednn_matmul.h"
#include "runtime/backend/cpu/x16_layout.h"
#include "runtime/core/status.h"

namespace smollm::runtime {

CpuBackend::CpuBackend(ThreadPool& pool, int64_t max_cols, const cpu::CpuKernels& kernels)
    : pool_(pool),
      max_cols_(max_cols),
      kernels_(kernels),
      scratch_(static_cast<size_t>(pool.size() * max_cols)),
      row_scratch_(static_cast<size_t>(pool.size()) * ((max_cols + 255) / 256) * 210),
      attention_partials_(new float[kAttentionPartialFloats]),
      quant_matmul_(pool, max_cols, kernels) {}

CpuBackend::~CpuBackend() = default;

void CpuBackend::SetOnednnMinTokens(int64_t min_tokens) {
  onednn_min_tokens_ = min_tokens;
  // Without oneDNN's engine every matmul keeps to the backend's own kernels.
  if (min_tokens > 0 && !onednn_) {
    onednn_ = cpu::OnednnMatmul::Create(pool_, max_cols_, kernels_).value_or(nullptr);
  }
}

bool CpuBackend::SupportsWeightType(GgmlType type) const {
  return kernels_.row_dequantizer(type) != nullptr;
}

absl::StatusOr<DeviceBuffer> CpuBackend::Allocate(uint64_t bytes) {
  if (bytes >= HugePageBuffer::kHugePageBytes) {
    // A KV cache: at long contexts a decode step reads a few KiB from each of thousands of
    // pages, and on 4 KiB pages nearly every one of those reads walks the page tables; on
    // 2 MiB pages (as the repacked weights) it does not.
    ASSIGN_OR_RETURN(HugePageBuffer buffer, HugePageBuffer::Allocate(bytes));
    void* data = buffer.data();
    absl::MutexLock lock(&large_mutex_);
    large_.emplace(data, std::move(buffer));
    return DeviceBuffer(this, data, bytes);
  }
  constexpr uint64_t kAlign = 64;
  const uint64_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = rounded == 0 ? nullptr : std::aligned_alloc(kAlign, rounded);
  if (rounded != 0 && p == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", bytes, " bytes"));
  }
  return DeviceBuffer(this, p, bytes);
}

void CpuBackend::Free(void* data) {
  {
    absl::MutexLock lock(&large_mutex_);
    if (large_.erase(data) > 0) return;
  }
  std::free(data);
}

absl::StatusOr<Weight> CpuBackend::UploadWeight(const HostWeight& w) {
  if (!SupportsWeightType(w.type)) {
    return absl::UnimplementedError(
        absl::StrCat("the CPU backend has no kernel for ", std::string(NameOf(w.type))));
  }
  if (w.cols > max_cols_) {
    return absl::InvalidArgumentError(
        absl::StrCat("weight rows of ", w.cols, " exceed the backend's limit ", max_cols_));
  }
  const std::optional<uint64_t> row_bytes = RowBytes(w.type, w.cols);
  if (!row_bytes || *row_bytes * static_cast<uint64_t>(w.rows) != w.bytes.size()) {
    return absl::InvalidArgumentError("weight byte size does not match its shape");
  }
  const int64_t x16_rows = w.rows / cpu::kX16Rows * cpu::kX16Rows;
  if (!cpu::HasX16Layout(w.type) || kernels_.x16_matvec(w.type) == nullptr || x16_rows == 0) {
    // Used in place: the caller's mapping outlives the backend.
    return Weight{w.type, w.rows, w.cols, *row_bytes, w.bytes.data()};
  }
  // Interleaved groups of 16 rows, then the remaining rows as they are.
  const uint64_t group_bytes = cpu::X16GroupBytes(w.type, w.cols);
  const uint64_t x16_bytes = x16_rows / cpu::kX16Rows * group_bytes;
  const uint64_t tail_bytes = (w.rows - x16_rows) * *row_bytes;
  const uint64_t bytes = (x16_bytes + tail_bytes + 63) / 64 * 64;
  ASSIGN_OR_RETURN(HugePageBuffer buffer, HugePageBuffer::Allocate(bytes));
  uint8_t* dst = buffer.data();
  const uint8_t* src = w.bytes.data();
  pool_.ParallelFor(x16_rows / cpu::kX16Rows, 16, [&](int64_t begin, int64_t end, int) {
    for (int64_t g = begin; g < end; ++g) {
      cpu::InterleaveX16(w.type, src + g * cpu::kX16Rows * *row_bytes, w.cols, dst + g * group_bytes);
    }
  });
  std::memcpy(dst + x16_bytes, src + x16_rows * *row_bytes, tail_bytes);
  // Best effort: the original's whole pages go back to the kernel (a file mapping
  // re-reads them if touched again; other memory keeps its contents).
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(src) + page - 1) / page * page;
  const uintptr_t last = (reinterpret_cast<uintptr_t>(src) + w.bytes.size()) / page * page;
  if (last > first) {
    madvise(reinterpret_cast<void*>(first), last - first, MADV_PAGEOUT);
  }
  owned_.push_back(std::move(buffer));
  x16_rows_[dst] = x16_rows;
  return Weight{w.type, w.rows, w.cols, *row_bytes, dst};
}

int64_t CpuBackend::X16Rows(const Weight& w) const {
  if (x16_rows_.empty() || !cpu::HasX16Layout(w.type)) return 0;
  const auto it = x16_rows_.find(w.data);
  return it == x16_rows_.end() ? 0 : it->second;
}

void CpuBackend::DequantizeRow(const Weight& w, int64_t x16_rows, int64_t r, float* dst,
                               int thread) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  const uint8_t* row;
  if (r < x16_rows) {
    uint8_t* scratch = row_scratch_.data() + thread * (row_scratch_.size() / pool_.size());
    cpu::DeinterleaveX16Row(w.type, base + r / cpu::kX16Rows * cpu::X16GroupBytes(w.type, w.cols),
                            w.cols, static_cast<int>(r % cpu::kX16Rows), scratch);
    row = scratch;
  } else {
    const uint64_t x16_bytes =
        x16_rows == 0 ? 0 : x16_rows / cpu::kX16Rows * cpu::X16GroupBytes(w.type, w.cols);
    row = base + x16_bytes + (r - x16_rows) * w.row_bytes;
  }
  kernels_.row_dequantizer(w.type)(row, dst, w.cols);
}

absl::Status CpuBackend::CopyToHost(const Activations& src, std::span<float> dst) {
  if (dst.size() != static_cast<size_t>(src.rows * src.cols)) {
    return absl::InvalidArgumentError("CopyToHost: destination size mismatch");
  }
  for (int64_t r = 0; r < src.rows; ++r) {
    std::memcpy(dst.data() + r * src.cols, src.row(r), src.cols * sizeof(float));
  }
  return absl::OkStatus();
}

void CpuBackend::Embed(const Weight& table, std::span<const TokenId> tokens,
                       const Activations& out) {
  const int64_t x16_rows = X16Rows(table);
  pool_.ParallelFor(static_cast<int64_t>(tokens.size()), 4,
                    [&](int64_t begin, int64_t end, int thread) {
                      for (int64_t t = begin; t < end; ++t) {
                        DequantizeRow(table, x16_rows, tokens[t], out.row(t), thread);
                      }
                    });
}

void CpuBackend::RmsNorm(const Activations& x, const Weight& gain, float eps,
                         const Activations& out) {
  const auto* g = static_cast<const float*>(gain.data);
  pool_.ParallelFor(x.rows, 4, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const float* xr = x.row(t);
      double sum = 0;  // double: the mean of squares of a 2048-wide row loses bits in f32
      for (int64_t i = 0; i < x.cols; ++i) sum += static_cast<double>(xr[i]) * xr[i];
      const float scale = static_cast<float>(1.0 / std::sqrt(sum / x.cols + eps));
      float* o = out.row(t);
      for (int64_t i = 0; i < x.cols; ++i) o[i] = xr[i] * scale * g[i];
    }
  });
}

void CpuBackend::MatMul(const Weight& w, const Activations& x, const Activations& out) {
  const int64_t x16_rows = X16Rows(w);
  if (onednn_min_tokens_ > 0 && x.rows >= onednn_min_tokens_ && onednn_) {
    const auto read_row = [&](int64_t r, float* dst, int thread) {
      DequantizeRow(w, x16_rows, r, dst, thread);
    };
    const bool done = x16_rows > 0 ? onednn_->MatMul(w, x, out, read_row) : onednn_->MatMul(w, x, out);
    if (done) return;
  }
  // Quantized weights with an int8 kernel: any token count, and each token's result is
  // the same whatever else shares its batch.
  if (quantized_activations_ && quant_matmul_.Supports(w.type)) {
    return quant_matmul_.MatMul(w, x, out, x16_rows);
  }
  const auto dot = kernels_.dot;
  // Each weight row is dequantized once per call and reused for every token of the step.
  pool_.ParallelFor(w.rows, 16, [&](int64_t begin, int64_t end, int thread) {
    float* row = Scratch(thread);
    for (int64_t r = begin; r < end; ++r) {
      DequantizeRow(w, x16_rows, r, row, thread);
      for (int64_t t = 0; t < x.rows; ++t) out.row(t)[r] = dot(row, x.row(t), w.cols);
    }
  });
}

void CpuBackend::MatMulMany(std::span<const MatMulTarget> targets, const Activations& x) {
  const bool onednn = onednn_min_tokens_ > 0 && x.rows >= onednn_min_tokens_ && onednn_;
  bool together = quantized_activations_ && !onednn && !targets.empty() &&
                  targets.size() <= static_cast<size_t>(cpu::QuantMatMul::kMaxParts);
  cpu::QuantMatMulPart parts[cpu::QuantMatMul::kMaxParts];
  for (size_t i = 0; together && i < targets.size(); ++i) {
    const Weight& w = *targets[i].w;
    together = quant_matmul_.Supports(w.type) && w.cols == targets[0].w->cols &&
               cpu::ActivationTypeFor(w.type) == cpu::ActivationTypeFor(targets[0].w->type);
    parts[i] = {&w, targets[i].out, X16Rows(w)};
  }
  if (!together) return Backend::MatMulMany(targets, x);
  quant_matmul_.MatMulMany(std::span<const cpu::QuantMatMulPart>(parts, targets.size()), x);
}

void CpuBackend::Rope(const Activations& x, const RopeParams& rope,
                      std::span<const Pos> positions) {
  const int half = rope.head_dim / 2;
  pool_.ParallelFor(x.rows, 4, [&](int64_t begin, int64_t end, int) {
    float cos_table[256];
    float sin_table[256];
    for (int64_t t = begin; t < end; ++t) {
      const float pos = static_cast<float>(positions[t]);
      for (int i = 0; i < half; ++i) {
        // Same f32 arithmetic as the reference implementations: inv_freq, then pos * it.
        const float inv_freq =
            1.0f / std::pow(rope.theta, static_cast<float>(2 * i) / rope.head_dim);
        const float angle = pos * inv_freq;
        cos_table[i] = std::cos(angle);
        sin_table[i] = std::sin(angle);
      }
      for (int h = 0; h < rope.n_heads; ++h) {
        float* v = x.row(t) + h * rope.head_dim;
        for (int i = 0; i < half; ++i) {
          const float a = v[2 * i];
          const float b = v[2 * i + 1];
          v[2 * i] = a * cos_table[i] - b * sin_table[i];
          v[2 * i + 1] = a * sin_table[i] + b * cos_table[i];
        }
      }
    }
  });
}

void CpuBackend::SiluMul(const Activations& gate, const Activations& up,
                         const Activations& out) {
  pool_.ParallelFor(gate.rows, 4, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      kernels_.silu_mul(gate.row(t), up.row(t), out.row(t), gate.cols);
    }
  });
}

void CpuBackend::Add(const Activations& x, const Activations& y) {
  for (int64_t t = 0; t < x.rows; ++t) {
    float* xr = x.row(t);
    const float* yr = y.row(t);
    for (int64_t i = 0; i < x.cols; ++i) xr[i] += yr[i];
  }
}

void CpuBackend::GatherRows(const Activations& x, std::span<const int32_t> rows,
                            const Activations& out) {
  for (size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.row(static_cast<int64_t>(i)), x.row(rows[i]), x.cols * sizeof(float));
  }
}

void CpuBackend::StoreKv(KvCache& cache, int layer, const Activations& k, const Activations& v,
                         const AttentionBatch& batch) {
  cpu::StoreKv(pool_, kernels_, cache, layer, k, v, batch);
}

void CpuBackend::Attention(const KvCache& cache, int layer, int n_heads, const Activations& q,
                           const AttentionBatch& batch, const Activations& out) {
  cpu::Attention(pool_, kernels_, cache, layer, n_heads, q, batch,
                 std::span<float>(attention_partials_.get(), kAttentionPartialFloats), out);
}

}  // namespace smollm::runtime

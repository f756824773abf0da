// OnednnMatmul: tile-by-tile bf16 dequantization and cached oneDNN matmul primitives.
#include "runtime/backend/cpu/onednn_matmul.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/quant/half.h"

namespace smollm::runtime::cpu {

#if defined(__x86_64__)
void ToBf16Avx512(const float* src, uint16_t* dst, int64_t n);  // onednn_bf16_avx512.cc
#endif

namespace {

// AMX and AVX-512 kernels work on 16-row tiles; padding the token count to it keeps the
// number of distinct primitives small and every kernel on its fast path.
constexpr int64_t kTokenPad = 16;

void ToBf16Generic(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp32ToBf16(src[i]);
}

using ToBf16Fn = void (*)(const float* src, uint16_t* dst, int64_t n);

// The converter for this CPU, chosen once (the AVX-512 one is 3-4x faster per weight).
ToBf16Fn BestToBf16() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512bf16")) return ToBf16Avx512;
#endif
  return ToBf16Generic;
}

void ToBf16(const float* src, uint16_t* dst, int64_t n) {
  static const ToBf16Fn convert = BestToBf16();
  convert(src, dst, n);
}

// oneDNN in its OpenMP build parallelizes over the calling thread's OpenMP team; with one
// thread it runs inline, which is what the pool's threads need.
void UseOneOpenMpThread() {
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
}

}  // namespace

struct OnednnMatmul::Impl {
  dnnl::engine engine;
  std::vector<dnnl::stream> streams;  // one per pool thread
};

struct OnednnMatmul::Prim {
  dnnl::matmul matmul;
  dnnl::memory::desc src;      // bf16 [tokens][cols]
  dnnl::memory::desc weights;  // bf16 [cols][tile], stored as the tile's rows ([tile][cols])
  dnnl::memory::desc dst;      // f32 [tokens][tile]
  dnnl::memory::desc scratchpad;
  size_t scratchpad_bytes = 0;
};

absl::StatusOr<std::unique_ptr<OnednnMatmul>> OnednnMatmul::Create(
    ThreadPool& pool, int64_t max_cols, const CpuKernels& kernels,
    const OnednnMatmulOptions& options) {
  if (options.tile_rows < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("OnednnMatmulOptions.tile_rows is ", options.tile_rows, ", must be >= 1"));
  }
  auto impl = std::make_unique<Impl>();
  try {
    impl->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    for (int i = 0; i < pool.size(); ++i) impl->streams.emplace_back(impl->engine);
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN CPU engine: ", e.what()));
  }
  return std::unique_ptr<OnednnMatmul>(
      new OnednnMatmul(pool, max_cols, kernels, options, std::move(impl)));
}

OnednnMatmul::OnednnMatmul(ThreadPool& pool, int64_t max_cols, const CpuKernels& kernels,
                           const OnednnMatmulOptions& options, std::unique_ptr<Impl> impl)
    : pool_(pool),
      max_cols_(max_cols),
      kernels_(kernels),
      options_(options),
      impl_(std::move(impl)),
      scratch_(static_cast<size_t>(pool.size())) {
  for (ThreadScratch& s : scratch_) {
    s.tile.resize(static_cast<size_t>(options_.tile_rows * max_cols_));
    s.row.resize(static_cast<size_t>(max_cols_));
  }
}

OnednnMatmul::~OnednnMatmul() = default;

const OnednnMatmul::Prim* OnednnMatmul::PrimitiveFor(const Shape& shape) {
  auto it = primitives_.find(shape);
  if (it != primitives_.end()) return it->second.get();
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  UseOneOpenMpThread();  // brgemm fixes its blocking for the thread count at creation
  auto prim = std::make_unique<Prim>();
  try {
    prim->src = dnnl::memory::desc(dims{shape.tokens, shape.cols}, dt::bf16,
                                   dims{shape.cols, 1});
    // The tile holds whole weight rows: element (k, n) of the [cols][tile] operand is at
    // n * cols + k, oneDNN's "ba" layout.
    prim->weights = dnnl::memory::desc(dims{shape.cols, shape.tile}, dt::bf16,
                                       dims{1, shape.cols});
    prim->dst = dnnl::memory::desc(dims{shape.tokens, shape.tile}, dt::f32,
                                   dims{shape.tile, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // per-thread, allocation-free
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(prim->src, prim->weights, prim->dst), attr, impl_->engine);
    prim->scratchpad = pd.scratchpad_desc();
    prim->scratchpad_bytes = prim->scratchpad.get_size();
    prim->matmul = dnnl::matmul(pd);
    // A reference implementation would be slower than the backend's own kernels.
    if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) prim = nullptr;
  } catch (const dnnl::error&) {
    prim = nullptr;
  }
  const Prim* result = prim.get();
  primitives_.emplace(shape, std::move(prim));  // a refusal is remembered too
  return result;
}

bool OnednnMatmul::MatMul(const Weight& w, const Activations& x, const Activations& out,
                          std::optional<RowReader> read_row) {
  const DequantizeRowFn dequantize = kernels_.row_dequantizer(w.type);
  if (dequantize == nullptr || w.cols > max_cols_ || x.rows < 1) return false;
  const int64_t tokens = x.rows;
  const int64_t padded = (tokens + kTokenPad - 1) / kTokenPad * kTokenPad;
  const int64_t cols = w.cols;
  const int64_t tile = std::min(options_.tile_rows, w.rows);
  const int64_t n_tiles = (w.rows + tile - 1) / tile;
  const int64_t last_tile = w.rows - (n_tiles - 1) * tile;
  const Prim* full = PrimitiveFor({padded, cols, tile});
  const Prim* tail = last_tile == tile ? full : PrimitiveFor({padded, cols, last_tile});
  if (full == nullptr || tail == nullptr) return false;

  // Sized here, on the calling thread: the workers only use what they are given.
  const size_t x_elements = static_cast<size_t>(padded * cols);
  if (x_bf16_.size() < x_elements) x_bf16_.resize(x_elements);
  const size_t pad_bytes = std::max(full->scratchpad_bytes, tail->scratchpad_bytes);
  for (ThreadScratch& s : scratch_) {
    if (s.result.size() < static_cast<size_t>(padded * tile)) s.result.resize(padded * tile);
    if (s.scratchpad.size() < pad_bytes) s.scratchpad.resize(pad_bytes);
  }
  uint16_t* x_bf16 = x_bf16_.data();
  pool_.ParallelFor(padded, 4, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      if (t < tokens) {
        ToBf16(x.row(t), x_bf16 + t * cols, cols);
      } else {
        std::memset(x_bf16 + t * cols, 0, cols * sizeof(uint16_t));
      }
    }
  });

  std::atomic<bool> failed{false};
  const auto* base = static_cast<const uint8_t*>(w.data);
  pool_.ParallelFor(n_tiles, 1, [&](int64_t begin, int64_t end, int thread) {
    UseOneOpenMpThread();
    ThreadScratch& s = scratch_[thread];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t row0 = i * tile;
      const int64_t rows = std::min(tile, w.rows - row0);
      const Prim& prim = rows == tile ? *full : *tail;
      for (int64_t r = 0; r < rows; ++r) {
        if (read_row) {
          (*read_row)(row0 + r, s.row.data(), thread);
        } else {
          dequantize(base + (row0 + r) * w.row_bytes, s.row.data(), cols);
        }
        ToBf16(s.row.data(), s.tile.data() + r * cols, cols);
      }
      try {
        const dnnl::engine& eng = impl_->engine;
        dnnl::memory src(prim.src, eng, x_bf16);
        dnnl::memory weights(prim.weights, eng, s.tile.data());
        dnnl::memory dst(prim.dst, eng, s.result.data());
        dnnl::memory pad(prim.scratchpad, eng, s.scratchpad.data());
        prim.matmul.execute(impl_->streams[thread], {{DNNL_ARG_SRC, src},
                                                     {DNNL_ARG_WEIGHTS, weights},
                                                     {DNNL_ARG_DST, dst},
                                                     {DNNL_ARG_SCRATCHPAD, pad}});
      } catch (const dnnl::error&) {
        failed.store(true, std::memory_order_relaxed);
        return;
      }
      for (int64_t t = 0; t < tokens; ++t) {
        std::memcpy(out.row(t) + row0, s.result.data() + t * rows, rows * sizeof(float));
      }
    }
  });
  return !failed.load(std::memory_order_relaxed);
}

}  // namespace smollm::runtime::cpu

// QuantMatMul: activation quantization into preallocated scratch, then the int8 matvecs
// over the pool, row chunks by column groups.
#include "runtime/backend/cpu/quant_matmul.h"

#include <algorithm>

#include "runtime/backend/cpu/x16_layout.h"

namespace smollm::runtime::cpu {
namespace {

// The widest quantized row of `cols` activations over the formats ActivationTypeFor
// returns (Q8_K and Q8_1 take the most bytes per element).
uint64_t MaxActRowBytes(int64_t cols) {
  uint64_t bytes = 0;
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ8_1, GgmlType::kQ8_K}) {
    const GgmlTypeTraits traits = TraitsOf(type);
    const uint64_t blocks = (cols + traits.block_elements - 1) / traits.block_elements;
    bytes = std::max(bytes, blocks * traits.block_bytes);
  }
  return bytes;
}

}  // namespace

QuantMatMul::QuantMatMul(ThreadPool& pool, int64_t max_cols, const CpuKernels& kernels)
    : pool_(pool),
      kernels_(kernels),
      max_act_row_bytes_(MaxActRowBytes(max_cols)),
      max_act_scales_(2 * ((max_cols + 31) / 32)),
      act_(kTokensPerPass * max_act_row_bytes_),
      act_scales_(kTokensPerPass * max_act_scales_) {}

void QuantMatMul::MatMul(const Weight& w, const Activations& x, const Activations& out,
                         int64_t x16_rows) {
  const QuantMatMulPart part{&w, out, x16_rows};
  MatMulMany(std::span<const QuantMatMulPart>(&part, 1), x);
}

void QuantMatMul::MatMulMany(std::span<const QuantMatMulPart> parts, const Activations& x) {
  const int64_t cols = parts[0].w->cols;
  const GgmlType act_type = *ActivationTypeFor(parts[0].w->type);
  const uint64_t act_row_bytes = *RowBytes(act_type, cols);
  // Per part: its row chunks, whole groups where rows are interleaved. Where several
  // column groups read each chunk, chunks are small enough to spread over the threads and
  // small enough that a chunk's weights (at most 64 rows) stay in cache while every column
  // group reads them. A step of one column group (decode) reads each chunk once: two
  // chunks a thread (so that a late thread's share can still move) keep each core's
  // weight stream long. Measured at 2 threads against 64-row chunks: 3B decode +1.7 and
  // +1.8 % (nothing in a run where the memory bus, not the cores, was the limit), 135M
  // +2.6 %; and -15 % when the threads took alternate chunks instead of halves.
  // Chunks [first_chunk[i], first_chunk[i + 1]) of the loop are part i's.
  const bool one_column_group = x.rows <= kMaxMatVecCols;
  int64_t grain[kMaxParts];
  int64_t first_chunk[kMaxParts + 1] = {0};
  const int n_parts = static_cast<int>(parts.size());
  for (int i = 0; i < n_parts; ++i) {
    const int64_t rows = parts[i].w->rows;
    const int64_t min_grain = parts[i].x16_rows > 0 ? kX16Rows : 4;
    grain[i] = one_column_group
                   ? std::max<int64_t>(rows / (2 * pool_.size()), min_grain)
                   : std::clamp<int64_t>(rows / (8 * pool_.size()), min_grain, 64);
    grain[i] = grain[i] / min_grain * min_grain;
    first_chunk[i + 1] = first_chunk[i] + (rows + grain[i] - 1) / grain[i];
  }
  for (int64_t first = 0; first < x.rows; first += kTokensPerPass) {
    const int64_t n_tokens = std::min(kTokensPerPass, x.rows - first);
    const auto quantize = [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) {
        uint8_t* act = act_.data() + t * act_row_bytes;
        kernels_.quantize_activations(act_type, x.row(first + t), act, cols);
        ActivationScales(act_type, act, cols, act_scales_.data() + t * max_act_scales_);
      }
    };
    if (n_tokens == 1) {
      quantize(0, 1, 0);  // a decode step: not worth waking the pool
    } else {
      pool_.ParallelFor(n_tokens, 1, quantize);
    }
    // Rows [begin, end) of one part and one kind: all interleaved or all plain.
    const auto run = [&](const QuantMatMulPart& part, int64_t begin, int64_t end) {
      const Weight& w = *part.w;
      const auto* weights = static_cast<const uint8_t*>(w.data);
      const bool x16 = begin < part.x16_rows;
      const uint64_t group_bytes = part.x16_rows > 0 ? X16GroupBytes(w.type, w.cols) : 0;
      // The GGUF rows after the interleaved groups.
      const uint8_t* plain =
          weights + part.x16_rows / kX16Rows * group_bytes - part.x16_rows * w.row_bytes;
      const QuantMatVecFn kernel = x16 ? kernels_.x16_matvec(w.type) : kernels_.quant_matvec(w.type);
      for (int64_t col = 0; col < n_tokens; col += kMaxMatVecCols) {
        QuantMatVecArgs args;
        args.weights = x16 ? weights + begin / kX16Rows * group_bytes : plain + begin * w.row_bytes;
        args.weight_row_bytes = w.row_bytes;
        args.rows = end - begin;
        args.k = w.cols;
        args.act = act_.data() + col * act_row_bytes;
        args.act_row_bytes = act_row_bytes;
        args.act_scales = act_scales_.data() + col * max_act_scales_;
        args.act_scale_stride = max_act_scales_;
        args.n_cols = static_cast<int>(std::min<int64_t>(kMaxMatVecCols, n_tokens - col));
        args.out = part.out.row(first + col) + begin;
        args.out_stride = part.out.stride;
        kernel(args);
      }
    };
    pool_.ParallelFor(first_chunk[n_parts], 1, [&](int64_t chunk_begin, int64_t chunk_end, int) {
      for (int64_t chunk = chunk_begin; chunk < chunk_end; ++chunk) {
        int i = 0;
        while (chunk >= first_chunk[i + 1]) ++i;
        const QuantMatMulPart& part = parts[i];
        const int64_t begin = (chunk - first_chunk[i]) * grain[i];
        const int64_t end = std::min(part.w->rows, begin + grain[i]);
        if (begin < part.x16_rows && end > part.x16_rows) {
          run(part, begin, part.x16_rows);
          run(part, part.x16_rows, end);
        } else {
          run(part, begin, end);
        }
      }
    });
  }
}

}  // namespace smollm::runtime::cpu

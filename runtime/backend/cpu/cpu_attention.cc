// CPU paged attention: f16 pages, f32 math, online softmax per (token, head).
#include "runtime/backend/cpu/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace smollm::runtime::cpu {
namespace {

constexpr int kMaxHeadDim = 512;
constexpr int kChunkSlots = kDotColumns;  // positions per chunk (stack buffers of 32 KB each)
// Query heads sharing one pass over their kv_head's chunks (a larger group takes several
// passes); their accumulators take kMaxGroupHeads * 2 KB of stack.
constexpr int kMaxGroupHeads = 8;
// Query rows of one sequence sharing one pass over its chunks (their accumulators take
// kTileRows * kMaxGroupHeads * 2 KB of stack).
constexpr int64_t kTileRows = 8;

// Offset (in elements) of one head's slot vector inside K or V.
uint64_t SlotOffset(const KvCacheShape& s, int layer, int page, int kv_head, int slot) {
  const uint64_t layer_page = static_cast<uint64_t>(layer) * s.n_pages + page;
  return ((layer_page * s.n_kv_heads + kv_head) * s.page_size + slot) * s.head_dim;
}

int PageOf(const AttentionBatch& batch, int seq, Pos pos, int page_size) {
  return batch.page_ids[batch.page_table_begin[seq] + pos / page_size];
}

// Folds the first n positions of one chunk into one (token, head)'s online softmax:
// scores of query `qh` against the chunk's keys (transposed, keys_t), the running maximum
// and denominator, and acc (head_dim floats) += exp(score - max) * value, rescaled when the
// maximum grows.
void AddChunk(const CpuKernels& kernels, const float* qh, const float* keys_t, const float* values,
              int n, int head_dim, float scale, float& running_max, float& denominator, float* acc) {
  float scores[kChunkSlots];
  kernels.dot_columns(qh, keys_t, head_dim, scores);
  float chunk_max = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) {
    scores[i] *= scale;
    chunk_max = std::max(chunk_max, scores[i]);
  }
  if (chunk_max > running_max) {
    // Rescale what was accumulated under the old maximum.
    const float correction = std::exp(running_max - chunk_max);
    denominator *= correction;
    kernels.scale(correction, acc, head_dim);
    running_max = chunk_max;
  }
  denominator += kernels.exp_shifted(scores, running_max, n);
  kernels.axpy_rows(scores, values, n, head_dim, acc);
}

}  // namespace

void StoreKv(ThreadPool& pool, const CpuKernels& kernels, KvCache& cache, int layer, const Activations& k,
             const Activations& v, const AttentionBatch& batch) {
  const KvCacheShape& s = cache.shape;
  auto* k_base = static_cast<uint16_t*>(cache.k.data());
  auto* v_base = static_cast<uint16_t*>(cache.v.data());
  pool.ParallelFor(k.rows, 8, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const Pos pos = batch.positions[t];
      const int page = PageOf(batch, batch.token_seq[t], pos, s.page_size);
      for (int h = 0; h < s.n_kv_heads; ++h) {
        const uint64_t off = SlotOffset(s, layer, page, h, pos % s.page_size);
        const float* kr = k.row(t) + h * s.head_dim;
        const float* vr = v.row(t) + h * s.head_dim;
        kernels.f32_to_f16(kr, k_base + off, s.head_dim);
        kernels.f32_to_f16(vr, v_base + off, s.head_dim);
      }
    }
  });
}

void Attention(ThreadPool& pool, const CpuKernels& kernels, const KvCache& cache, int layer, int n_heads,
               const Activations& q, const AttentionBatch& batch, const Activations& out) {
  const KvCacheShape& s = cache.shape;
  const int head_dim = s.head_dim;
  const int group = n_heads / s.n_kv_heads;
  const int head_blocks = (group + kMaxGroupHeads - 1) / kMaxGroupHeads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const auto* k_base = static_cast<const uint16_t*>(cache.k.data());
  const auto* v_base = static_cast<const uint16_t*>(cache.v.data());
  // Rows per tile: a prompt's tokens share their sequence's keys and values, so a tile of
  // them converts each chunk once for all of its tokens (a 512-token prompt otherwise
  // converted its whole prefix again for every token). Small steps keep one row per item
  // so that their few items still spread over the threads.
  const int64_t tile_rows = q.rows >= 4 * kTileRows * pool.size() ? kTileRows : 1;
  const int64_t n_tiles = (q.rows + tile_rows - 1) / tile_rows;

  // One item per (tile of rows, kv_head, block of its query heads): the query heads of a
  // group read the same keys and values, so each chunk is converted once for all of them.
  // Slots are visited in chunks that lie within one page, where one kv_head's slot
  // vectors are contiguous: one conversion, one batch of dot products and one weighted
  // sum per chunk and head instead of kernel calls per position. Each (token, head)'s
  // arithmetic is the same sequence of calls on the same chunks whatever the grouping and
  // tiling (a chunk ends at a page or kChunkSlots boundary, or at the token's position),
  // so results do not depend on what else is in the step.
  const int64_t n_items = n_tiles * s.n_kv_heads * head_blocks;
  pool.ParallelFor(n_items, 1, [&](int64_t begin, int64_t end, int) {
    float keys_t[kMaxHeadDim * kChunkSlots];  // keys transposed, unused slots zero
    float values[kChunkSlots * kMaxHeadDim];
    float acc[kTileRows][kMaxGroupHeads][kMaxHeadDim];
    float running_max[kTileRows][kMaxGroupHeads];
    float denominator[kTileRows][kMaxGroupHeads];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t tile = item / (s.n_kv_heads * head_blocks);
      const int kv_head = static_cast<int>(item / head_blocks % s.n_kv_heads);
      const int first_head = kv_head * group + static_cast<int>(item % head_blocks) * kMaxGroupHeads;
      const int heads = std::min(kMaxGroupHeads, (kv_head + 1) * group - first_head);
      const int64_t tile_end = std::min(q.rows, (tile + 1) * tile_rows);
      // Runs of rows of one sequence within the tile share every chunk.
      for (int64_t first = tile * tile_rows, last; first < tile_end; first = last) {
        const int seq = batch.token_seq[first];
        Pos max_pos = batch.positions[first];
        for (last = first + 1; last < tile_end && batch.token_seq[last] == seq; ++last) {
          max_pos = std::max(max_pos, batch.positions[last]);
        }
        for (int64_t r = 0; r < last - first; ++r) {
          for (int g = 0; g < heads; ++g) {
            running_max[r][g] = -std::numeric_limits<float>::infinity();
            denominator[r][g] = 0;
            for (int d = 0; d < head_dim; ++d) acc[r][g][d] = 0;
          }
        }
        for (Pos j = 0; j <= max_pos;) {
          const int slot = j % s.page_size;
          const int n = static_cast<int>(std::min<Pos>({max_pos + 1 - j, s.page_size - slot, kChunkSlots}));
          const uint64_t off = SlotOffset(s, layer, PageOf(batch, seq, j, s.page_size), kv_head, slot);
          kernels.f16_keys_to_columns(k_base + off, n, head_dim, keys_t);
          kernels.f16_to_f32(v_base + off, values, static_cast<int64_t>(n) * head_dim);
          for (int64_t t = first; t < last; ++t) {
            const Pos pos = batch.positions[t];
            if (pos < j) continue;  // this token's positions are all done
            const int n_t = static_cast<int>(std::min<Pos>(n, pos + 1 - j));
            const int64_t r = t - first;
            for (int g = 0; g < heads; ++g) {
              AddChunk(kernels, q.row(t) + (first_head + g) * head_dim, keys_t, values, n_t,
                       head_dim, scale, running_max[r][g], denominator[r][g], acc[r][g]);
            }
          }
          j += n;
        }
        for (int64_t t = first; t < last; ++t) {
          for (int g = 0; g < heads; ++g) {
            float* o = out.row(t) + (first_head + g) * head_dim;
            const float inv = 1.0f / denominator[t - first][g];
            for (int d = 0; d < head_dim; ++d) o[d] = acc[t - first][g][d] * inv;
          }
        }
      }
    }
  });
}

}  // namespace smollm::runtime::cpu

// CPU paged attention: f16 pages, f32 math, online softmax per (token, head).
#include "runtime/backend/cpu/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace smollm::runtime::cpu {
namespace {

constexpr int kMaxHeadDim = 512;
constexpr int kChunkSlots = kKeyChunk;  // positions per chunk
// Query heads sharing one pass over their kv_head's chunks (a larger group takes several
// passes); their accumulators take kMaxGroupHeads * 2 KB of stack.
constexpr int kMaxGroupHeads = 8;
// Query rows of one sequence sharing one pass over its chunks (their accumulators take
// kTileRows * kMaxGroupHeads * 2 KB of stack).
constexpr int64_t kTileRows = 8;
// Positions per softmax block: one maximum, exp, sum and rescale per block instead of per
// chunk (per 16 positions, the exp's sum and the rescales were a fifth of a decode step at
// 2k positions). Its weights take kTileRows * kMaxGroupHeads * 576 bytes of stack.
constexpr int kBlockSlots = 128;

// Offset (in elements) of one head's slot vector inside K or V.
uint64_t SlotOffset(const KvCacheShape& s, int layer, int page, int kv_head, int slot) {
  const uint64_t layer_page = static_cast<uint64_t>(layer) * s.n_pages + page;
  return ((layer_page * s.n_kv_heads + kv_head) * s.page_size + slot) * s.head_dim;
}

int PageOf(const AttentionBatch& batch, int seq, Pos pos, int page_size) {
  return batch.page_ids[batch.page_table_begin[seq] + pos / page_size];
}

// Folds one block's n scores (w, unscaled) into a (token, head)'s online softmax: w
// becomes the block's weights exp(score - max), the running maximum and denominator
// move on, and acc (head_dim floats) is rescaled when the maximum grows.
void FoldBlock(const CpuKernels& kernels, float* w, int n, float scale, int head_dim,
               float& running_max, float& denominator, float* acc) {
  float block_max = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) {
    w[i] *= scale;
    block_max = std::max(block_max, w[i]);
  }
  if (block_max > running_max) {
    // Rescale what was accumulated under the old maximum.
    const float correction = std::exp(running_max - block_max);
    denominator *= correction;
    kernels.scale(correction, acc, head_dim);
    running_max = block_max;
  }
  denominator += kernels.exp_shifted(w, running_max, n);
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
  // them reads each chunk while it is in cache for all of its tokens (a 512-token prompt
  // otherwise streamed its whole prefix again for every token). Small steps keep one row
  // per item so that their few items still spread over the threads.
  const int64_t tile_rows = q.rows >= 4 * kTileRows * pool.size() ? kTileRows : 1;
  const int64_t n_tiles = (q.rows + tile_rows - 1) / tile_rows;

  // One item per (tile of rows, kv_head, block of its query heads): the query heads of a
  // group read the same keys and values, so the kernels take them together. Slots are
  // visited in chunks that lie within one page, where one kv_head's slot vectors are
  // contiguous: one call for the scores and one for the weighted values per chunk and row
  // instead of kernel calls per position. The softmax runs per block of kBlockSlots positions
  // (blocks start at multiples of kBlockSlots): the scores of a whole block first, then one
  // maximum, one exp and sum, at most one rescale, then the weighted values. Each (token, head)'s
  // arithmetic is the same sequence of calls on the same chunks and blocks whatever the grouping
  // and tiling (a chunk ends at a page, kChunkSlots or block boundary, or at the token's position;
  // a block at the token's position), so results do not depend on what else is in the step.
  const int64_t n_items = n_tiles * s.n_kv_heads * head_blocks;
  pool.ParallelFor(n_items, 1, [&](int64_t begin, int64_t end, int) {
    float acc[kTileRows][kMaxGroupHeads][kMaxHeadDim];
    float running_max[kTileRows][kMaxGroupHeads];
    float denominator[kTileRows][kMaxGroupHeads];
    // One block's scores, then its softmax weights; kChunkSlots of slack for the last
    // chunk's dot_keys, which writes all kChunkSlots outputs.
    constexpr int64_t kWeightsStride = kBlockSlots + kChunkSlots;
    float weights[kTileRows][kMaxGroupHeads][kWeightsStride];
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
        // Offset (in elements) of position j's slot vector of this kv_head.
        auto offset_of = [&](Pos j) {
          return SlotOffset(s, layer, PageOf(batch, seq, j, s.page_size), kv_head, j % s.page_size);
        };
        // The chunks of [j0, j1) in order: fn(first position, count, offset of its slots).
        auto for_each_chunk = [&](Pos j0, Pos j1, auto&& fn) {
          for (Pos j = j0; j < j1;) {
            const int n = static_cast<int>(
                std::min<Pos>({j1 - j, s.page_size - j % s.page_size, kChunkSlots}));
            fn(j, n, offset_of(j));
            j += n;
          }
        };
        // The memory behind a chunk's slots, asked for ahead of its use (the keys one block
        // ahead, the values one pass ahead): at long contexts they stream from memory in
        // pieces of a few KiB, too short for the hardware prefetchers to get going. Worth
        // about 5 % at 2 threads, when both cores compete for the memory (attention_bench).
        auto prefetch = [&](const uint16_t* base, Pos j, int n) {
          const auto* p = reinterpret_cast<const char*>(base + offset_of(j));
          const int64_t bytes = static_cast<int64_t>(n) * head_dim * sizeof(uint16_t);
          for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b, 0, 2);
        };
        for (Pos j0 = 0; j0 <= max_pos; j0 += kBlockSlots) {
          const Pos j1 = std::min<Pos>(j0 + kBlockSlots, max_pos + 1);
          const Pos next_end = std::min<Pos>(j1 + kBlockSlots, max_pos + 1);
          for_each_chunk(j0, j1, [&](Pos j, int n, uint64_t off) {
            prefetch(v_base, j, n);  // read in this block's second pass
            if (j + kBlockSlots < next_end) {
              prefetch(k_base, j + kBlockSlots, std::min<int>(n, next_end - j - kBlockSlots));
            }
            for (int64_t t = first; t < last; ++t) {
              if (batch.positions[t] < j) continue;  // this token's positions are all done
              kernels.dot_keys(q.row(t) + first_head * head_dim, heads, head_dim, k_base + off, n,
                               head_dim, weights[t - first][0] + (j - j0), kWeightsStride);
            }
          });
          for (int64_t t = first; t < last; ++t) {
            const Pos pos = batch.positions[t];
            if (pos < j0) continue;
            const int n_t = static_cast<int>(std::min<Pos>(j1, pos + 1) - j0);
            const int64_t r = t - first;
            for (int g = 0; g < heads; ++g) {
              FoldBlock(kernels, weights[r][g], n_t, scale, head_dim, running_max[r][g],
                        denominator[r][g], acc[r][g]);
            }
          }
          for_each_chunk(j0, j1, [&](Pos j, int n, uint64_t off) {
            for (int64_t t = first; t < last; ++t) {
              const Pos pos = batch.positions[t];
              if (pos < j) continue;
              const int n_t = static_cast<int>(std::min<Pos>(n, pos + 1 - j));
              kernels.axpy_f16_rows(weights[t - first][0] + (j - j0), heads, kWeightsStride,
                                    v_base + off, n_t, head_dim, acc[t - first][0], kMaxHeadDim);
            }
          });
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

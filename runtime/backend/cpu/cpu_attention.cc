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
// Positions per segment: each (token, head) runs its online softmax per segment of
// kSegmentSlots positions (segments start at multiples of it), and the segments' states
// are merged in order. A step of a few tokens can then spread one sequence's long context
// over the threads (a decode step of SmolLM2-135M has 3 kv heads for however many
// threads), and the result stays the same bits whether the segments ran on one thread or
// on many, since every token's arithmetic is the same fold either way.
constexpr int kSegmentSlots = 2 * kBlockSlots;
static_assert(kSegmentSlots % kBlockSlots == 0);
// Small steps split their items by segment when they have fewer than this many per thread
// without splitting (and the partial states fit the caller's scratch).
constexpr int64_t kSplitBelowItemsPerThread = 4;

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

// Merges a segment's state (s_max, s_denominator, s_acc) into the state of the segments
// before it (max, denominator, acc: empty while denominator is 0; a segment's own is at
// least 1, its maximum's exp). Both the one-thread and the split paths merge through
// here, in segment order, so they give the same bits.
void MergeSegment(float s_max, float s_denominator, const float* s_acc, int head_dim, float& max,
                  float& denominator, float* acc) {
  if (denominator == 0) {
    max = s_max;
    denominator = s_denominator;
    std::copy_n(s_acc, head_dim, acc);
    return;
  }
  const float m = std::max(max, s_max);
  const float c = std::exp(max - m), s_c = std::exp(s_max - m);
  for (int d = 0; d < head_dim; ++d) acc[d] = acc[d] * c + s_acc[d] * s_c;
  denominator = denominator * c + s_denominator * s_c;
  max = m;
}

void WriteNormalized(const float* acc, float denominator, int head_dim, float* o) {
  const float inv = 1.0f / denominator;
  for (int d = 0; d < head_dim; ++d) o[d] = acc[d] * inv;
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

void Attention(ThreadPool& pool, const CpuKernels& kernels, const KvCache& cache, int layer,
               int n_heads, const Activations& q, const AttentionBatch& batch,
               std::span<float> partials, const Activations& out) {
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
  const int64_t unsplit_items = n_tiles * s.n_kv_heads * head_blocks;

  // A small step with too few items for the threads splits each item into one per segment
  // of its context (where the partial states fit `partials`): the items write their
  // segments' states, and a second loop merges them per (row, head) in segment order.
  Pos last_pos = 0;
  for (int64_t t = 0; t < q.rows; ++t) last_pos = std::max(last_pos, batch.positions[t]);
  const int64_t n_segments = last_pos / kSegmentSlots + 1;
  const int64_t state_floats = head_dim + 2;  // maximum, denominator, acc
  const bool split =
      pool.size() > 1 && tile_rows == 1 && n_segments > 1 &&
      unsplit_items < kSplitBelowItemsPerThread * pool.size() &&
      q.rows * n_heads * n_segments * state_floats <= static_cast<int64_t>(partials.size());
  const int64_t segments_per_item = split ? n_segments : 1;
  auto partial_state = [&](int64_t row, int head, int64_t segment) {
    return partials.data() + ((row * n_heads + head) * n_segments + segment) * state_floats;
  };

  // One item per (tile of rows, kv_head, block of its query heads[, segment]): the query
  // heads of a group read the same keys and values, so the kernels take them together.
  // Slots are visited in chunks that lie within one page, where one kv_head's slot vectors
  // are contiguous: one call for the scores and one for the weighted values per chunk and
  // row instead of kernel calls per position. The softmax runs per block of kBlockSlots
  // positions (blocks start at multiples of kBlockSlots): the scores of a whole block
  // first, then one maximum, one exp and sum, at most one rescale, then the weighted
  // values; its state starts afresh at each segment and is merged into the previous
  // segments' in order. Each (token, head)'s arithmetic is the same sequence of calls on
  // the same chunks, blocks and segments whatever the grouping, tiling and splitting (a
  // chunk ends at a page, kChunkSlots or block boundary, or at the token's position; a
  // block at the token's position), so results do not depend on what else is in the step.
  pool.ParallelFor(unsplit_items * segments_per_item, 1, [&](int64_t begin, int64_t end, int) {
    // The state of the segment being read, and of those before it merged.
    float acc[kTileRows][kMaxGroupHeads][kMaxHeadDim];
    float running_max[kTileRows][kMaxGroupHeads];
    float denominator[kTileRows][kMaxGroupHeads];
    float merged_acc[kTileRows][kMaxGroupHeads][kMaxHeadDim];
    float merged_max[kTileRows][kMaxGroupHeads];
    float merged_denominator[kTileRows][kMaxGroupHeads];
    // One block's scores, then its softmax weights; kChunkSlots of slack for the last
    // chunk's dot_keys, which writes all kChunkSlots outputs.
    constexpr int64_t kWeightsStride = kBlockSlots + kChunkSlots;
    float weights[kTileRows][kMaxGroupHeads][kWeightsStride];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t segment = item % segments_per_item;
      const int64_t unsplit = item / segments_per_item;
      const int64_t tile = unsplit / (s.n_kv_heads * head_blocks);
      const int kv_head = static_cast<int>(unsplit / head_blocks % s.n_kv_heads);
      const int first_head =
          kv_head * group + static_cast<int>(unsplit % head_blocks) * kMaxGroupHeads;
      const int heads = std::min(kMaxGroupHeads, (kv_head + 1) * group - first_head);
      const int64_t tile_end = std::min(q.rows, (tile + 1) * tile_rows);
      // Runs of rows of one sequence within the tile share every chunk.
      for (int64_t first = tile * tile_rows, last; first < tile_end; first = last) {
        const int seq = batch.token_seq[first];
        Pos max_pos = batch.positions[first];
        for (last = first + 1; last < tile_end && batch.token_seq[last] == seq; ++last) {
          max_pos = std::max(max_pos, batch.positions[last]);
        }
        // The positions this item reads: one segment, or all up to the rows' last.
        const Pos range_begin = split ? static_cast<Pos>(segment * kSegmentSlots) : 0;
        const Pos range_end =
            split ? std::min<Pos>(range_begin + kSegmentSlots, max_pos + 1) : max_pos + 1;
        if (range_begin >= range_end) continue;  // a segment past this row's position
        auto reset_segment = [&](int64_t r) {
          for (int g = 0; g < heads; ++g) {
            running_max[r][g] = -std::numeric_limits<float>::infinity();
            denominator[r][g] = 0;
            for (int d = 0; d < head_dim; ++d) acc[r][g][d] = 0;
          }
        };
        auto merge_segment = [&](int64_t r) {
          for (int g = 0; g < heads; ++g) {
            MergeSegment(running_max[r][g], denominator[r][g], acc[r][g], head_dim,
                         merged_max[r][g], merged_denominator[r][g], merged_acc[r][g]);
          }
        };
        for (int64_t r = 0; r < last - first; ++r) {
          reset_segment(r);
          for (int g = 0; g < heads; ++g) merged_denominator[r][g] = 0;
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
        for (Pos j0 = range_begin; j0 < range_end; j0 += kBlockSlots) {
          if (j0 > range_begin && j0 % kSegmentSlots == 0) {
            // A new segment for the rows that reach it.
            for (int64_t t = first; t < last; ++t) {
              if (batch.positions[t] < j0) continue;
              merge_segment(t - first);
              reset_segment(t - first);
            }
          }
          const Pos j1 = std::min<Pos>(j0 + kBlockSlots, range_end);
          // (Past the segment too: a thread's next item is mostly the next segment.)
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
          const int64_t r = t - first;
          if (!split) merge_segment(r);  // the last segment
          for (int g = 0; g < heads; ++g) {
            if (split) {  // the segment's state, for the merge below
              float* state = partial_state(t, first_head + g, segment);
              state[0] = running_max[r][g];
              state[1] = denominator[r][g];
              std::copy_n(acc[r][g], head_dim, state + 2);
            } else {
              WriteNormalized(merged_acc[r][g], merged_denominator[r][g], head_dim,
                              out.row(t) + (first_head + g) * head_dim);
            }
          }
        }
      }
    }
  });
  if (!split) return;
  pool.ParallelFor(q.rows * n_heads, 1, [&](int64_t begin, int64_t end, int) {
    float acc[kMaxHeadDim];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t t = i / n_heads;
      const int head = static_cast<int>(i % n_heads);
      float max = 0, denominator = 0;
      for (int64_t segment = 0; segment <= batch.positions[t] / kSegmentSlots; ++segment) {
        const float* state = partial_state(t, head, segment);
        MergeSegment(state[0], state[1], state + 2, head_dim, max, denominator, acc);
      }
      WriteNormalized(acc, denominator, head_dim, out.row(t) + head * head_dim);
    }
  });
}

}  // namespace smollm::runtime::cpu

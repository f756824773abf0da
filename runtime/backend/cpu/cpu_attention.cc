// CPU paged attention: f16 pages, f32 math, online softmax per (token, head).
#include "runtime/backend/cpu/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace smollm::runtime::cpu {
namespace {

constexpr int kMaxHeadDim = 512;
constexpr int kChunkSlots = 16;  // positions per chunk (stack buffers of 32 KB each)

// Offset (in elements) of one head's slot vector inside K or V.
uint64_t SlotOffset(const KvCacheShape& s, int layer, int page, int kv_head, int slot) {
  const uint64_t layer_page = static_cast<uint64_t>(layer) * s.n_pages + page;
  return ((layer_page * s.n_kv_heads + kv_head) * s.page_size + slot) * s.head_dim;
}

int PageOf(const AttentionBatch& batch, int seq, Pos pos, int page_size) {
  return batch.page_ids[batch.page_table_begin[seq] + pos / page_size];
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
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const auto* k_base = static_cast<const uint16_t*>(cache.k.data());
  const auto* v_base = static_cast<const uint16_t*>(cache.v.data());

  // Slots are visited in chunks that lie within one page, where one kv_head's slot
  // vectors are contiguous: one conversion, one batch of dot products and one weighted
  // sum per chunk instead of kernel calls per position.
  pool.ParallelFor(q.rows * n_heads, 4, [&](int64_t begin, int64_t end, int) {
    float keys[kChunkSlots * kMaxHeadDim];
    float values[kChunkSlots * kMaxHeadDim];
    float scores[kChunkSlots];
    float acc[kMaxHeadDim];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / n_heads;
      const int h = static_cast<int>(item % n_heads);
      const int kv_head = h / group;
      const int seq = batch.token_seq[t];
      const Pos pos = batch.positions[t];
      const float* qh = q.row(t) + h * head_dim;

      float running_max = -std::numeric_limits<float>::infinity();
      float denominator = 0;
      for (int d = 0; d < head_dim; ++d) acc[d] = 0;
      for (Pos j = 0; j <= pos;) {
        const int slot = j % s.page_size;
        const int n = static_cast<int>(std::min<Pos>({pos + 1 - j, s.page_size - slot, kChunkSlots}));
        const uint64_t off = SlotOffset(s, layer, PageOf(batch, seq, j, s.page_size), kv_head, slot);
        kernels.f16_to_f32(k_base + off, keys, static_cast<int64_t>(n) * head_dim);
        kernels.dot_rows(qh, keys, n, head_dim, scores);
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
        for (int i = 0; i < n; ++i) {
          scores[i] = std::exp(scores[i] - running_max);
          denominator += scores[i];
        }
        kernels.f16_to_f32(v_base + off, values, static_cast<int64_t>(n) * head_dim);
        kernels.axpy_rows(scores, values, n, head_dim, acc);
        j += n;
      }
      float* o = out.row(t) + h * head_dim;
      const float inv = 1.0f / denominator;
      for (int d = 0; d < head_dim; ++d) o[d] = acc[d] * inv;
    }
  });
}

}  // namespace smollm::runtime::cpu

// Paged KV writes and causal GQA attention over the paged cache, on the CPU.
#pragma once

#include <span>

#include "runtime/backend/backend.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/core/thread_pool.h"

namespace smollm::runtime::cpu {

void StoreKv(ThreadPool& pool, const CpuKernels& kernels, KvCache& cache, int layer, const Activations& k,
             const Activations& v, const AttentionBatch& batch);

// One pass per (tile of up to 8 rows, kv_head) serving the query heads of its group (up
// to 8 per pass) and the rows of one sequence in the tile (prompt-sized steps only), with
// an online softmax per (row, head) over blocks of 128 positions, each visited in chunks
// of up to 16, and restarted per segment of 256 positions whose states merge in order: no
// score matrix, exact up to f32 rounding; each (row, head)'s result is the same whatever
// the grouping, tiling and thread count. A step with few (row, kv_head) pairs for the
// threads runs its segments in parallel, their states in `partials` (unused where too
// small: the step then runs unsplit, to the same result).
void Attention(ThreadPool& pool, const CpuKernels& kernels, const KvCache& cache, int layer,
               int n_heads, const Activations& q, const AttentionBatch& batch,
               std::span<float> partials, const Activations& out);

}  // namespace smollm::runtime::cpu

// Host-side planning of a step's attention on the CUDA backend: which rows take the
// split-K decode kernel and which tiles of rows take the flash-style prefill kernel.
// No CUDA types: the planning is tested on any host.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace smollm::runtime::cuda {

// A run of consecutive rows of the step that belong to one sequence and are attended
// together: the prefill kernel loads each key once for all of them.
struct PrefillTile {
  int32_t first_row = 0;
  int32_t n_rows = 0;
};
static_assert(sizeof(PrefillTile) == 2 * sizeof(int32_t), "staged as int32 pairs");

// A sequence with one row in the step (a decode token, or a one-token chunk) takes the
// decode kernel, whatever else the step holds, so that its numerics never depend on the
// batch around it; a sequence with more rows is cut, from its first row, into tiles of
// at most rows_per_tile rows, which again depends on that sequence alone.
struct AttentionPlan {
  std::vector<int32_t> decode_rows;
  std::vector<PrefillTile> tiles;
};

// Plans the rows of a step from token_seq (each row's sequence; a sequence's rows are
// consecutive, as StepBatch lays them out: a sequence seen again later starts a new run).
// rows_per_tile must be positive. Reuses plan's capacity.
void PlanAttention(std::span<const int32_t> token_seq, int rows_per_tile, AttentionPlan& plan);

}  // namespace smollm::runtime::cuda

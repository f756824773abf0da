// PlanAttention: runs of equal token_seq, single rows to the decode kernel, longer runs
// cut into prefill tiles.
#include "runtime/backend/cuda/attention_plan.h"

#include <algorithm>

namespace smollm::runtime::cuda {

void PlanAttention(std::span<const int32_t> token_seq, int rows_per_tile, AttentionPlan& plan) {
  plan.decode_rows.clear();
  plan.tiles.clear();
  const int32_t n = static_cast<int32_t>(token_seq.size());
  for (int32_t begin = 0; begin < n;) {
    int32_t end = begin + 1;
    while (end < n && token_seq[end] == token_seq[begin]) ++end;
    if (end - begin == 1) {
      plan.decode_rows.push_back(begin);
    } else {
      for (int32_t r = begin; r < end; r += rows_per_tile) {
        plan.tiles.push_back({r, std::min(rows_per_tile, end - r)});
      }
    }
    begin = end;
  }
}

}  // namespace smollm::runtime::cuda

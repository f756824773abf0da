// PlanAttention: every row of a random step is planned exactly once, one-row sequences
// go to the decode kernel, tiles stay inside one sequence's run and depend on that run
// alone (a sequence's plan is the same in any batch).
#include "runtime/backend/cuda/attention_plan.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime::cuda {
namespace {

// A step of `n_seqs` runs with random lengths (a third of them single rows).
std::vector<int32_t> RandomStep(std::mt19937& rng, int n_seqs, std::vector<int>& lengths) {
  std::vector<int32_t> token_seq;
  lengths.clear();
  for (int s = 0; s < n_seqs; ++s) {
    const int length = rng() % 3 == 0 ? 1 : 1 + static_cast<int>(rng() % 150);
    lengths.push_back(length);
    token_seq.insert(token_seq.end(), length, s);
  }
  return token_seq;
}

TEST(AttentionPlan, CoversEveryRowOnceAndKeepsTilesInsideASequence) {
  std::mt19937 rng(1234);
  AttentionPlan plan;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int> lengths;
    const std::vector<int32_t> token_seq = RandomStep(rng, 1 + rng() % 20, lengths);
    const int rows_per_tile = std::vector<int>{1, 7, 16, 64}[rng() % 4];
    PlanAttention(token_seq, rows_per_tile, plan);
    std::vector<int> seen(token_seq.size(), 0);
    for (const int32_t row : plan.decode_rows) {
      ++seen[row];
      EXPECT_EQ(lengths[token_seq[row]], 1) << "row " << row;
    }
    for (const PrefillTile& tile : plan.tiles) {
      ASSERT_GE(tile.n_rows, 1);
      ASSERT_LE(tile.n_rows, rows_per_tile);
      const int32_t seq = token_seq[tile.first_row];
      EXPECT_GT(lengths[seq], 1);
      for (int r = tile.first_row; r < tile.first_row + tile.n_rows; ++r) {
        ASSERT_LT(r, static_cast<int>(token_seq.size()));
        EXPECT_EQ(token_seq[r], seq);
        ++seen[r];
      }
    }
    for (size_t r = 0; r < seen.size(); ++r) ASSERT_EQ(seen[r], 1) << "row " << r;
  }
}

TEST(AttentionPlan, ASequencePlansTheSameAloneAndInABatch) {
  std::mt19937 rng(99);
  AttentionPlan batch_plan, solo_plan;
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<int> lengths;
    const std::vector<int32_t> token_seq = RandomStep(rng, 2 + rng() % 10, lengths);
    PlanAttention(token_seq, 16, batch_plan);
    int first = 0;
    for (int s = 0; s < static_cast<int>(lengths.size()); first += lengths[s], ++s) {
      PlanAttention(std::vector<int32_t>(lengths[s], 0), 16, solo_plan);
      std::vector<PrefillTile> in_batch;
      for (const PrefillTile& t : batch_plan.tiles) {
        if (token_seq[t.first_row] == s) in_batch.push_back({t.first_row - first, t.n_rows});
      }
      ASSERT_EQ(in_batch.size(), solo_plan.tiles.size());
      for (size_t i = 0; i < in_batch.size(); ++i) {
        EXPECT_EQ(in_batch[i].first_row, solo_plan.tiles[i].first_row);
        EXPECT_EQ(in_batch[i].n_rows, solo_plan.tiles[i].n_rows);
      }
      EXPECT_EQ(solo_plan.decode_rows.size(), lengths[s] == 1 ? 1u : 0u);
    }
  }
}

TEST(AttentionPlan, DecodeOnlyStepAndEmptyStep) {
  AttentionPlan plan;
  PlanAttention(std::vector<int32_t>{0, 1, 2, 3}, 16, plan);
  EXPECT_EQ(plan.decode_rows, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_TRUE(plan.tiles.empty());
  PlanAttention(std::vector<int32_t>{}, 16, plan);
  EXPECT_TRUE(plan.decode_rows.empty());
  EXPECT_TRUE(plan.tiles.empty());
  // A sequence seen again later starts a new run.
  PlanAttention(std::vector<int32_t>{5, 5, 6, 5}, 16, plan);
  EXPECT_EQ(plan.decode_rows, (std::vector<int32_t>{2, 3}));
  ASSERT_EQ(plan.tiles.size(), 1u);
  EXPECT_EQ(plan.tiles[0].first_row, 0);
  EXPECT_EQ(plan.tiles[0].n_rows, 2);
}

}  // namespace
}  // namespace smollm::runtime::cuda

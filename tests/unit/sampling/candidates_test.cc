// Top-k, threshold collection, top-p and min-p candidate sets against a full sort.
#include "runtime/sampling/candidates.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

// Random scores; `coarse` rounds them to quarters so that ties are common.
std::vector<float> RandomRow(size_t n, std::mt19937& gen, bool coarse) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> row(n);
  for (float& v : row) v = coarse ? std::round(normal(gen) * 4.0f) / 4.0f : normal(gen);
  return row;
}

// Tokens in `Before` order: score descending, then id ascending.
std::vector<TokenId> SortedTokens(const std::vector<float>& row) {
  std::vector<TokenId> order(row.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<TokenId>(i);
  std::sort(order.begin(), order.end(), [&](TokenId a, TokenId b) {
    return Before({row[static_cast<size_t>(a)], a}, {row[static_cast<size_t>(b)], b});
  });
  return order;
}

std::set<TokenId> Tokens(std::span<const Candidate> candidates) {
  std::set<TokenId> tokens;
  for (const Candidate& c : candidates) tokens.insert(c.token);
  return tokens;
}

TEST(CandidatesTest, SelectTopKKeepsExactlyTheBestK) {
  std::mt19937 gen(5);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + gen() % 3000;
    const std::vector<float> row = RandomRow(n, gen, trial % 2 == 0);
    const std::vector<TokenId> order = SortedTokens(row);
    for (size_t k : {size_t{1}, size_t{2}, size_t{40}, n / 2, n, n + 10}) {
      std::vector<Candidate> out(std::max<size_t>(k, 1));
      const size_t count = SelectTopK(row, k, out);
      ASSERT_EQ(count, std::min(k, n));
      const std::set<TokenId> expected(order.begin(), order.begin() + static_cast<long>(count));
      ASSERT_EQ(Tokens(std::span(out.data(), count)), expected) << "n " << n << " k " << k;
      for (size_t i = 0; i < count; ++i) {
        EXPECT_EQ(out[i].score, row[static_cast<size_t>(out[i].token)]);
      }
    }
  }
}

TEST(CandidatesTest, SelectTopKOfMaskedRow) {
  std::vector<float> row(100, -INFINITY);
  row[42] = 1.0f;
  std::vector<Candidate> out(3);
  ASSERT_EQ(SelectTopK(row, 3, out), 3u);
  // The finite token, then the lowest ids among the masked ones.
  EXPECT_EQ(Tokens(out), (std::set<TokenId>{0, 1, 42}));
}

TEST(CandidatesTest, CollectAtLeastKeepsTokenOrder) {
  std::mt19937 gen(6);
  for (int trial = 0; trial < 100; ++trial) {
    const size_t n = 1 + gen() % 2000;
    const std::vector<float> row = RandomRow(n, gen, true);
    const float threshold = static_cast<float>(trial % 9) - 4.0f;
    std::vector<Candidate> out(n);
    const Collected got = CollectAtLeast(row, threshold, out);
    size_t count = 0;
    double mass = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (row[i] < threshold) continue;
      ASSERT_LT(count, got.count);
      EXPECT_EQ(out[count].token, static_cast<TokenId>(i));
      ++count;
      mass += row[i];
    }
    EXPECT_EQ(got.count, count);
    EXPECT_DOUBLE_EQ(got.mass, mass);
  }
}

TEST(CandidatesTest, SelectTopPIsTheSmallestPrefixReachingTheMass) {
  std::mt19937 gen(7);
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const size_t n = 1 + gen() % (trial < 20 ? 50000 : 3000);
    std::vector<float> row = RandomRow(n, gen, trial % 3 == 0);
    for (float& v : row) v = std::exp(v);  // probabilities, unnormalised
    double total = 0.0;
    for (float v : row) total += v;
    const float top_p = std::uniform_real_distribution<float>(0.0f, 1.0f)(gen);
    const std::vector<TokenId> order = SortedTokens(row);
    // Reference: walk the full sort.
    const double target = static_cast<double>(top_p) * total;
    double mass = 0.0;
    size_t m = 0;
    bool ambiguous = false;
    while (m < n) {
      mass += row[static_cast<size_t>(order[m])];
      ++m;
      ambiguous |= std::fabs(mass - target) < 1e-9 * total;
      if (mass >= target) break;
    }
    if (ambiguous) continue;  // a tie with the target: summation order decides
    std::vector<Candidate> candidates(n);
    for (size_t i = 0; i < n; ++i) candidates[i] = {row[i], static_cast<TokenId>(i)};
    const size_t got = SelectTopP(candidates, total, top_p);
    ASSERT_EQ(got, m) << "n " << n << " top_p " << top_p;
    for (size_t i = 0; i < got; ++i) EXPECT_EQ(candidates[i].token, order[i]);  // sorted
    ++checked;
  }
  EXPECT_GT(checked, 390);
}

TEST(CandidatesTest, SelectTopPZeroKeepsTheBestAndOneKeepsAll) {
  std::vector<Candidate> c = {{0.5f, 0}, {1.0f, 1}, {1.0f, 2}, {0.25f, 3}};
  EXPECT_EQ(SelectTopP(c, 2.75, 0.0f), 1u);
  EXPECT_EQ(c[0].token, 1);  // tie with token 2: the lower id wins
  EXPECT_EQ(SelectTopP(c, 2.75, 1.0f), 4u);
}

TEST(CandidatesTest, KeepAtLeastFiltersInPlace) {
  std::vector<Candidate> c = {{0.5f, 9}, {1.0f, 1}, {0.05f, 2}, {0.1f, 3}};
  ASSERT_EQ(KeepAtLeast(c, 0.1f), 3u);
  EXPECT_EQ(c[0].token, 9);
  EXPECT_EQ(c[1].token, 1);
  EXPECT_EQ(c[2].token, 3);
}

}  // namespace
}  // namespace smollm::runtime

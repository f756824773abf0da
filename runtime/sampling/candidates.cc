// Top-k selection from a row, threshold collection, chunked nucleus (top-p) selection
// and the min-p filter.
#include "runtime/sampling/candidates.h"

#include <algorithm>
#include <cmath>

#include "runtime/sampling/row_kernels.h"

namespace smollm::runtime {
namespace {

// First chunk of the nucleus search and its growth factor: most nuclei of a trained
// model hold tens to a few hundred tokens, so the first or second chunk usually ends it.
constexpr size_t kFirstTopPChunk = 64;
constexpr size_t kTopPChunkGrowth = 8;

}  // namespace

size_t SelectTopK(std::span<const float> row, size_t k, std::span<Candidate> out) {
  const size_t n = row.size();
  k = std::min(k, n);
  if (k == 0) return 0;
  for (size_t i = 0; i < k; ++i) out[i] = {row[i], static_cast<TokenId>(i)};
  // A heap under `Before`: its front is the worst kept candidate. Every later token has a
  // higher id than every kept one, so it enters exactly when its score is strictly
  // higher than the front's, i.e. at least the next float up. Such tokens grow rarer as
  // the front rises, and the vector scan skips everything between them.
  const auto heap_end = out.begin() + static_cast<std::ptrdiff_t>(k);
  std::make_heap(out.begin(), heap_end, Before);
  for (size_t i = RowFindAtLeast(row, k, std::nextafter(out[0].score, INFINITY)); i < n;
       i = RowFindAtLeast(row, i + 1, std::nextafter(out[0].score, INFINITY))) {
    std::pop_heap(out.begin(), heap_end, Before);
    out[k - 1] = {row[i], static_cast<TokenId>(i)};
    std::push_heap(out.begin(), heap_end, Before);
  }
  return k;
}

Collected CollectAtLeast(std::span<const float> row, float threshold,
                         std::span<Candidate> out) {
  Collected collected;
  for (size_t i = RowFindAtLeast(row, 0, threshold); i < row.size();
       i = RowFindAtLeast(row, i + 1, threshold)) {
    out[collected.count++] = {row[i], static_cast<TokenId>(i)};
    collected.mass += row[i];
  }
  return collected;
}

size_t SelectTopP(std::span<Candidate> candidates, double total, float top_p) {
  const size_t n = candidates.size();
  if (n == 0) return 0;
  const double target = static_cast<double>(top_p) * total;
  double mass = 0.0;
  size_t sorted = 0;  // candidates[0, sorted) are the best ones, in order
  size_t chunk = kFirstTopPChunk;
  while (sorted < n) {
    const size_t end = std::min(n, sorted + chunk);
    // The best (end - sorted) of what is left, sorted, at [sorted, end).
    std::partial_sort(candidates.begin() + sorted, candidates.begin() + end,
                      candidates.end(), Before);
    for (size_t i = sorted; i < end; ++i) {
      mass += candidates[i].score;
      if (mass >= target) return i + 1;
    }
    sorted = end;
    chunk *= kTopPChunkGrowth;
  }
  return n;  // rounding kept the sum just under the target: everything stays
}

size_t KeepAtLeast(std::span<Candidate> candidates, float threshold) {
  size_t kept = 0;
  for (const Candidate& c : candidates) {
    if (c.score >= threshold) candidates[kept++] = c;
  }
  return kept;
}

}  // namespace smollm::runtime

// Candidate tokens and the truncation steps on them: top-k, top-p (nucleus), min-p.
#pragma once

#include <cstddef>
#include <span>

#include "runtime/core/types.h"

namespace smollm::runtime {

// One vocabulary entry of a truncated set. `score` is a processed logit up to the softmax
// and an unnormalised probability after it, depending on the step.
struct Candidate {
  float score;
  TokenId token;
};

// The order every step uses: higher score first, ties to the lower token id. It is a
// strict total order, so partial sorts and selections give the same set every time.
inline bool Before(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.token < b.token);
}

// Writes the min(k, row.size()) best entries of a row (token t scoring row[t]) in
// `Before` order to out[0, count), unsorted among themselves, and returns count.
// out.size() >= count. A k-entry heap fed by a vector scan for the next entry that can
// enter it: for k much smaller than the row this costs about one vector pass.
size_t SelectTopK(std::span<const float> row, size_t k, std::span<Candidate> out);

// The entries of a row scoring >= threshold, in token order, written to out (size >=
// the row's). Returns their count and their summed score.
struct Collected {
  size_t count = 0;
  double mass = 0.0;
};
Collected CollectAtLeast(std::span<const float> row, float threshold,
                         std::span<Candidate> out);

// Scores are unnormalised probabilities summing to `total` (> 0). Returns m >= 1 (for a
// non-empty span) such that the m first candidates in `Before` order are the smallest
// such prefix whose mass reaches top_p * total; these m are left sorted at the front.
// Sorts only as far as needed: the prefix is extended in growing chunks, each found by a
// partial sort of what is left, so a nucleus of a few hundred tokens out of 128k costs
// about one pass over the vocabulary rather than a full sort.
size_t SelectTopP(std::span<Candidate> candidates, double total, float top_p);

// Keeps the candidates whose score is >= threshold, in their current order, at the
// front; returns their count.
size_t KeepAtLeast(std::span<Candidate> candidates, float threshold);

}  // namespace smollm::runtime

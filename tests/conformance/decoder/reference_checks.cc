// Row-by-row comparison of logits with a reference fixture.
#include "tests/conformance/decoder/reference_checks.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace smollm::testing {
namespace {

constexpr int kMaxListedViolations = 8;

void Violation(LogitStats& stats, std::string what) {
  if (static_cast<int>(stats.violations.size()) < kMaxListedViolations) {
    stats.violations.push_back(std::move(what));
  }
  ++stats.n_violations;
}

// The smallest cosine the bounds accept at `pos`: min_cosine, widened by the reference's
// own error when it carries one (angles add: the triangle inequality on the sphere).
double MinCosineAt(const ReferencePrompt& prompt, int pos, const ReferenceBounds& bounds) {
  if (prompt.allowance.empty()) return bounds.min_cosine;
  const double ours = std::acos(bounds.min_cosine);
  const double theirs = std::acos(std::max(-1.0, 1.0 - prompt.allowance[pos]));
  return std::cos(ours + theirs);
}

std::span<const float> FullRow(const ReferencePrompt& prompt, int vocab, int pos) {
  const auto it = std::find(prompt.full_positions.begin(), prompt.full_positions.end(), pos);
  if (it == prompt.full_positions.end()) return {};
  return std::span<const float>(prompt.full.data() + (it - prompt.full_positions.begin()) * vocab,
                                vocab);
}

}  // namespace

void LogitStats::Merge(const LogitStats& o) {
  positions += o.positions;
  full_rows += o.full_rows;
  min_cosine = std::min(min_cosine, o.min_cosine);
  min_plain_cosine = std::min(min_plain_cosine, o.min_plain_cosine);
  max_relative_error = std::max(max_relative_error, o.max_relative_error);
  min_cosine_estimate = std::min(min_cosine_estimate, o.min_cosine_estimate);
  min_cosine_bound = std::min(min_cosine_bound, o.min_cosine_bound);
  max_allowance_use = std::max(max_allowance_use, o.max_allowance_use);
  min_reference_cosine = std::min(min_reference_cosine, o.min_reference_cosine);
  min_sketch_ratio = std::min(min_sketch_ratio, o.min_sketch_ratio);
  max_sketch_ratio = std::max(max_sketch_ratio, o.max_sketch_ratio);
  clear_positions += o.clear_positions;
  clear_mismatches += o.clear_mismatches;
  any_mismatches += o.any_mismatches;
  reference_top1_flips += o.reference_top1_flips;
  for (const std::string& v : o.violations) {
    if (static_cast<int>(violations.size()) < kMaxListedViolations) violations.push_back(v);
  }
  n_violations += o.n_violations;
}

std::string LogitStats::Summary(std::string_view label) const {
  std::string s = absl::StrFormat("%s: %d positions", std::string(label), positions);
  if (full_rows > 0) {
    absl::StrAppendFormat(&s,
                          "; %d whole rows: min centred cosine %.7f, min plain cosine %.7f, "
                          "max relative error %.3g",
                          full_rows, min_cosine, min_plain_cosine, max_relative_error);
  }
  if (min_cosine_estimate < 1) {
    absl::StrAppendFormat(&s, "; sketched: min cosine estimate %.7f", min_cosine_estimate);
    if (max_allowance_use > 0) {
      absl::StrAppendFormat(&s,
                            ", at most %.3f of the allowance (the reference's own min cosine "
                            "from exact arithmetic %.6f)",
                            max_allowance_use, min_reference_cosine);
    } else {
      absl::StrAppendFormat(&s, ", bound %.7f", min_cosine_bound);
    }
    if (max_sketch_ratio > 0) {
      absl::StrAppendFormat(&s, " (estimate/exact at whole rows %.3f..%.3f)", min_sketch_ratio,
                            max_sketch_ratio);
    }
  }
  absl::StrAppendFormat(&s, "; top-1 differs at %d of %d clear positions, %d overall",
                        clear_mismatches, clear_positions, any_mismatches);
  if (reference_top1_flips > 0) {
    absl::StrAppendFormat(&s, " (the reference's top-1 is not exact arithmetic's at %d)",
                          reference_top1_flips);
  }
  return s;
}

LogitStats MeasureAgainstReference(const LogitReference& ref, const ReferencePrompt& prompt,
                                   std::span<const float> logits, const ReferenceBounds& bounds) {
  LogitStats stats;
  const int vocab = ref.vocab;
  const int n = static_cast<int>(std::min<size_t>(logits.size() / vocab, prompt.n_positions()));
  stats.positions = n;
  auto row = [&](int pos) { return logits.subspan(static_cast<size_t>(pos) * vocab, vocab); };

  // Whole rows: exact measures.
  for (const int pos : prompt.full_positions) {
    if (pos >= n) continue;
    const std::span<const float> theirs = FullRow(prompt, vocab, pos);
    const double cosine = CentredCosine(row(pos), theirs);
    const double plain = PlainCosine(row(pos), theirs);
    const double rel = RelativeError(row(pos), theirs);
    ++stats.full_rows;
    stats.min_cosine = std::min(stats.min_cosine, cosine);
    stats.min_plain_cosine = std::min(stats.min_plain_cosine, plain);
    stats.max_relative_error = std::max(stats.max_relative_error, rel);
    const double min_cosine = MinCosineAt(prompt, pos, bounds);
    if (cosine < min_cosine || plain < min_cosine) {
      Violation(stats, absl::StrFormat("position %d: cosine %.7f (plain %.7f) < %.7f", pos,
                                       cosine, plain, min_cosine));
    }
    if (bounds.max_relative_error >= 0 && rel > bounds.max_relative_error) {
      Violation(stats, absl::StrFormat("position %d: relative error %.3g", pos, rel));
    }
  }

  // Every position through its sketch.
  if (ref.buckets > 0) {
    const LogitSketch sketch(vocab, ref.buckets, ref.sketch_seed);
    const double sigma4 = 4 * sketch.RelativeSigma();
    for (int pos = 0; pos < n; ++pos) {
      const std::span<const float> s(prompt.sketch.data() + static_cast<size_t>(pos) * ref.buckets,
                                     ref.buckets);
      const double estimate = sketch.EstimateOneMinusCosine(row(pos), s);
      const double allowed = 1 - MinCosineAt(prompt, pos, bounds);
      stats.min_cosine_estimate = std::min(stats.min_cosine_estimate, 1 - estimate);
      if (prompt.allowance.empty()) {
        // Against exact arithmetic: conservative, the true value must be within the bound
        // even if the estimate came out 4 sigma low.
        const double bound = 1 - estimate / (1 - sigma4);
        stats.min_cosine_bound = std::min(stats.min_cosine_bound, bound);
        if (bound < 1 - allowed) {
          Violation(stats, absl::StrFormat("position %d: sketched cosine %.7f, bound %.7f < %.7f",
                                           pos, 1 - estimate, bound, 1 - allowed));
        }
      } else {
        // Against a reference with its own error: fail only when clearly beyond it.
        const double use = estimate / allowed;
        stats.max_allowance_use = std::max(stats.max_allowance_use, use);
        stats.min_reference_cosine =
            std::min(stats.min_reference_cosine, 1.0 - prompt.allowance[pos]);
        if (use > 1 + sigma4) {
          Violation(stats, absl::StrFormat("position %d: sketched cosine %.7f < %.7f (the "
                                           "reference's own error allows that much)",
                                           pos, 1 - estimate, 1 - allowed));
        }
      }
      const std::span<const float> theirs = FullRow(prompt, vocab, pos);
      if (!theirs.empty()) {
        const double exact = 1 - CentredCosine(row(pos), theirs);
        const double ratio = estimate / exact;
        stats.min_sketch_ratio = std::min(stats.min_sketch_ratio, ratio);
        stats.max_sketch_ratio = std::max(stats.max_sketch_ratio, ratio);
        // The estimator itself: within 5 sigma of the exact value, give or take the f16
        // rounding of the stored row and sketch (a miss means this sketch and
        // decoder_common.py's disagree, not that the decoder is wrong).
        if (std::abs(estimate - exact) > 1.25 * sigma4 * exact + 2e-7) {
          Violation(stats, absl::StrFormat("position %d: sketch estimate %.4g vs exact %.4g",
                                           pos, estimate, exact));
        }
      }
    }
  }

  // Top-1, from the reference's top-k lists or its whole rows.
  for (int pos = 0; pos < n; ++pos) {
    int best = -1;
    double margin = 0;
    if (ref.top_k >= 2) {
      const size_t base = static_cast<size_t>(pos) * ref.top_k;
      best = prompt.top_ids[base];
      margin = prompt.top_logits[base] - prompt.top_logits[base + 1];
    } else {
      const std::span<const float> theirs = FullRow(prompt, vocab, pos);
      if (theirs.empty()) continue;
      best = ArgMax(theirs);
      float second = -1e30f;
      for (int v = 0; v < vocab; ++v) {
        if (v != best) second = std::max(second, theirs[v]);
      }
      margin = theirs[best] - second;
    }
    const int ours = ArgMax(row(pos));
    if (ours != best) ++stats.any_mismatches;
    const bool reference_flipped = !prompt.exact_top1.empty() && prompt.exact_top1[pos] != best;
    if (reference_flipped) ++stats.reference_top1_flips;
    if (margin > bounds.top1_margin && !reference_flipped) {
      ++stats.clear_positions;
      if (ours != best) {
        ++stats.clear_mismatches;
        Violation(stats, absl::StrFormat("position %d: top-1 %d, reference %d (margin %.3f)",
                                         pos, ours, best, margin));
      }
    }
  }
  return stats;
}

LogitStats CheckAgainstReference(const LogitReference& ref, const ReferencePrompt& prompt,
                                 std::span<const float> logits, const ReferenceBounds& bounds) {
  const LogitStats stats = MeasureAgainstReference(ref, prompt, logits, bounds);
  if (stats.n_violations > 0) {
    std::string list;
    for (const std::string& v : stats.violations) absl::StrAppend(&list, "\n  ", v);
    ADD_FAILURE() << prompt.name << ": " << stats.n_violations << " violations of the bounds"
                  << list << "\n" << stats.Summary(prompt.name);
  }
  return stats;
}

int MatchingPrefix(std::span<const runtime::TokenId> a, std::span<const runtime::TokenId> b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return static_cast<int>(i);
}

}  // namespace smollm::testing

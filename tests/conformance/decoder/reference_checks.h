// Comparing a run's logits with a reference fixture: the measures, and the bounds the
// conformance tests hold them to.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/conformance/decoder/logit_reference.h"

namespace smollm::testing {

struct ReferenceBounds {
  // Centred cosine, at every position: exactly where the reference holds the whole row,
  // else through the row's sketch. When the reference carries an allowance (it is not
  // exact arithmetic itself), this bounds our own error and the reference's is added to it
  // as an angle: acos(ours, ref) <= acos(min_cosine) + acos(1 - allowance).
  double min_cosine = 0.999;
  // The top-1 token must be the reference's wherever the reference's top-2 margin exceeds
  // this (and, with an allowance, where exact arithmetic has the same top-1).
  double top1_margin = 0.1;
  // max |ours - ref| / max |ref| per position, at the positions with whole rows; < 0: unchecked.
  double max_relative_error = -1;
};

// Against a reference computing in f32 on the same weight values (llama.cpp on the model
// requantized to F32; transformers on an F32 model), or, with an allowance, against
// llama.cpp on a quantized file: ours differs from exact arithmetic by summation order and
// the f16 KV cache only. Measured: 1 - cosine below 4e-6 on SmolLM2 and the tiny SmolLM3,
// so 1e-5 leaves room for other CPUs' summation orders, and is a hundred times tighter
// than the usual 0.999, which llama.cpp on the quantized files does not meet itself
// (its 8-bit activations cost it up to 2e-3 on SmolLM2 Q4_1 and 6e-3 on the tiny models).
// A wrong RoPE pairing costs more than 0.5, RoPE on the NoPE layers 0.13.
inline constexpr ReferenceBounds kExactBounds{0.99999, 0.1, -1};

struct LogitStats {
  int positions = 0;
  int full_rows = 0;
  // Over the full rows (exact).
  double min_cosine = 1;        // centred
  double min_plain_cosine = 1;
  double max_relative_error = 0;
  // Over every sketched position: 1 - estimate of 1 - cosine, and the lower bound that
  // holds unless the estimate falls below 1 - 4 sigma of its value (odds ~1e-5 per row).
  double min_cosine_estimate = 1;
  double min_cosine_bound = 1;
  // With an allowance: the largest estimated 1 - cosine over what the bound allows at
  // that position (<= 1 + 4 sigma passes), and the reference's own smallest cosine from
  // exact arithmetic.
  double max_allowance_use = 0;
  double min_reference_cosine = 1;
  // Sketch estimate / exact 1 - cosine at the full rows: how well the sketch tracked.
  double min_sketch_ratio = 1e300, max_sketch_ratio = 0;
  // Top-1: positions where the reference's margin makes it clear, and mismatches there;
  // mismatches anywhere.
  int clear_positions = 0, clear_mismatches = 0, any_mismatches = 0;
  // With an allowance: positions where the reference's top-1 is not exact arithmetic's.
  int reference_top1_flips = 0;
  // Positions that broke a bound (first few, for messages).
  std::vector<std::string> violations;
  int n_violations = 0;

  void Merge(const LogitStats& other);
  std::string Summary(std::string_view label) const;
};

// Measures `logits` ([n][vocab], teacher-forced on prompt.tokens) against the reference
// row by row and notes every position that breaks `bounds`. n may be less than
// prompt.n_positions(): a causal model's row p depends on tokens 0..p only, so a prefix
// of the sequence has the same first rows (sanitizer builds check a prefix).
LogitStats MeasureAgainstReference(const LogitReference& ref, const ReferencePrompt& prompt,
                                   std::span<const float> logits, const ReferenceBounds& bounds);

// MeasureAgainstReference, then a test failure (naming the prompt and the first
// positions) when any bound is broken.
LogitStats CheckAgainstReference(const LogitReference& ref, const ReferencePrompt& prompt,
                                 std::span<const float> logits, const ReferenceBounds& bounds);

// Length of the common prefix of two token lists.
int MatchingPrefix(std::span<const runtime::TokenId> a, std::span<const runtime::TokenId> b);

}  // namespace smollm::testing

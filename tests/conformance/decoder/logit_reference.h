// Reference logits written by tests/reference/decoder_*_reference.py (the layout is
// documented in tests/reference/decoder_common.py), and the measures that compare ours
// with them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"

namespace smollm::testing {

struct ReferencePrompt {
  std::string name;
  std::string text;  // empty when the prompt was given as token ids
  int n_prompt = 0;  // tokens[0, n_prompt) is the prompt, the rest the reference's greedy output
  std::vector<runtime::TokenId> tokens;
  std::vector<int32_t> full_positions;  // positions whose whole row is in `full`
  std::vector<float> full;              // [full_positions.size()][vocab]
  std::vector<float> sketch;            // [tokens.size()][buckets], or empty
  std::vector<int32_t> top_ids;         // [tokens.size()][top_k], best first, or empty
  std::vector<float> top_logits;        // [tokens.size()][top_k]
  // When the reference is not exact arithmetic (llama.cpp on a quantized file): its own
  // 1 - centred cosine from exact arithmetic at each position, and the exact top-1.
  std::vector<float> allowance;         // [tokens.size()], or empty
  std::vector<int32_t> exact_top1;      // [tokens.size()], or empty
  // The reference's own greedy continuation of the prompt (when `tokens` continues with
  // the exact run's), and how many of its tokens exact arithmetic reproduces.
  std::vector<runtime::TokenId> own_greedy;
  int exact_greedy_match = -1;

  int n_positions() const { return static_cast<int>(tokens.size()); }
};

struct LogitReference {
  std::string reference;     // what computed it
  std::string model_sha256;  // of the model file it was computed from
  int vocab = 0;
  int buckets = 0;  // 0: no sketches
  uint64_t sketch_seed = 0;
  int top_k = 0;    // 0: no top-k lists
  std::vector<ReferencePrompt> prompts;
};

// Reads and checks the shapes of a reference fixture. InvalidArgument/NotFound naming the
// key or tensor that is missing or malformed.
absl::StatusOr<LogitReference> ReadLogitReference(const std::string& path);

// ---- measures ----

// Cosine of the two rows after subtracting each row's mean (Pearson correlation). A
// constant added to a row changes no probability, so it must neither count as an error
// nor dilute one, as it does in the plain cosine.
double CentredCosine(std::span<const float> a, std::span<const float> b);
double PlainCosine(std::span<const float> a, std::span<const float> b);
// Index of the largest value (the first one on ties), as numpy's argmax.
int ArgMax(std::span<const float> row);
// max |a - b| / max |b|: the error relative to the reference row's scale.
double RelativeError(std::span<const float> a, std::span<const float> b);

// The CountSketch of decoder_common.py: every vocabulary id adds its value, signed, to one
// of `buckets` sums. Applied to centred unit rows, |S(â) - S(b̂)|² / 2 estimates
// 1 - CentredCosine(a, b) with a relative standard deviation of about sqrt(2 / buckets).
class LogitSketch {
 public:
  LogitSketch(int vocab, int buckets, uint64_t seed);
  int buckets() const { return buckets_; }
  // Relative standard deviation of the estimate.
  double RelativeSigma() const;
  // Estimated 1 - CentredCosine(row, reference) from the reference's stored sketch.
  double EstimateOneMinusCosine(std::span<const float> row,
                                std::span<const float> reference_sketch) const;

 private:
  int buckets_;
  std::vector<int32_t> bucket_;  // [vocab]
  std::vector<int8_t> sign_;     // [vocab] +1 or -1
};

}  // namespace smollm::testing

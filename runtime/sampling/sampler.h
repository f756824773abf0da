// Per-sequence token sampler: logits row in, one token (with log-probabilities) out.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/sampling/candidates.h"
#include "runtime/sampling/penalties.h"
#include "runtime/core/rng.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::runtime {

struct TokenLogprob {
  TokenId token;
  float logprob;
};

// What Sample returns. Log-probabilities are those of the PROCESSED logits at temperature
// 1, before truncation: log_softmax(logits + logit_bias, then penalties) over the whole
// vocabulary. They are the model's distribution as the request's explicit adjustments
// shaped it, independent of temperature, top-k/p and min-p, so they stay meaningful for
// greedy decoding (where the distribution drawn from is a single point) and the
// alternatives may include tokens the truncation removed. (OpenAI reports the model's
// own distribution; llama.cpp's server the probabilities after its sampler chain.)
struct SampleResult {
  TokenId token = -1;
  // Of `token`; set when params.logprobs or params.top_logprobs > 0. Always finite: a
  // token of probability 0 is never chosen.
  std::optional<float> logprob;
  // The params.top_logprobs most likely tokens, most likely first (ties: lower id
  // first); `token` may or may not be among them.
  std::array<TokenLogprob, kMaxTopLogprobs> top{};
  int32_t num_top = 0;

  std::span<const TokenLogprob> top_logprobs() const {
    return {top.data(), static_cast<size_t>(num_top)};
  }
};

// One per sequence; not thread-safe (the engine thread owns it). Create allocates all the
// scratch: a float row (4 bytes per vocabulary entry), a candidate buffer when top-k,
// top-p or min-p is on (8 bytes per kept entry, up to the vocabulary), and the penalty
// history when penalties are on. Sample, Accept and AcceptPrompt never allocate
// afterwards (see PenaltyState::Accept for the single exception).
//
// Probabilities are computed in float with ExpNonPositive (relative error ~2 ulp); a
// token less likely than e^-87 (~1.6e-38) times the most likely one gets exactly 0.
//
// Randomness: xoshiro256** seeded with params.seed (rng.h). Each non-greedy Sample draws
// exactly one 53-bit uniform, whatever the logits, so the k-th token of a sequence always
// uses the k-th number of its stream; greedy sampling draws nothing. The draw walks the
// kept tokens in a fixed order (token order, heap order after top-k, `Before` order after
// top-p), and every float step is bit-identical across the scalar, portable-vector and
// AVX2 code, so the same seed, params and logits give the same tokens on every run and
// every CPU.
class Sampler {
 public:
  // InvalidArgument when Validate(params, vocab_size) fails.
  static absl::StatusOr<Sampler> Create(const SamplingParams& params, int32_t vocab_size);

  Sampler(Sampler&&) = default;
  Sampler& operator=(Sampler&&) = default;
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Chooses the next token from one logits row of vocab_size floats. The row is read, not
  // changed. InvalidArgument when its size is not vocab_size, when an entry is NaN or
  // +inf (-inf is a masked token and fine), or when every token ends up at -inf (all
  // banned). Does not update the penalty history: call Accept with the token kept.
  absl::StatusOr<SampleResult> Sample(std::span<const float> logits);

  // Records a generated token for the penalties (SamplingParams documents which count).
  absl::Status Accept(TokenId token) { return penalties_.Accept(token); }
  // Records prompt tokens: they enter the repetition window only.
  absl::Status AcceptPrompt(std::span<const TokenId> tokens) {
    return penalties_.AcceptPrompt(tokens);
  }

  // The distribution Sample would draw from for `logits` (same processing, no draw, no
  // state change): probs (resized to vocab_size) is 0 outside the kept set and sums to 1.
  // For greedy it is 1 at the chosen token. Allocates; for tests and diagnostics.
  absl::Status Distribution(std::span<const float> logits, std::vector<float>* probs);

  const SamplingParams& params() const { return params_; }
  int32_t vocab_size() const { return vocab_size_; }

 private:
  Sampler(const SamplingParams& params, int32_t vocab_size);

  // Where the processed row left the tokens that may be drawn.
  enum class KeptIn {
    kGreedy,      // `greedy_token` alone
    kRow,         // every token, probabilities in row_ (token order), block_sums_
    kCandidates,  // candidates_[0, count), scores are probabilities
  };
  struct Kept {
    KeptIn where = KeptIn::kGreedy;
    size_t count = 0;
    double total = 0.0;  // sum of the kept probabilities (unnormalised)
    TokenId greedy_token = -1;
  };

  // Every step up to the draw. Also fills result's top alternatives and log_sum_exp_.
  absl::StatusOr<Kept> Process(std::span<const float> logits, SampleResult* result);
  // From the processed row_ (maximum `max`) to the kept set; sets log_sum_exp_ when
  // log-probabilities are wanted.
  Kept Truncate(float max);
  // row_ = the processed logits (bias, penalties), or an error for a bad row.
  absl::Status LoadRow(std::span<const float> logits);
  // Top-k, then softmax and the truncations on the candidates.
  Kept TruncateTopK(float max, float inv_temperature);
  // min-p alone (top-k and top-p off): only the tokens near the threshold get an exp.
  Kept TruncateMinP(float max, float inv_temperature);
  // Top-p (and min-p, if on) when top-k is off: row_ holds probabilities summing to
  // total.
  Kept TruncateRow(double total);
  // The params_.top_logprobs best tokens of row_ into *result, with their processed
  // logits in place of log-probabilities.
  void CollectTop(SampleResult* result) const;
  // The processed logit of one token, bit-identical to LoadRow's.
  float ProcessedLogit(std::span<const float> logits, TokenId token) const;
  // Inverse-CDF draws for target in [0, total).
  TokenId DrawFromRow(double target) const;
  TokenId DrawFromCandidates(size_t count, double target) const;

  SamplingParams params_;
  int32_t vocab_size_;
  bool greedy_;
  bool use_top_k_;
  bool want_logprobs_;
  Xoshiro256StarStar rng_;
  PenaltyState penalties_;
  std::vector<std::pair<TokenId, float>> bias_;  // sorted by token
  std::vector<float> row_;                       // [vocab_size]
  std::vector<double> block_sums_;               // [NumRowBlocks(vocab_size)] or empty
  std::vector<Candidate> candidates_;            // [top_k], [vocab_size] or empty
  double log_sum_exp_ = 0.0;                     // of the last processed row
};

}  // namespace smollm::runtime

// Sampler: bias, penalties, greedy or top-k / temperature / top-p / min-p, then a draw.
#include "runtime/sampling/sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/sampling/row_kernels.h"

namespace smollm::runtime {
namespace {

// Nucleus search without top-k: tokens with probability >= this (relative to the most
// probable, which scores 1) are collected first; if they do not hold top_p of the mass,
// the threshold drops by kNucleusThresholdStep and the row is scanned again.
constexpr float kFirstNucleusThreshold = 0x1.0p-10f;
constexpr float kNucleusThresholdStep = 0x1.0p-10f;
constexpr float kLastNucleusThreshold = 0x1.0p-100f;  // below it: collect everything

}  // namespace

absl::StatusOr<Sampler> Sampler::Create(const SamplingParams& params, int32_t vocab_size) {
  RETURN_IF_ERROR(Validate(params, vocab_size));
  return Sampler(params, vocab_size);
}

Sampler::Sampler(const SamplingParams& params, int32_t vocab_size)
    : params_(params),
      vocab_size_(vocab_size),
      greedy_(params.temperature < kGreedyTemperature),
      use_top_k_(params.top_k > 0 && params.top_k < vocab_size),
      want_logprobs_(params.logprobs || params.top_logprobs > 0),
      rng_(params.seed),
      penalties_(params, vocab_size),
      bias_(params.logit_bias.begin(), params.logit_bias.end()),
      row_(static_cast<size_t>(vocab_size)) {
  std::sort(bias_.begin(), bias_.end());
  if (greedy_) return;
  if (use_top_k_) {
    candidates_.resize(static_cast<size_t>(params.top_k));
    return;
  }
  block_sums_.resize(NumRowBlocks(row_.size()));
  if (params.top_p < 1.0f || params.min_p > 0.0f) candidates_.resize(row_.size());
}

absl::Status Sampler::LoadRow(std::span<const float> logits) {
  if (logits.size() != row_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logits row has ", logits.size(), " entries; the vocabulary has ", vocab_size_));
  }
  if (!CopyRowChecked(logits, row_)) {
    for (size_t i = 0; i < logits.size(); ++i) {
      if (!(logits[i] < INFINITY)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "logits[", i, "] is ", logits[i], "; logits must be finite or -inf"));
      }
    }
  }
  for (const auto& [token, bias] : bias_) row_[static_cast<size_t>(token)] += bias;
  if (penalties_.active()) penalties_.Apply(row_);
  return absl::OkStatus();
}

float Sampler::ProcessedLogit(std::span<const float> logits, TokenId token) const {
  float logit = logits[static_cast<size_t>(token)];
  const auto it = std::lower_bound(bias_.begin(), bias_.end(), std::pair(token, -INFINITY));
  if (it != bias_.end() && it->first == token) logit += it->second;
  return penalties_.active() ? penalties_.Penalize(token, logit) : logit;
}

void Sampler::CollectTop(SampleResult* result) const {
  std::array<Candidate, kMaxTopLogprobs> best;
  const size_t count =
      SelectTopK(row_, static_cast<size_t>(params_.top_logprobs), best);
  std::sort(best.begin(), best.begin() + count, Before);
  result->num_top = static_cast<int32_t>(count);
  // Processed logits for now; Process subtracts the log-sum-exp once it is known.
  for (size_t i = 0; i < count; ++i) result->top[i] = {best[i].token, best[i].score};
}

Sampler::Kept Sampler::TruncateTopK(float max, float inv_temperature) {
  const size_t k = SelectTopK(row_, static_cast<size_t>(params_.top_k), candidates_);
  std::span<Candidate> kept(candidates_.data(), k);
  double total = 0.0;
  for (Candidate& c : kept) {
    c.score = ExpNonPositive((c.score - max) * inv_temperature);
    total += c.score;
  }
  if (params_.top_p < 1.0f) kept = kept.first(SelectTopP(kept, total, params_.top_p));
  // The most probable token scores exactly 1 and survives top-k and top-p, so min-p's
  // threshold relative to it is min_p itself.
  if (params_.min_p > 0.0f) kept = kept.first(KeepAtLeast(kept, params_.min_p));
  if (kept.size() != k) {
    total = 0.0;
    for (const Candidate& c : kept) total += c.score;
  }
  return Kept{KeptIn::kCandidates, kept.size(), total, -1};
}

Sampler::Kept Sampler::TruncateRow(double total) {
  // Every token at or above a threshold precedes every token below it in `Before` order,
  // so once the tokens above it hold top_p of the mass, the nucleus is among them. With
  // min_p on, the answer lies among the tokens >= min_p whatever their mass: the nucleus
  // if they hold enough (it is then all >= min_p), else all of them.
  const double target = static_cast<double>(params_.top_p) * total;
  float threshold = params_.min_p > 0.0f ? params_.min_p : kFirstNucleusThreshold;
  Collected collected;
  while (true) {
    collected = CollectAtLeast(row_, threshold, candidates_);
    if (collected.mass >= target || params_.min_p > 0.0f || threshold == 0.0f) break;
    threshold *= kNucleusThresholdStep;
    if (threshold < kLastNucleusThreshold) threshold = 0.0f;
  }
  if (collected.mass >= target) {
    collected.count =
        SelectTopP(std::span(candidates_.data(), collected.count), total, params_.top_p);
  }
  double kept_total = 0.0;
  for (size_t i = 0; i < collected.count; ++i) kept_total += candidates_[i].score;
  return Kept{KeptIn::kCandidates, collected.count, kept_total, -1};
}

Sampler::Kept Sampler::TruncateMinP(float max, float inv_temperature) {
  // p >= min_p  <=>  (logit - max) * inv_temperature >= ln(min_p). The logit bound is
  // loosened by a margin far above any rounding of this test or of ExpNonPositive, and
  // the exact test below then keeps the same tokens, with the same probabilities, as
  // the softmax over the whole row followed by the filter would.
  const float bound = max + std::log(params_.min_p) / inv_temperature;
  const float margin = 1e-2f + 1e-3f * (std::fabs(max) + std::fabs(bound));
  const Collected collected = CollectAtLeast(row_, bound - margin, candidates_);
  size_t kept = 0;
  double total = 0.0;
  for (size_t i = 0; i < collected.count; ++i) {
    Candidate c = candidates_[i];
    c.score = ExpNonPositive((c.score - max) * inv_temperature);
    if (c.score >= params_.min_p) {
      candidates_[kept++] = c;
      total += c.score;
    }
  }
  return Kept{KeptIn::kCandidates, kept, total, -1};
}

absl::StatusOr<Sampler::Kept> Sampler::Process(std::span<const float> logits,
                                               SampleResult* result) {
  RETURN_IF_ERROR(LoadRow(logits));
  const float max = RowMax(row_);
  if (max == -INFINITY) {
    return absl::InvalidArgumentError(
        "no token can be sampled: every logit is -inf after logit_bias and penalties");
  }
  // Alternatives first: later steps overwrite row_ with probabilities.
  if (params_.top_logprobs > 0) CollectTop(result);
  const Kept kept = Truncate(max);
  for (int32_t i = 0; i < result->num_top; ++i) {
    float& logprob = result->top[static_cast<size_t>(i)].logprob;
    logprob = static_cast<float>(static_cast<double>(logprob) - log_sum_exp_);
  }
  return kept;
}

Sampler::Kept Sampler::Truncate(float max) {
  const float inv_temperature = greedy_ ? 1.0f : 1.0f / params_.temperature;
  // min-p alone needs no normaliser, so it skips the softmax over the row.
  const bool min_p_only = !greedy_ && !use_top_k_ && params_.top_p >= 1.0f &&
                          params_.min_p > 0.0f;
  // At temperature 1 the softmax computes exactly the terms of the log-sum-exp, so its
  // total serves and the extra pass is skipped.
  const bool lse_from_softmax =
      !greedy_ && !use_top_k_ && !min_p_only && inv_temperature == 1.0f;
  if (want_logprobs_ && !lse_from_softmax) {
    log_sum_exp_ = static_cast<double>(max) + std::log(RowSumExp(row_, max));
  }
  if (greedy_) {  // the first maximum: ties go to the lowest id
    return Kept{KeptIn::kGreedy, 1, 1.0, static_cast<TokenId>(RowFind(row_, max))};
  }
  if (use_top_k_) return TruncateTopK(max, inv_temperature);
  if (min_p_only) return TruncateMinP(max, inv_temperature);

  const double total = RowSoftmaxInPlace(row_, max, inv_temperature, block_sums_);
  if (want_logprobs_ && lse_from_softmax) {
    log_sum_exp_ = static_cast<double>(max) + std::log(total);
  }
  if (params_.top_p < 1.0f) return TruncateRow(total);
  return Kept{KeptIn::kRow, row_.size(), total, -1};
}

TokenId Sampler::DrawFromRow(double target) const {
  // Find the block, then the token inside it. Rounding can leave target at or past a
  // sum: the last token of non-zero probability before that point takes it then.
  double cumulative = 0.0;
  size_t block = 0;
  while (block < block_sums_.size() && !(target < cumulative + block_sums_[block])) {
    cumulative += block_sums_[block++];
  }
  if (block == block_sums_.size()) {
    for (size_t i = row_.size(); i-- > 0;) {
      if (row_[i] > 0.0f) return static_cast<TokenId>(i);
    }
    return 0;  // unreachable: the maximum has probability 1
  }
  const size_t start = block * kRowBlock;
  const size_t end = std::min(row_.size(), start + kRowBlock);
  size_t last_nonzero = start;
  for (size_t i = start; i < end; ++i) {
    if (row_[i] <= 0.0f) continue;
    last_nonzero = i;
    cumulative += row_[i];
    if (target < cumulative) return static_cast<TokenId>(i);
  }
  return static_cast<TokenId>(last_nonzero);
}

TokenId Sampler::DrawFromCandidates(size_t count, double target) const {
  double cumulative = 0.0;
  size_t last_nonzero = 0;
  for (size_t i = 0; i < count; ++i) {
    const float p = candidates_[i].score;
    if (p <= 0.0f) continue;
    last_nonzero = i;
    cumulative += p;
    if (target < cumulative) return candidates_[i].token;
  }
  return candidates_[last_nonzero].token;
}

absl::StatusOr<SampleResult> Sampler::Sample(std::span<const float> logits) {
  SampleResult result;
  ASSIGN_OR_RETURN(const Kept kept, Process(logits, &result));
  switch (kept.where) {
    case KeptIn::kGreedy:
      result.token = kept.greedy_token;
      break;
    case KeptIn::kRow:
      result.token = DrawFromRow(rng_.NextDouble() * kept.total);
      break;
    case KeptIn::kCandidates:
      result.token = DrawFromCandidates(kept.count, rng_.NextDouble() * kept.total);
      break;
  }
  if (want_logprobs_) {
    result.logprob = static_cast<float>(
        static_cast<double>(ProcessedLogit(logits, result.token)) - log_sum_exp_);
  }
  return result;
}

absl::Status Sampler::Distribution(std::span<const float> logits, std::vector<float>* probs) {
  SampleResult unused;
  ASSIGN_OR_RETURN(const Kept kept, Process(logits, &unused));
  probs->assign(row_.size(), 0.0f);
  switch (kept.where) {
    case KeptIn::kGreedy:
      (*probs)[static_cast<size_t>(kept.greedy_token)] = 1.0f;
      break;
    case KeptIn::kRow:
      for (size_t i = 0; i < row_.size(); ++i) {
        (*probs)[i] = static_cast<float>(row_[i] / kept.total);
      }
      break;
    case KeptIn::kCandidates:
      for (size_t i = 0; i < kept.count; ++i) {
        (*probs)[static_cast<size_t>(candidates_[i].token)] =
            static_cast<float>(candidates_[i].score / kept.total);
      }
      break;
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime

// Plain scalar reference of the sampling semantics documented in sampling_params.h:
// full sorts, double precision, no shortcuts. The tests compare the sampler against it.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/core/types.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::runtime::reference {

struct History {
  std::vector<TokenId> prompt;     // AcceptPrompt
  std::vector<TokenId> generated;  // Accept
};

// logits + bias, then the repetition penalty over the last repetition_window tokens of
// prompt + generated, then presence/frequency over the generated tokens. Float, in the
// documented order, so the results are bit-identical to the sampler's.
inline std::vector<float> ProcessedLogits(std::span<const float> logits,
                                          const SamplingParams& params,
                                          const History& history) {
  std::vector<float> out(logits.begin(), logits.end());
  for (const auto& [token, bias] : params.logit_bias) out[static_cast<size_t>(token)] += bias;
  std::vector<TokenId> all = history.prompt;
  all.insert(all.end(), history.generated.begin(), history.generated.end());
  const size_t window = static_cast<size_t>(params.repetition_window);
  std::vector<bool> in_window(out.size(), false);
  for (size_t i = all.size() > window ? all.size() - window : 0; i < all.size(); ++i) {
    in_window[static_cast<size_t>(all[i])] = true;
  }
  std::vector<int32_t> count(out.size(), 0);
  for (TokenId t : history.generated) ++count[static_cast<size_t>(t)];
  const bool repetition = params.repetition_penalty != 1.0f && window > 0;
  const bool counts = params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f;
  for (size_t t = 0; t < out.size(); ++t) {
    float& l = out[t];
    if (repetition && in_window[t]) {
      l = l > 0.0f ? std::min(l / params.repetition_penalty, FLT_MAX)
                   : l * params.repetition_penalty;
    }
    if (counts && count[t] > 0) {
      l -= params.presence_penalty + params.frequency_penalty * static_cast<float>(count[t]);
    }
  }
  return out;
}

// Tokens by processed logit, descending, ties to the lower id.
inline std::vector<TokenId> Order(const std::vector<float>& processed) {
  std::vector<TokenId> order(processed.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<TokenId>(i);
  std::stable_sort(order.begin(), order.end(), [&](TokenId a, TokenId b) {
    return processed[static_cast<size_t>(a)] > processed[static_cast<size_t>(b)];
  });
  return order;
}

// The normalised distribution drawn from. *ambiguous is set when a top-p or min-p
// boundary lies so close to the threshold that float rounding in the sampler (its
// probabilities carry a relative error of a few 1e-7) may legitimately decide it the
// other way: a prefix mass within 1e-6 of the total from the top-p target, or a
// probability within 1e-5 (relative) of min_p.
inline std::vector<double> Distribution(const std::vector<float>& processed,
                                        const SamplingParams& params, bool* ambiguous) {
  *ambiguous = false;
  const size_t n = processed.size();
  std::vector<double> probs(n, 0.0);
  const std::vector<TokenId> order = Order(processed);
  if (params.temperature < kGreedyTemperature) {
    probs[static_cast<size_t>(order[0])] = 1.0;
    return probs;
  }
  size_t kept = n;
  if (params.top_k > 0) kept = std::min(kept, static_cast<size_t>(params.top_k));
  const double max = processed[static_cast<size_t>(order[0])];
  std::vector<double> p(kept);
  double total = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    p[i] = std::exp((processed[static_cast<size_t>(order[i])] - max) / params.temperature);
    total += p[i];
  }
  if (params.top_p < 1.0f) {
    const double target = params.top_p * total;
    double mass = 0.0;
    size_t m = 0;
    while (m < kept) {
      mass += p[m++];
      if (std::fabs(mass - target) < 1e-6 * total) *ambiguous = true;
      if (mass >= target) break;
    }
    kept = m;
  }
  if (params.min_p > 0.0f) {
    size_t m = 0;
    for (size_t i = 0; i < kept; ++i) {
      if (std::fabs(p[i] - params.min_p) < 1e-5 * params.min_p) *ambiguous = true;
      if (p[i] >= params.min_p) ++m;  // p is decreasing along the order
    }
    kept = m;
  }
  double kept_total = 0.0;
  for (size_t i = 0; i < kept; ++i) kept_total += p[i];
  for (size_t i = 0; i < kept; ++i) probs[static_cast<size_t>(order[i])] = p[i] / kept_total;
  return probs;
}

// log_softmax of the processed logits (the documented logprob distribution).
inline std::vector<double> LogSoftmax(const std::vector<float>& processed) {
  double max = -INFINITY;
  for (float v : processed) max = std::max(max, static_cast<double>(v));
  double sum = 0.0;
  for (float v : processed) sum += std::exp(v - max);
  std::vector<double> out(processed.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = processed[i] - max - std::log(sum);
  return out;
}

}  // namespace smollm::runtime::reference

// Repetition, presence and frequency penalties over a sequence's token history.
#include "runtime/sampling/penalties.h"

#include <algorithm>
#include <cfloat>

#include "absl/strings/str_cat.h"

namespace smollm::runtime {
namespace {

absl::Status CheckToken(TokenId token, int32_t vocab_size) {
  if (token >= 0 && token < vocab_size) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "token id ", token, " is outside the vocabulary [0, ", vocab_size, ")"));
}

}  // namespace

PenaltyState::PenaltyState(const SamplingParams& params, int32_t vocab_size)
    : repetition_on_(params.repetition_penalty != 1.0f && params.repetition_window > 0),
      counts_on_(params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f),
      repetition_penalty_(params.repetition_penalty),
      presence_penalty_(params.presence_penalty),
      frequency_penalty_(params.frequency_penalty),
      vocab_size_(vocab_size) {
  if (repetition_on_) {
    window_.assign(static_cast<size_t>(params.repetition_window), 0);
    window_count_.assign(static_cast<size_t>(vocab_size), 0);
  }
  if (counts_on_) {
    generated_count_.assign(static_cast<size_t>(vocab_size), 0);
    generated_distinct_.reserve(
        static_cast<size_t>(std::min(params.max_tokens, vocab_size)));
  }
}

void PenaltyState::PushWindow(TokenId token) {
  if (window_used_ == window_.size()) {
    --window_count_[static_cast<size_t>(window_[window_head_])];
  } else {
    ++window_used_;
  }
  window_[window_head_] = token;
  ++window_count_[static_cast<size_t>(token)];
  window_head_ = window_head_ + 1 == window_.size() ? 0 : window_head_ + 1;
}

absl::Status PenaltyState::AcceptPrompt(std::span<const TokenId> tokens) {
  for (TokenId token : tokens) {
    if (absl::Status s = CheckToken(token, vocab_size_); !s.ok()) return s;
  }
  if (!repetition_on_) return absl::OkStatus();
  const size_t skip = tokens.size() > window_.size() ? tokens.size() - window_.size() : 0;
  for (TokenId token : tokens.subspan(skip)) PushWindow(token);
  return absl::OkStatus();
}

absl::Status PenaltyState::Accept(TokenId token) {
  if (absl::Status s = CheckToken(token, vocab_size_); !s.ok()) return s;
  if (repetition_on_) PushWindow(token);
  if (counts_on_) {
    int32_t& count = generated_count_[static_cast<size_t>(token)];
    if (count == 0) generated_distinct_.push_back(token);
    if (count < INT32_MAX) ++count;
  }
  return absl::OkStatus();
}

float PenaltyState::Penalize(TokenId token, float logit) const {
  const auto t = static_cast<size_t>(token);
  if (repetition_on_ && window_count_[t] != 0) {
    // Dividing a positive logit by a penalty < 1 can overflow; keep it finite so the
    // softmax never sees +inf - +inf.
    logit = logit > 0.0f ? std::min(logit / repetition_penalty_, FLT_MAX)
                         : logit * repetition_penalty_;
  }
  if (counts_on_ && generated_count_[t] > 0) {
    logit -= presence_penalty_ + frequency_penalty_ * static_cast<float>(generated_count_[t]);
  }
  return logit;
}

void PenaltyState::Apply(std::span<float> logits) {
  if (counts_on_) {
    // Penalize also applies the repetition penalty to a generated token still in the
    // window, so the window loop below skips generated tokens.
    for (TokenId token : generated_distinct_) {
      float& logit = logits[static_cast<size_t>(token)];
      logit = Penalize(token, logit);
    }
  }
  if (!repetition_on_) return;
  // The window holds repeats; each distinct token must be penalised exactly once. A
  // visited token's count is negated (it stays non-zero, which is all Penalize reads)
  // and restored by the second loop, so no per-call marker array is needed.
  for (size_t i = 0; i < window_used_; ++i) {
    const TokenId token = window_[i];
    int32_t& count = window_count_[static_cast<size_t>(token)];
    if (count <= 0) continue;  // visited already
    if (!counts_on_ || generated_count_[static_cast<size_t>(token)] == 0) {
      float& logit = logits[static_cast<size_t>(token)];
      logit = Penalize(token, logit);
    }
    count = -count;
  }
  for (size_t i = 0; i < window_used_; ++i) {
    int32_t& count = window_count_[static_cast<size_t>(window_[i])];
    if (count < 0) count = -count;
  }
}

}  // namespace smollm::runtime

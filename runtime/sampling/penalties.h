// Token history of one sequence and the penalties it implies: repetition (window) and
// presence/frequency (generated tokens).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/types.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::runtime {

// Not thread-safe. Everything is allocated by the constructor, and only for the
// penalties that are on; Accept and Apply then never allocate (see Accept).
class PenaltyState {
 public:
  // `params` must have passed Validate(params, vocab_size).
  PenaltyState(const SamplingParams& params, int32_t vocab_size);

  PenaltyState(PenaltyState&&) = default;
  PenaltyState& operator=(PenaltyState&&) = default;
  PenaltyState(const PenaltyState&) = delete;
  PenaltyState& operator=(const PenaltyState&) = delete;

  // Prompt (or any context) tokens: they enter the repetition window only. Only the last
  // repetition_window of them matter. InvalidArgument for an id outside the vocabulary,
  // and then nothing is recorded.
  absl::Status AcceptPrompt(std::span<const TokenId> tokens);

  // A generated token: enters the repetition window and the generated counts.
  // InvalidArgument for an id outside the vocabulary (nothing is recorded). Allocates
  // only when more distinct tokens have been generated than min(max_tokens, vocab_size),
  // which an engine that honours max_tokens never reaches.
  absl::Status Accept(TokenId token);

  // Penalises logits[t] for every token t in the history; `logits` is a whole row.
  void Apply(std::span<float> logits);

  // The same penalty for one logit: what Apply does to logits[token].
  float Penalize(TokenId token, float logit) const;

  bool active() const { return repetition_on_ || counts_on_; }

 private:
  bool repetition_on_ = false;
  bool counts_on_ = false;
  float repetition_penalty_ = 1.0f;
  float presence_penalty_ = 0.0f;
  float frequency_penalty_ = 0.0f;
  int32_t vocab_size_ = 0;

  // Repetition window: a ring of the last `window_.size()` tokens and, per token, how
  // many times it occurs in the ring. [window] and [vocab_size].
  std::vector<TokenId> window_;
  size_t window_head_ = 0;  // next slot to write
  size_t window_used_ = 0;
  std::vector<int32_t> window_count_;

  // Generated tokens: per-token count and the distinct tokens in first-seen order.
  // [vocab_size] and [<= min(max_tokens, vocab_size) reserved].
  std::vector<int32_t> generated_count_;
  std::vector<TokenId> generated_distinct_;

  void PushWindow(TokenId token);
};

}  // namespace smollm::runtime

// Per-request sampling and stopping options, their documented limits and Validate().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/core/types.h"

namespace smollm::runtime {

// Limits enforced by Validate(). They bound the per-sequence memory and the per-token
// work of the sampler and of StopCriteria, whatever a client sends.
inline constexpr float kMaxTemperature = 100.0f;
// A temperature in (0, kGreedyTemperature) is treated as 0 (greedy): dividing logits by
// such a value only overflows, and the result would be greedy anyway.
inline constexpr float kGreedyTemperature = 1e-5f;
inline constexpr float kMinRepetitionPenalty = 0.01f;
inline constexpr float kMaxRepetitionPenalty = 10.0f;
inline constexpr int32_t kMaxRepetitionWindow = 65536;  // tokens (the model's context)
inline constexpr float kMaxAbsPresencePenalty = 2.0f;   // OpenAI's range, [-2, 2]
inline constexpr float kMaxAbsFrequencyPenalty = 2.0f;  // OpenAI's range, [-2, 2]
inline constexpr float kMaxAbsLogitBias = 100.0f;       // finite biases; -inf bans
inline constexpr int32_t kMaxLogitBiasEntries = 1024;
inline constexpr int32_t kMaxTokensLimit = 1 << 20;  // the engine also checks the context
inline constexpr int32_t kMaxStopTokenIds = 64;
inline constexpr int32_t kMaxStopStrings = 16;
inline constexpr int32_t kMaxStopStringBytes = 256;
inline constexpr int32_t kMaxTopLogprobs = 20;

// Options of one generated sequence. Plain data: copy it freely. Validate() before use;
// Sampler::Create and StopCriteria::Create do.
//
// Processing order for each sampled token (Sampler):
//   logit_bias -> repetition penalty -> presence/frequency penalties
//   -> (temperature == 0: argmax) -> top_k -> temperature -> softmax -> top_p -> min_p
//   -> draw.
struct SamplingParams {
  // Divides the logits before the softmax. 0 = greedy: the highest processed logit wins,
  // ties going to the lowest token id. Range [0, kMaxTemperature].
  float temperature = 1.0f;

  // Keep only the k highest logits (ties: lower token id first). 0 = off.
  // Range [0, vocab_size]; vocab_size keeps everything.
  int32_t top_k = 0;

  // Nucleus: keep the smallest set of most probable tokens (in the order of top_k) whose
  // probability mass reaches top_p; at least one token is always kept, so 0 keeps only
  // the most probable token. 1 = off. Range [0, 1].
  float top_p = 1.0f;

  // Keep tokens whose probability is at least min_p times that of the most probable
  // token (probabilities after temperature). 0 = off. Range [0, 1].
  float min_p = 0.0f;

  // llama.cpp/CTRL repetition penalty over the distinct tokens among the last
  // `repetition_window` tokens of the sequence (prompt tokens the engine passes to
  // Sampler::AcceptPrompt, then generated tokens): a positive logit is divided by it, a
  // negative one multiplied. 1 = off. Range [kMinRepetitionPenalty, kMaxRepetitionPenalty].
  float repetition_penalty = 1.0f;
  // Window of the repetition penalty in tokens. 0 = off. Range [0, kMaxRepetitionWindow].
  int32_t repetition_window = 64;

  // OpenAI-style penalties over the GENERATED tokens only (those passed to
  // Sampler::Accept; prompt tokens never count): for a token generated c times so far,
  // logit -= presence_penalty * (c > 0) + frequency_penalty * c.
  // 0 = off. Each in [-2, 2] (kMaxAbsPresencePenalty, kMaxAbsFrequencyPenalty); a
  // negative value encourages repetition.
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;

  // token id -> additive bias on its logit, in [-kMaxAbsLogitBias, kMaxAbsLogitBias] or
  // -infinity (the token can never be produced). At most kMaxLogitBiasEntries entries,
  // every id inside the vocabulary.
  absl::flat_hash_map<TokenId, float> logit_bias;

  // Seed of the sequence's random generator: the same seed, params and logits give the
  // same tokens. A request without a seed should get a random one from the engine.
  uint64_t seed = 0;

  // Generation ends after this many generated tokens (finish reason kMaxTokens).
  // Range [1, kMaxTokensLimit].
  int32_t max_tokens = 256;

  // Generation ends when one of these is sampled; its text is not emitted. The engine
  // adds the model's end-of-sequence token itself. At most kMaxStopTokenIds, in vocab.
  std::vector<TokenId> stop_token_ids;

  // Generation ends when the text ends with one of these; neither it nor anything after
  // it is emitted. At most kMaxStopStrings, each 1..kMaxStopStringBytes bytes of valid
  // UTF-8 (so holding one back never splits a character).
  std::vector<std::string> stop_strings;

  // Report the log-probability of each sampled token (SampleResult::logprob). It costs
  // one more exp pass over the vocabulary per token unless temperature is 1 and top_k is
  // off (then the softmax's own sum serves).
  bool logprobs = false;

  // Alternatives reported with each token, most likely first; > 0 implies logprobs.
  // Range [0, kMaxTopLogprobs].
  int32_t top_logprobs = 0;
};

// OK, or InvalidArgument naming the first offending field, its value and its limit.
// vocab_size must be > 0. The message starts with the field's name as spelled here, then
// a space ("top_p must be in [0, 1] (1 = off), got 2"), and the same name rides as the
// payload kSamplingFieldPayloadUrl ("top_p", "logit_bias[7]", "stop_strings[2]"), so a
// caller can readdress the error to its own field path (SamplingFieldError).
absl::Status Validate(const SamplingParams& params, int32_t vocab_size);

inline constexpr char kSamplingFieldPayloadUrl[] = "type.smollm.dev/sampling-field";

// A Validate() error taken apart: the field it names and what is wrong with it, the
// message after the field's name. nullopt for any other status (vocab_size's included).
struct SamplingFieldError {
  std::string field;
  std::string description;
};
std::optional<SamplingFieldError> GetSamplingFieldError(const absl::Status& status);

}  // namespace smollm::runtime

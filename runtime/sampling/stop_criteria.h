// End-of-generation detection (stop tokens, stop strings, max tokens) on the streamed
// text, holding back whatever might still become a stop string.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::runtime {

enum class FinishReason {
  kNone,        // still generating
  kStopToken,   // a stop token (or the model's end-of-sequence token) was sampled
  kStopString,  // the text reached a stop string
  kMaxTokens,   // max_tokens tokens were generated
  kLength,      // the context is full: decided by the engine, never by StopCriteria
  kCancelled,   // the client went away: decided by the engine, never by StopCriteria
};

std::string_view FinishReasonName(FinishReason reason);

// What one Feed returns.
struct StopUpdate {
  std::string text;  // safe to send to the client now (may be empty)
  bool finished = false;
  FinishReason reason = FinishReason::kNone;
};

// One per sequence; not thread-safe. Feed it every generated token with its text piece
// (valid UTF-8, e.g. from StreamDecoder); it returns the text that can be streamed.
//
// Stop strings are matched on the bytes of the concatenated text, across token
// boundaries. Generation stops at the first point where the text ends with a stop
// string (of the strings ending there, the longest); the text before that occurrence is
// emitted and the stop string and anything after it are dropped. Until then, the
// longest end of the text that is the start of some stop string is held back, so a
// client never sees part of a stop string. Since stop strings are valid UTF-8, the held
// part starts on a character boundary and the emitted text is always whole characters.
//
// Cost: each stop string keeps a Knuth-Morris-Pratt state, so a byte costs amortised
// O(number of stop strings) (at most 16), and at most 255 bytes are held.
class StopCriteria {
 public:
  // `extra_stop_tokens` (e.g. the model's end-of-sequence ids) act like
  // params.stop_token_ids. InvalidArgument when Validate(params, vocab_size) fails or an
  // extra id is outside the vocabulary.
  static absl::StatusOr<StopCriteria> Create(const SamplingParams& params,
                                             int32_t vocab_size,
                                             std::span<const TokenId> extra_stop_tokens = {});

  // One generated token and the text it completed. In this order:
  //  - a stop token: finished (kStopToken); the held text is released, the piece is not;
  //  - a stop string completed inside held text + piece: finished (kStopString);
  //  - the max_tokens-th token: finished (kMaxTokens) with all remaining text released;
  //  - otherwise the text that can no longer start a stop string.
  // After finishing, every call returns {"", true, the same reason}.
  StopUpdate Feed(TokenId token, std::string_view piece);

  // The end of the stream for another reason (context full, cancel, the engine's own
  // stop): releases the held text (it was not a stop string). Returns "" once finished.
  std::string Flush();

  bool finished() const { return reason_ != FinishReason::kNone; }
  FinishReason reason() const { return reason_; }
  int32_t num_tokens() const { return num_tokens_; }
  size_t held_bytes() const { return held_.size(); }

 private:
  struct Pattern {
    std::string text;
    std::vector<uint16_t> failure;  // KMP: longest proper border of text[0, i] for each i
    size_t state = 0;               // bytes of `text` matched at the end of the stream
  };

  StopCriteria() = default;
  // Advances every pattern by one byte; returns the longest pattern completed, or 0.
  size_t Step(char byte);

  std::vector<TokenId> stop_tokens_;  // sorted
  std::vector<Pattern> patterns_;
  std::string held_;  // reserved to the longest stop string
  int32_t max_tokens_ = 0;
  int32_t num_tokens_ = 0;
  FinishReason reason_ = FinishReason::kNone;
};

}  // namespace smollm::runtime

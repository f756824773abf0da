// StopCriteria: stop tokens, max tokens, and KMP stop-string matching over streamed text.
#include "runtime/sampling/stop_criteria.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"

namespace smollm::runtime {

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStopToken: return "stop_token";
    case FinishReason::kStopString: return "stop_string";
    case FinishReason::kMaxTokens: return "max_tokens";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

absl::StatusOr<StopCriteria> StopCriteria::Create(const SamplingParams& params,
                                                  int32_t vocab_size,
                                                  std::span<const TokenId> extra_stop_tokens) {
  RETURN_IF_ERROR(Validate(params, vocab_size));
  StopCriteria stop;
  stop.max_tokens_ = params.max_tokens;
  stop.stop_tokens_ = params.stop_token_ids;
  for (TokenId token : extra_stop_tokens) {
    if (token < 0 || token >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "extra stop token id ", token, " is outside the vocabulary [0, ", vocab_size, ")"));
    }
    stop.stop_tokens_.push_back(token);
  }
  std::sort(stop.stop_tokens_.begin(), stop.stop_tokens_.end());
  stop.stop_tokens_.erase(std::unique(stop.stop_tokens_.begin(), stop.stop_tokens_.end()),
                          stop.stop_tokens_.end());

  size_t longest = 0;
  for (const std::string& text : params.stop_strings) {
    Pattern pattern{text, std::vector<uint16_t>(text.size(), 0), 0};
    // failure[i]: length of the longest proper prefix of text[0, i] that is also its
    // suffix (the classic KMP prefix function).
    for (size_t i = 1, k = 0; i < text.size(); ++i) {
      while (k > 0 && text[i] != text[k]) k = pattern.failure[k - 1];
      if (text[i] == text[k]) ++k;
      pattern.failure[i] = static_cast<uint16_t>(k);
    }
    longest = std::max(longest, text.size());
    stop.patterns_.push_back(std::move(pattern));
  }
  stop.held_.reserve(longest);
  return stop;
}

size_t StopCriteria::Step(char byte) {
  size_t completed = 0;
  for (Pattern& p : patterns_) {
    size_t s = p.state;
    while (s > 0 && p.text[s] != byte) s = p.failure[s - 1];
    if (p.text[s] == byte) ++s;
    if (s == p.text.size()) {
      completed = std::max(completed, s);
      s = p.failure[s - 1];
    }
    p.state = s;
  }
  return completed;
}

StopUpdate StopCriteria::Feed(TokenId token, std::string_view piece) {
  StopUpdate update;
  if (finished()) {
    update.finished = true;
    update.reason = reason_;
    return update;
  }
  ++num_tokens_;
  if (std::binary_search(stop_tokens_.begin(), stop_tokens_.end(), token)) {
    reason_ = FinishReason::kStopToken;
    update.text = std::move(held_);
    held_.clear();
    update.finished = true;
    update.reason = reason_;
    return update;
  }

  // The stream's unsent tail is held_ + piece; positions below index into it.
  for (size_t i = 0; i < piece.size(); ++i) {
    const size_t matched = Step(piece[i]);
    if (matched == 0) continue;
    // Each pattern's state was at most held_.size() before this piece and grows by at
    // most one per byte, so the match starts inside held_ + piece.
    const size_t start = held_.size() + i + 1 - matched;
    if (start <= held_.size()) {
      update.text.assign(held_, 0, start);
    } else {
      update.text = held_;
      update.text.append(piece.substr(0, start - held_.size()));
    }
    held_.clear();
    reason_ = FinishReason::kStopString;
    update.finished = true;
    update.reason = reason_;
    return update;
  }

  // Hold back the longest end of the stream that is the start of some stop string.
  size_t hold = 0;
  for (const Pattern& p : patterns_) hold = std::max(hold, p.state);
  const size_t total = held_.size() + piece.size();
  const size_t emit = total - hold;
  if (emit <= held_.size()) {
    update.text.assign(held_, 0, emit);
    held_.erase(0, emit);
    held_.append(piece);
  } else {
    update.text = held_;
    update.text.append(piece.substr(0, emit - held_.size()));
    held_.assign(piece.substr(emit - held_.size()));
  }

  if (num_tokens_ >= max_tokens_) {
    reason_ = FinishReason::kMaxTokens;
    update.text.append(held_);
    held_.clear();
    update.finished = true;
    update.reason = reason_;
  }
  return update;
}

std::string StopCriteria::Flush() {
  std::string text = std::move(held_);
  held_.clear();
  for (Pattern& p : patterns_) p.state = 0;  // nothing held: no partial match remains
  return text;
}

}  // namespace smollm::runtime

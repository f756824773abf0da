// Validate(): every SamplingParams field checked against its documented limit.
#include "runtime/sampling/sampling_params.h"

#include <cmath>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/status.h"

namespace smollm::runtime {
namespace {

// InvalidArgument "<field> <description>" carrying `field` as its payload.
absl::Status FieldInvalid(std::string_view field, std::string_view description) {
  const absl::string_view name(field.data(), field.size());
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat(name, " ", absl::string_view(description.data(), description.size())));
  status.SetPayload(kSamplingFieldPayloadUrl, absl::Cord(name));
  return status;
}

// NaN fails every comparison, so `!(lo <= v && v <= hi)` rejects NaN and infinities too.
absl::Status CheckRange(std::string_view field, float value, float lo, float hi,
                        std::string_view note = "") {
  if (lo <= value && value <= hi) return absl::OkStatus();
  return FieldInvalid(field,
                      absl::StrFormat("must be in [%g, %g]%s, got %g", lo, hi, note, value));
}

absl::Status CheckIntRange(std::string_view field, int64_t value, int64_t lo, int64_t hi,
                        std::string_view note = "") {
  if (lo <= value && value <= hi) return absl::OkStatus();
  return FieldInvalid(field,
                      absl::StrFormat("must be in [%d, %d]%s, got %d", lo, hi, note, value));
}

// Strict UTF-8 (no overlong forms, surrogates or values above U+10FFFF). The tokenizer
// has its own; sampling depends on core alone, and this is all it needs.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // overlong
      if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // overlong
      if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      const unsigned char klo = k == 1 ? lo : 0x80, khi = k == 1 ? hi : 0xBF;
      if (b < klo || b > khi) return false;
    }
    i += len;
  }
  return true;
}

absl::Status ValidateLogitBias(const SamplingParams& params, int32_t vocab_size) {
  if (params.logit_bias.size() > static_cast<size_t>(kMaxLogitBiasEntries)) {
    return FieldInvalid("logit_bias", absl::StrCat("has ", params.logit_bias.size(),
                                                   " entries; at most ", kMaxLogitBiasEntries,
                                                   " are allowed"));
  }
  for (const auto& [token, bias] : params.logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return FieldInvalid(absl::StrCat("logit_bias[", token, "]"),
                          absl::StrCat("is for token id ", token,
                                       ", outside the vocabulary [0, ", vocab_size, ")"));
    }
    if (bias == -INFINITY) continue;  // a ban
    RETURN_IF_ERROR(CheckRange(absl::StrCat("logit_bias[", token, "]"), bias,
                               -kMaxAbsLogitBias, kMaxAbsLogitBias, " or -inf"));
  }
  return absl::OkStatus();
}

absl::Status ValidateStops(const SamplingParams& params, int32_t vocab_size) {
  if (params.stop_token_ids.size() > static_cast<size_t>(kMaxStopTokenIds)) {
    return FieldInvalid("stop_token_ids", absl::StrCat("has ", params.stop_token_ids.size(),
                                                       " entries; at most ", kMaxStopTokenIds,
                                                       " are allowed"));
  }
  for (size_t i = 0; i < params.stop_token_ids.size(); ++i) {
    const TokenId token = params.stop_token_ids[i];
    if (token < 0 || token >= vocab_size) {
      return FieldInvalid(absl::StrCat("stop_token_ids[", i, "]"),
                          absl::StrCat("is ", token, ", outside the vocabulary [0, ",
                                       vocab_size, ")"));
    }
  }
  if (params.stop_strings.size() > static_cast<size_t>(kMaxStopStrings)) {
    return FieldInvalid("stop_strings", absl::StrCat("has ", params.stop_strings.size(),
                                                     " entries; at most ", kMaxStopStrings,
                                                     " are allowed"));
  }
  for (size_t i = 0; i < params.stop_strings.size(); ++i) {
    const std::string& stop = params.stop_strings[i];
    const std::string field = absl::StrCat("stop_strings[", i, "]");
    if (stop.empty() || stop.size() > static_cast<size_t>(kMaxStopStringBytes)) {
      return FieldInvalid(field, absl::StrCat("is ", stop.size(), " bytes; it must be 1 to ",
                                              kMaxStopStringBytes, " bytes"));
    }
    if (!IsValidUtf8(stop)) return FieldInvalid(field, "is not valid UTF-8");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const SamplingParams& params, int32_t vocab_size) {
  if (vocab_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab_size must be positive, got ", vocab_size));
  }
  const absl::Status checks[] = {
      CheckRange("temperature", params.temperature, 0.0f, kMaxTemperature, " (0 = greedy)"),
      CheckIntRange("top_k", params.top_k, 0, vocab_size, " (0 = off)"),
      CheckRange("top_p", params.top_p, 0.0f, 1.0f, " (1 = off)"),
      CheckRange("min_p", params.min_p, 0.0f, 1.0f, " (0 = off)"),
      CheckRange("repetition_penalty", params.repetition_penalty, kMinRepetitionPenalty,
                 kMaxRepetitionPenalty, " (1 = off)"),
      CheckIntRange("repetition_window", params.repetition_window, 0, kMaxRepetitionWindow),
      CheckRange("presence_penalty", params.presence_penalty, -kMaxAbsPresencePenalty,
                 kMaxAbsPresencePenalty, " (0 = off)"),
      CheckRange("frequency_penalty", params.frequency_penalty, -kMaxAbsFrequencyPenalty,
                 kMaxAbsFrequencyPenalty, " (0 = off)"),
      CheckIntRange("max_tokens", params.max_tokens, 1, kMaxTokensLimit),
      CheckIntRange("top_logprobs", params.top_logprobs, 0, kMaxTopLogprobs),
  };
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  RETURN_IF_ERROR(ValidateLogitBias(params, vocab_size));
  return ValidateStops(params, vocab_size);
}

std::optional<SamplingFieldError> GetSamplingFieldError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return std::nullopt;
  const auto field = status.GetPayload(kSamplingFieldPayloadUrl);  // absl::optional here
  if (!field.has_value()) return std::nullopt;
  SamplingFieldError out{std::string(*field), std::string(status.message())};
  // The message is "<field> <description>" (FieldInvalid).
  if (absl::StartsWith(out.description, absl::StrCat(out.field, " "))) {
    out.description.erase(0, out.field.size() + 1);
  }
  return out;
}

}  // namespace smollm::runtime

// TokenizerData from GGUF metadata.
#include "runtime/tokenizer/gguf_vocab.h"

#include <string>

#include "absl/strings/str_format.h"
#include "runtime/core/status.h"

namespace smollm::runtime {
namespace {

constexpr std::string_view kEotCandidates[] = {"<|eot_id|>", "<|im_end|>", "<|end|>",
                                               "<end_of_turn>", "<|endoftext|>"};

// Texts llama.cpp always treats as end-of-generation control tokens, whatever type the
// file gives them (it overrides the type at load time; so do we, to tokenize alike).
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
    "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
    "<|tool_response>", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
    "[e~["};

absl::StatusOr<std::vector<std::string>> StringArray(const GgufFile& file, std::string_view key) {
  ASSIGN_OR_RETURN(std::vector<std::string_view> views, file.GetStringArray(key));
  return std::vector<std::string>(views.begin(), views.end());
}

// Reads an optional token id; leaves *id unchanged when the key is absent.
absl::Status OptionalId(const GgufFile& file, std::string_view key, TokenId* id) {
  if (!file.HasKey(key)) return absl::OkStatus();
  ASSIGN_OR_RETURN(uint32_t v, file.GetUint32(key));
  if (v > static_cast<uint32_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: token id %u is too large", key, v));
  }
  *id = static_cast<TokenId>(v);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TokenizerData> TokenizerDataFromGguf(const GgufFile& file) {
  ASSIGN_OR_RETURN(std::string_view model, file.GetString("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tokenizer.ggml.model: '%s' is not supported (only byte-level BPE, 'gpt2')", model));
  }
  TokenizerData data;
  ASSIGN_OR_RETURN(data.tokens, StringArray(file, "tokenizer.ggml.tokens"));
  ASSIGN_OR_RETURN(data.merges, StringArray(file, "tokenizer.ggml.merges"));
  if (file.HasKey("tokenizer.ggml.token_type")) {
    ASSIGN_OR_RETURN(std::vector<int32_t> types, file.GetInt32Array("tokenizer.ggml.token_type"));
    data.token_types.reserve(types.size());
    for (int32_t t : types) data.token_types.push_back(static_cast<TokenType>(t));
    if (data.token_types.size() == data.tokens.size()) {
      for (size_t i = 0; i < data.tokens.size(); ++i) {
        for (std::string_view text : kEndOfGenerationTexts) {
          if (data.tokens[i] == text) data.token_types[i] = TokenType::kControl;
        }
      }
    }
  }
  data.pre = "default";
  if (file.HasKey("tokenizer.ggml.pre")) {
    ASSIGN_OR_RETURN(std::string_view pre, file.GetString("tokenizer.ggml.pre"));
    data.pre = std::string(pre);
  }
  RETURN_IF_ERROR(OptionalId(file, "tokenizer.ggml.bos_token_id", &data.bos_id));
  RETURN_IF_ERROR(OptionalId(file, "tokenizer.ggml.eos_token_id", &data.eos_id));
  RETURN_IF_ERROR(OptionalId(file, "tokenizer.ggml.eot_token_id", &data.eot_id));
  RETURN_IF_ERROR(OptionalId(file, "tokenizer.ggml.padding_token_id", &data.pad_id));
  RETURN_IF_ERROR(OptionalId(file, "tokenizer.ggml.unknown_token_id", &data.unk_id));
  if (data.eot_id < 0) {
    for (std::string_view candidate : kEotCandidates) {
      for (size_t i = 0; i < data.tokens.size() && data.eot_id < 0; ++i) {
        if (data.tokens[i] == candidate) data.eot_id = static_cast<TokenId>(i);
      }
      if (data.eot_id >= 0) break;
    }
  }
  // llama.cpp's default for the Llama 3 names; the key, when present, decides.
  absl::StatusOr<PreTokenizerConfig> pre = PreTokenizerFromName(data.pre);
  data.add_bos = pre.ok() && pre->ignore_merges;
  if (file.HasKey("tokenizer.ggml.add_bos_token")) {
    ASSIGN_OR_RETURN(data.add_bos, file.GetBool("tokenizer.ggml.add_bos_token"));
  }
  if (file.HasKey("tokenizer.ggml.add_eos_token")) {
    ASSIGN_OR_RETURN(data.add_eos, file.GetBool("tokenizer.ggml.add_eos_token"));
  }
  return data;
}

absl::StatusOr<BpeTokenizer> BpeTokenizer::FromGguf(const GgufFile& file) {
  ASSIGN_OR_RETURN(TokenizerData data, TokenizerDataFromGguf(file));
  return BpeTokenizer::Create(data);
}

}  // namespace smollm::runtime

// Reading and validating ModelConfig from GGUF metadata.
#include "runtime/model/model_config.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"

namespace smollm::runtime {
namespace {

// Upper bounds far above any model we serve; they keep derived sizes inside 64 bits and
// reject files whose numbers are garbage.
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxWidth = 1 << 17;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxContext = 1 << 24;
constexpr int kMaxHeadDim = 512;  // the backends keep one head in registers or on the stack

struct ArchInfo {
  Architecture arch;
  std::string_view gguf_name;
  int nope_layer_step;
};

constexpr ArchInfo kArchitectures[] = {
    {Architecture::kLlama, "llama", 0},
    // SmolLM3 skips RoPE on layers 3, 7, 11, ...; the GGUF carries no key for it.
    {Architecture::kSmolLM3, "smollm3", 4},
};

std::string Key(std::string_view arch, std::string_view suffix) {
  return absl::StrCat(std::string(arch), ".", std::string(suffix));
}

absl::Status OutOfRange(const std::string& key, int64_t value, int64_t lo, int64_t hi) {
  return absl::InvalidArgumentError(absl::StrCat("metadata key '", key, "' = ", value,
                                                 " is outside [", lo, ", ", hi, "]"));
}

// A required integer hyperparameter in [lo, hi].
absl::StatusOr<int> GetBoundedInt(const GgufFile& gguf, const std::string& key, int64_t lo,
                                  int64_t hi) {
  ASSIGN_OR_RETURN(int64_t value, gguf.GetInt64(key));
  if (value < lo || value > hi) return OutOfRange(key, value, lo, hi);
  return static_cast<int>(value);
}

// An optional integer that, when present, must equal `expected`.
absl::Status CheckOptionalEquals(const GgufFile& gguf, const std::string& key, int64_t expected,
                                 std::string_view what) {
  if (!gguf.HasKey(key)) return absl::OkStatus();
  ASSIGN_OR_RETURN(int64_t value, gguf.GetInt64(key));
  if (value != expected) {
    return absl::InvalidArgumentError(absl::StrCat("metadata key '", key, "' = ", value,
                                                   " but ", std::string(what), " is ", expected,
                                                   " (unsupported)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<float> GetPositiveFloat(const GgufFile& gguf, const std::string& key, double hi) {
  ASSIGN_OR_RETURN(float value, gguf.GetFloat32(key));
  if (!std::isfinite(value) || value <= 0 || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata key '", key, "' = ", value, " is outside (0, ", hi, "]"));
  }
  return value;
}

// An optional special token id: -1 when absent, else it must index the vocabulary.
absl::StatusOr<TokenId> GetTokenId(const GgufFile& gguf, const std::string& key, int vocab) {
  if (!gguf.HasKey(key)) return -1;
  ASSIGN_OR_RETURN(int64_t value, gguf.GetInt64(key));
  if (value < 0 || value >= vocab) return OutOfRange(key, value, 0, vocab - 1);
  return static_cast<TokenId>(value);
}

}  // namespace

std::string_view ArchitectureName(Architecture arch) {
  for (const ArchInfo& info : kArchitectures) {
    if (info.arch == arch) return info.gguf_name;
  }
  return "unknown";
}

absl::StatusOr<ModelConfig> ModelConfigFromGguf(const GgufFile& gguf) {
  ASSIGN_OR_RETURN(std::string_view arch_name, gguf.GetString("general.architecture"));
  const ArchInfo* arch = nullptr;
  for (const ArchInfo& info : kArchitectures) {
    if (info.gguf_name == arch_name) arch = &info;
  }
  if (arch == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported architecture '", std::string(arch_name), "' (supported: llama, smollm3)"));
  }
  const std::string_view a = arch->gguf_name;

  ModelConfig c;
  c.arch = arch->arch;
  c.nope_layer_step = arch->nope_layer_step;
  if (gguf.HasKey("general.name")) {
    ASSIGN_OR_RETURN(std::string_view name, gguf.GetString("general.name"));
    c.name = std::string(name);
  }

  ASSIGN_OR_RETURN(c.n_layers, GetBoundedInt(gguf, Key(a, "block_count"), 1, kMaxLayers));
  ASSIGN_OR_RETURN(c.d_model, GetBoundedInt(gguf, Key(a, "embedding_length"), 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.d_ffn, GetBoundedInt(gguf, Key(a, "feed_forward_length"), 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.n_heads, GetBoundedInt(gguf, Key(a, "attention.head_count"), 1, kMaxHeads));
  // Without the key, a model has as many KV heads as query heads (no GQA).
  c.n_kv_heads = c.n_heads;
  if (gguf.HasKey(Key(a, "attention.head_count_kv"))) {
    ASSIGN_OR_RETURN(c.n_kv_heads,
                     GetBoundedInt(gguf, Key(a, "attention.head_count_kv"), 1, c.n_heads));
  }
  ASSIGN_OR_RETURN(c.context_length,
                   GetBoundedInt(gguf, Key(a, "context_length"), 1, kMaxContext));
  ASSIGN_OR_RETURN(c.rms_norm_eps,
                   GetPositiveFloat(gguf, Key(a, "attention.layer_norm_rms_epsilon"), 0.1));
  c.rope_theta = 10000.0f;  // llama.cpp's default when the key is absent
  if (gguf.HasKey(Key(a, "rope.freq_base"))) {
    ASSIGN_OR_RETURN(c.rope_theta, GetPositiveFloat(gguf, Key(a, "rope.freq_base"), 1e12));
  }

  if (c.d_model % c.n_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("attention.head_count ", c.n_heads,
                                                   " does not divide embedding_length ",
                                                   c.d_model));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("attention.head_count_kv ", c.n_kv_heads,
                                                   " does not divide attention.head_count ",
                                                   c.n_heads));
  }
  c.head_dim = c.d_model / c.n_heads;
  if (c.head_dim > kMaxHeadDim) {
    return absl::InvalidArgumentError(absl::StrCat("head dimension ", c.head_dim,
                                                   " exceeds the supported ", kMaxHeadDim));
  }
  if (c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("head dimension ", c.head_dim, " is odd: RoPE rotates pairs"));
  }
  c.rope_dim = c.head_dim;
  RETURN_IF_ERROR(CheckOptionalEquals(gguf, Key(a, "rope.dimension_count"), c.head_dim,
                                      "the head dimension"));
  RETURN_IF_ERROR(CheckOptionalEquals(gguf, Key(a, "attention.key_length"), c.head_dim,
                                      "the head dimension"));
  RETURN_IF_ERROR(CheckOptionalEquals(gguf, Key(a, "attention.value_length"), c.head_dim,
                                      "the head dimension"));

  // The vocabulary is the tokenizer's; token_embd and vocab_size must agree with it.
  ASSIGN_OR_RETURN(GgufArray tokens, gguf.GetArray("tokenizer.ggml.tokens"));
  if (tokens.size() < 1 || tokens.size() > static_cast<uint64_t>(kMaxVocab)) {
    return OutOfRange("tokenizer.ggml.tokens (count)", static_cast<int64_t>(tokens.size()), 1,
                      kMaxVocab);
  }
  c.vocab_size = static_cast<int>(tokens.size());
  RETURN_IF_ERROR(CheckOptionalEquals(gguf, Key(a, "vocab_size"), c.vocab_size,
                                      "the tokenizer's token count"));

  ASSIGN_OR_RETURN(c.bos_token, GetTokenId(gguf, "tokenizer.ggml.bos_token_id", c.vocab_size));
  ASSIGN_OR_RETURN(c.eos_token, GetTokenId(gguf, "tokenizer.ggml.eos_token_id", c.vocab_size));
  ASSIGN_OR_RETURN(c.pad_token,
                   GetTokenId(gguf, "tokenizer.ggml.padding_token_id", c.vocab_size));

  c.tied_output = gguf.FindTensor("output.weight") == nullptr;
  return c;
}

}  // namespace smollm::runtime

// Shape presets for synthetic models and the validation of hand-made shapes.
#include "runtime/tools/synth_shapes.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace smollm::runtime {
namespace {

// The bounds ModelConfigFromGguf enforces, so that every shape we write reads back.
constexpr int kMaxLayers = 1024;
constexpr int kMaxWidth = 1 << 17;
constexpr int kMaxHeads = 1024;
constexpr int kMaxVocab = 1 << 22;
constexpr int kMaxContext = 1 << 24;

struct Preset {
  std::string_view name;
  Architecture arch;
  std::string_view general_name;
  int n_layers, d_model, d_ffn, n_heads, n_kv_heads, vocab_size, context_length;
  float rms_norm_eps, rope_theta;
  bool tied_output;
};

constexpr Preset kPresets[] = {
    {"smollm3-3b", Architecture::kSmolLM3, "SmolLM3 3B (synthetic)", 36, 2048, 11008, 16, 4,
     128256, 65536, 1e-6f, 5e6f, true},
    {"smollm2-135m", Architecture::kLlama, "SmolLM2 135M (synthetic)", 30, 576, 1536, 9, 3,
     49152, 8192, 1e-5f, 1e5f, true},
    {"tiny-smollm3", Architecture::kSmolLM3, "tiny smollm3 (synthetic)", 8, 256, 640, 4, 2,
     2048, 4096, 1e-6f, 5e6f, true},
    {"tiny-llama", Architecture::kLlama, "tiny llama (synthetic)", 6, 320, 512, 5, 1, 1024,
     2048, 1e-5f, 1e5f, false},
};

absl::Status CheckRange(std::string_view field, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), " = ", value, " is outside [", lo,
                                                   ", ", hi, "]"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string_view> ShapePresetNames() {
  std::vector<std::string_view> names;
  for (const Preset& p : kPresets) names.push_back(p.name);
  return names;
}

std::string ShapePresetList() {
  std::string list;
  for (std::string_view name : ShapePresetNames()) {
    absl::StrAppend(&list, list.empty() ? "" : ", ", std::string(name));
  }
  return list;
}

absl::StatusOr<ModelConfig> ShapePreset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (p.name != name) continue;
    ModelConfig c;
    c.arch = p.arch;
    c.name = std::string(p.general_name);
    c.n_layers = p.n_layers;
    c.d_model = p.d_model;
    c.d_ffn = p.d_ffn;
    c.n_heads = p.n_heads;
    c.n_kv_heads = p.n_kv_heads;
    c.vocab_size = p.vocab_size;
    c.context_length = p.context_length;
    c.rms_norm_eps = p.rms_norm_eps;
    c.rope_theta = p.rope_theta;
    c.tied_output = p.tied_output;
    if (absl::Status s = CompleteShape(c); !s.ok()) return s;
    return c;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown shape preset '", std::string(name),
                                                 "' (known: ", ShapePresetList(), ")"));
}

absl::Status CompleteShape(ModelConfig& c) {
  for (absl::Status s : {CheckRange("layers", c.n_layers, 1, kMaxLayers),
                         CheckRange("d_model", c.d_model, 1, kMaxWidth),
                         CheckRange("d_ffn", c.d_ffn, 1, kMaxWidth),
                         CheckRange("heads", c.n_heads, 1, kMaxHeads),
                         CheckRange("kv_heads", c.n_kv_heads, 1, c.n_heads),
                         CheckRange("vocab", c.vocab_size, 1, kMaxVocab),
                         CheckRange("context", c.context_length, 1, kMaxContext)}) {
    if (!s.ok()) return s;
  }
  if (c.d_model % c.n_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("heads = ", c.n_heads, " does not divide d_model = ", c.d_model));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("kv_heads = ", c.n_kv_heads, " does not divide heads = ", c.n_heads));
  }
  c.head_dim = c.d_model / c.n_heads;
  if (c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("head_dim = d_model / heads = ", c.head_dim, " is odd"));
  }
  if (!std::isfinite(c.rms_norm_eps) || c.rms_norm_eps <= 0 || c.rms_norm_eps > 0.1f) {
    return absl::InvalidArgumentError(
        absl::StrCat("rms_norm_eps = ", c.rms_norm_eps, " is outside (0, 0.1]"));
  }
  if (!std::isfinite(c.rope_theta) || c.rope_theta <= 0 || c.rope_theta > 1e12f) {
    return absl::InvalidArgumentError(
        absl::StrCat("rope_theta = ", c.rope_theta, " is outside (0, 1e12]"));
  }
  c.rope_dim = c.head_dim;
  c.nope_layer_step = c.arch == Architecture::kSmolLM3 ? 4 : 0;
  return absl::OkStatus();
}

}  // namespace smollm::runtime

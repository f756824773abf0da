// Q4_K_M type selection, following llama.cpp's llama-quant.cpp rules for that file type.
#include "runtime/tools/q4km_mix.h"

#include <algorithm>
#include <string_view>

namespace smollm::runtime {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// llama.cpp's quantizer sorts tensors by layer (-1 for tensors outside the blocks, which
// therefore come first) and then by name; its per-category counters (i_attention_wv,
// i_ffn_down) therefore equal the layer index, which is why ChooseQ4KMType can use the
// layer directly.
bool QuantizerOrder(const PlannedTensor& a, const PlannedTensor& b) {
  if (a.tensor.layer != b.tensor.layer) return a.tensor.layer < b.tensor.layer;
  return a.tensor.name < b.tensor.name;
}

}  // namespace

bool UseMoreBits(int layer, int n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 ||
         (layer - n_layers / 8) % 3 == 2;
}

GgmlType FallbackType(GgmlType target, uint64_t row_length) {
  const uint64_t block = TraitsOf(target).block_elements;
  if (row_length % block == 0) return target;
  GgmlType fallback = target;
  switch (target) {
    case GgmlType::kQ4_K: fallback = GgmlType::kQ5_0; break;
    case GgmlType::kQ5_K: fallback = GgmlType::kQ5_1; break;
    case GgmlType::kQ6_K: fallback = GgmlType::kQ8_0; break;
    default: break;  // 32-element types have nothing smaller to fall back to
  }
  if (row_length % TraitsOf(fallback).block_elements != 0) return GgmlType::kF16;
  return fallback;
}

GgmlType ChooseQ4KMType(const ExpectedTensor& tensor, const ModelConfig& config) {
  if (tensor.role == TensorRole::kNorm || tensor.dims.size() < 2) return GgmlType::kF32;
  const std::string_view name = tensor.name;
  const uint64_t row_length = tensor.dims[0];
  GgmlType type = GgmlType::kQ4_K;
  const bool is_output = name == "output.weight";
  const bool is_token_embd = name == "token_embd.weight";
  if (is_output || (is_token_embd && config.tied_output)) {
    // The output rule tests the row against the default type's block, and goes straight
    // to Q8_0 rather than through the fallback table.
    type = row_length % TraitsOf(GgmlType::kQ4_K).block_elements != 0 ? GgmlType::kQ8_0
                                                                      : GgmlType::kQ6_K;
  } else if (EndsWith(name, "attn_v.weight") || EndsWith(name, "ffn_down.weight")) {
    if (UseMoreBits(tensor.layer, config.n_layers)) type = GgmlType::kQ6_K;
  }
  return FallbackType(type, row_length);
}

std::vector<PlannedTensor> PlanQ4KM(const ModelConfig& config) {
  std::vector<PlannedTensor> plan;
  for (ExpectedTensor& t : ExpectedTensors(config)) {
    PlannedTensor p;
    p.type = ChooseQ4KMType(t, config);
    uint64_t rows = 1;
    for (size_t i = 1; i < t.dims.size(); ++i) rows *= t.dims[i];
    // FallbackType guarantees whole blocks; the config's bounds keep this inside 64 bits.
    p.n_bytes = RowBytes(p.type, t.dims[0]).value_or(0) * rows;
    p.tensor = std::move(t);
    plan.push_back(std::move(p));
  }
  std::stable_sort(plan.begin(), plan.end(), QuantizerOrder);
  return plan;
}

uint64_t TotalTensorBytes(const std::vector<PlannedTensor>& plan) {
  uint64_t total = 0;
  for (const PlannedTensor& p : plan) total += p.n_bytes;
  return total;
}

}  // namespace smollm::runtime

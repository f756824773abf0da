// Writes a synthetic GGUF model: a real architecture and shape in llama.cpp's Q4_K_M
// layout, random weights, and a synthetic or copied tokenizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/model/model_config.h"
#include "runtime/tools/q4km_mix.h"
#include "runtime/tools/synth_metadata.h"
#include "runtime/tools/synth_weights.h"

namespace smollm::runtime {

struct SynthOptions {
  // arch, name, n_layers, d_model, d_ffn, n_heads, n_kv_heads, vocab_size, context_length,
  // rms_norm_eps, rope_theta and tied_output are read; the rest is derived (CompleteShape).
  ModelConfig shape;
  WeightMode weights = WeightMode::kBlocks;
  uint64_t seed = 1;
  // A GGUF whose tokenizer.* keys are copied (the vocabulary size then follows its token
  // count); empty for a synthetic vocabulary of shape.vocab_size (MakeSyntheticVocab).
  std::string tokenizer_from;
  // Written as tokenizer.chat_template (replacing a copied one) when set.
  std::optional<std::string> chat_template;
};

// Everything about the file except its tensor data.
struct SynthPlan {
  ModelConfig config;                  // completed, with the tokenizer's vocab size
  MetadataList metadata;               // in file order
  std::vector<PlannedTensor> tensors;  // in file order (PlanQ4KM)
};

// Builds the plan. InvalidArgument for a bad shape or vocabulary size; the errors of
// GgufFile::Open and CopyTokenizerMetadata for tokenizer_from.
absl::StatusOr<SynthPlan> PlanSyntheticModel(const SynthOptions& options);

// A writer holding the plan's metadata and tensor declarations (no data): its FileSize()
// is the exact size of the file WriteSyntheticModel writes.
absl::StatusOr<GgufWriter> DeclareSyntheticModel(const SynthPlan& plan);

// Writes the plan's file to `path`, streaming tensor data (a few MiB in memory at a
// time). The file appears under `path` only when complete: it is written to
// `path` + ".partial" and renamed. Deterministic: the same plan, mode and seed give the
// same bytes. Errors: those of the writer (I/O carries errno and path) and of SynthRows.
absl::Status WriteSyntheticModel(const SynthPlan& plan, WeightMode mode, uint64_t seed,
                                 const std::string& path);

}  // namespace smollm::runtime

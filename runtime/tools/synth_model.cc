// Planning and streaming a synthetic Q4_K_M GGUF.
#include "runtime/tools/synth_model.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/tools/synth_shapes.h"
#include "runtime/tools/synth_tokenizer.h"

namespace smollm::runtime {
namespace {

// Tensor data is produced and written in pieces of about this size.
constexpr uint64_t kChunkBytes = 4 << 20;

absl::Status StreamTensor(GgufStreamWriter& out, const PlannedTensor& t, uint64_t index,
                          WeightMode mode, uint64_t seed, std::vector<uint8_t>& buffer) {
  uint64_t n_rows = 1;
  for (size_t i = 1; i < t.tensor.dims.size(); ++i) n_rows *= t.tensor.dims[i];
  const uint64_t row_bytes = t.n_bytes / n_rows;
  const uint64_t rows_per_chunk = std::max<uint64_t>(1, kChunkBytes / row_bytes);
  for (uint64_t row = 0; row < n_rows; row += rows_per_chunk) {
    const uint64_t rows = std::min(rows_per_chunk, n_rows - row);
    buffer.resize(rows * row_bytes);
    RETURN_IF_ERROR(SynthRows(t, mode, seed, index, row, buffer));
    RETURN_IF_ERROR(out.Append(buffer));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SynthPlan> PlanSyntheticModel(const SynthOptions& options) {
  SynthPlan plan;
  plan.config = options.shape;
  MetadataList tokenizer;
  if (options.tokenizer_from.empty()) {
    RETURN_IF_ERROR(CompleteShape(plan.config));
    ASSIGN_OR_RETURN(SynthVocab vocab, MakeSyntheticVocab(plan.config.arch,
                                                          plan.config.vocab_size, options.seed));
    tokenizer = TokenizerMetadata(vocab);
  } else {
    ASSIGN_OR_RETURN(GgufFile source, GgufFile::Open(options.tokenizer_from));
    ASSIGN_OR_RETURN(tokenizer, CopyTokenizerMetadata(source));
    ASSIGN_OR_RETURN(plan.config.vocab_size, VocabSizeOf(tokenizer));
    RETURN_IF_ERROR(CompleteShape(plan.config));
  }
  if (options.chat_template.has_value()) {
    SetMetadata(tokenizer, "tokenizer.chat_template",
                GgufMetaValue::String(*options.chat_template));
  }
  plan.metadata = ModelMetadata(plan.config);
  for (auto& kv : tokenizer) plan.metadata.push_back(std::move(kv));
  for (auto& kv : QuantizationMetadata(kFileTypeQ4KM)) plan.metadata.push_back(std::move(kv));
  plan.tensors = PlanQ4KM(plan.config);
  return plan;
}

absl::StatusOr<GgufWriter> DeclareSyntheticModel(const SynthPlan& plan) {
  ASSIGN_OR_RETURN(GgufWriter writer, GgufWriter::Create());
  for (const auto& [key, value] : plan.metadata) RETURN_IF_ERROR(writer.AddMetadata(key, value));
  for (const PlannedTensor& t : plan.tensors) {
    RETURN_IF_ERROR(writer.AddTensor(t.tensor.name, t.tensor.dims, t.type));
  }
  return writer;
}

absl::Status WriteSyntheticModel(const SynthPlan& plan, WeightMode mode, uint64_t seed,
                                 const std::string& path) {
  ASSIGN_OR_RETURN(GgufWriter writer, DeclareSyntheticModel(plan));
  const std::string partial = path + ".partial";
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(GgufStreamWriter out, writer.StartFile(partial));
    std::vector<uint8_t> buffer;
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      RETURN_IF_ERROR(StreamTensor(out, plan.tensors[i], i, mode, seed, buffer));
    }
    return out.Finish();
  }();
  if (status.ok() && std::rename(partial.c_str(), path.c_str()) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("renaming ", partial, " to ", path));
  }
  if (!status.ok()) std::remove(partial.c_str());
  return status;
}

}  // namespace smollm::runtime

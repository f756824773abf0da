// Deterministic random tensor data for synthetic models: quantized floats or direct blocks.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "runtime/tools/q4km_mix.h"

namespace smollm::runtime {

enum class WeightMode {
  // Random floats (normal, std kWeightStd, with rare outliers) quantized by QuantizeRow:
  // the dequantized weights approximate SynthFloatRow, for float reference checks.
  kQuantize,
  // Random but valid blocks written directly (finite fp16 scales of realistic magnitude,
  // random quants): fast enough for the full SmolLM3-3B shape.
  kBlocks,
};

inline constexpr float kWeightStd = 0.02f;

// Every value depends only on (seed, tensor_index, row), never on the chunking, so a
// tensor can be produced in any number of pieces, in any order, and files are identical
// for a seed. `tensor_index` is the tensor's position in the plan.

// The float values of one row of a tensor before quantization (kQuantize mode): norms are
// 1 + 0.05 * N(0, 1); matrices are kWeightStd * N(0, 1), one value in 512 scaled by 8
// (the outliers that make block scales uneven). `out` is one row (tensor.dims[0] values).
void SynthFloatRow(const PlannedTensor& tensor, uint64_t seed, uint64_t tensor_index,
                   uint64_t row, std::span<float> out);

// Writes rows [first_row, first_row + out.size() / row_bytes) of the tensor in its type.
// `out` must hold a whole number of rows. Norms are F32 1 + 0.05 * N(0, 1) in both modes.
// InvalidArgument for a partial row or rows past the end; Unimplemented for a type this
// generator has no block recipe for (anything outside F32, F16, Q4_K, Q6_K, Q5_0, Q8_0).
absl::Status SynthRows(const PlannedTensor& tensor, WeightMode mode, uint64_t seed,
                       uint64_t tensor_index, uint64_t first_row, std::span<uint8_t> out);

}  // namespace smollm::runtime

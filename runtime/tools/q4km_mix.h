// The tensor types of a Q4_K_M file, chosen by the rules llama.cpp's quantizer applies.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/core/ggml_type.h"
#include "runtime/model/model_config.h"
#include "runtime/model/tensor_names.h"

namespace smollm::runtime {

// general.file_type of a Q4_K_M file (LLAMA_FTYPE_MOSTLY_Q4_K_M).
inline constexpr uint32_t kFileTypeQ4KM = 15;

// llama.cpp's "use more bits" rule for Q4_K_M: the first and last eighth of the layers and
// every third layer in between. For 36 layers: 0-3, 6, 9, ..., 30 and 31-35.
bool UseMoreBits(int layer, int n_layers);

// The type a block format needs when a row of `row_length` elements is not a whole number
// of `target`'s blocks: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (32-element blocks), and
// F16 when even that does not divide the row. `target` itself when it fits.
GgmlType FallbackType(GgmlType target, uint64_t row_length);

// The type llama.cpp's quantizer gives `tensor` (one entry of ExpectedTensors(config)) in
// a Q4_K_M file quantized from an F32/F16 file of `config`:
//   - norms stay F32;
//   - output.weight, or token_embd.weight when the output is tied, gets Q6_K, or Q8_0 when
//     its rows are not whole 256-element blocks;
//   - attn_v and ffn_down get Q6_K on the layers UseMoreBits picks;
//   - every other matrix gets Q4_K;
//   - then FallbackType for rows that do not fit the chosen block size.
// Pure: depends only on the tensor's name, layer, shape and config.n_layers/tied_output.
GgmlType ChooseQ4KMType(const ExpectedTensor& tensor, const ModelConfig& config);

// A tensor of the file, as the writer lays it out.
struct PlannedTensor {
  ExpectedTensor tensor;
  GgmlType type = GgmlType::kF32;
  uint64_t n_bytes = 0;  // size of its data (without alignment padding)
};

// Every tensor of a Q4_K_M file of `config` with its type and size, in the order llama.cpp's
// quantizer writes them: tensors outside the blocks first (by name), then each layer in
// order, its tensors by name. Shapes must be whole rows of their types, which FallbackType
// guarantees for any positive dims.
std::vector<PlannedTensor> PlanQ4KM(const ModelConfig& config);

// Sum of n_bytes over a plan: the tensor data of the file without padding.
uint64_t TotalTensorBytes(const std::vector<PlannedTensor>& plan);

}  // namespace smollm::runtime

// The tensors a model of a given config must contain: names, shapes and allowed types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/ggml_type.h"
#include "runtime/model/model_config.h"

namespace smollm::runtime {

class GgufFile;

enum class TensorRole {
  kNorm,    // a vector of gains, kept in F32
  kMatrix,  // a weight matrix, quantized in any supported block format
};

struct ExpectedTensor {
  std::string name;            // as llama.cpp names it, e.g. "blk.3.attn_q.weight"
  std::vector<uint64_t> dims;  // GGUF order: dims[0] is the row length (input width)
  TensorRole role = TensorRole::kMatrix;
  int layer = -1;              // -1 for tensors outside the decoder blocks
};

// Every tensor of the model in a stable order: token_embd, the blocks' tensors, the
// final norm, and output.weight unless the output is tied.
std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& config);

// True for the block formats the runtime can compute with.
bool IsSupportedWeightType(GgmlType type);

// Checks that `gguf` holds every expected tensor with the right shape and a supported
// type (norms in F32), and nothing this runtime would silently ignore beyond the tensors
// llama.cpp also ignores (rope_freqs). InvalidArgument naming the tensor otherwise.
absl::Status ValidateTensors(const ModelConfig& config, const GgufFile& gguf);

}  // namespace smollm::runtime

// Readers of the fixtures written by tests/reference/quant_*.py: the case container
// (dequant_cases.bin, quantize_cases.bin) and roundtrip_reference.txt.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace smollm::testing {

// One row: raw GGUF block bytes and the float32 bit patterns a reference decoded.
struct QuantCase {
  uint32_t type = 0;   // ggml type id
  std::string source;  // model file name or producing function
  std::string sha256;  // hex sha256 of the model file; empty for generated data
  std::string tensor;  // tensor name or a description of generated data
  uint32_t row = 0;
  std::vector<uint8_t> raw;          // [n_bytes]
  std::vector<uint32_t> value_bits;  // [n_elements]
};

// Parses the "SMQFIX01" container (format in tests/reference/quant_common.py); every
// length is bounds-checked and a malformed file is InvalidArgument with its offset.
absl::StatusOr<std::vector<QuantCase>> ParseQuantCases(std::string_view bytes);

// roundtrip_reference.txt: generator parameters and llama.cpp's per-row RMSEs.
struct RoundTripReference {
  uint64_t seed = 0;
  size_t elements = 0;
  std::vector<double> amplitudes;                   // one row per amplitude
  uint64_t data_fnv1a64 = 0;                        // checksum of all generated floats
  std::map<std::string, std::vector<double>> rmse;  // type name -> RMSE per row
};

absl::StatusOr<RoundTripReference> ParseRoundTripReference(std::string_view text);

// The reference rows, regenerated with RowGenerator.
std::vector<std::vector<float>> GenerateRows(const RoundTripReference& ref);

}  // namespace smollm::testing

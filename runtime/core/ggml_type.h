// Tensor element types as GGUF numbers them, with their block geometry.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smollm::runtime {

// Values are the on-disk ids of GGUF's tensor type field. Only the types listed here are
// accepted by the reader; every one of them has a known block size.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

struct GgmlTypeTraits {
  std::string_view name;      // as llama.cpp prints it, e.g. "q4_K"
  uint32_t block_elements;    // elements per block (1 for plain types)
  uint32_t block_bytes;       // bytes per block
};

// Traits for a raw type id; nullopt for ids this runtime does not know.
std::optional<GgmlTypeTraits> TraitsOf(uint32_t raw_type);
GgmlTypeTraits TraitsOf(GgmlType type);  // always known
std::string_view NameOf(GgmlType type);

// Bytes of a row of `elements` elements; nullopt if `elements` is not a whole number of
// blocks or the size overflows.
std::optional<uint64_t> RowBytes(GgmlType type, uint64_t elements);

}  // namespace smollm::runtime

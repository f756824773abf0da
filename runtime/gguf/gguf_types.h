// GGUF metadata value types and the format's constants.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smollm::runtime {

// On-disk ids of GGUF metadata value types.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian uint32
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";
// Arrays may nest (an array of arrays); deeper nesting than this is rejected so that a
// crafted file cannot drive the parser's recursion.
inline constexpr int kGgufMaxArrayDepth = 8;
// GGML tensors have at most four dimensions.
inline constexpr uint32_t kGgufMaxDims = 4;

// The type for a raw id, or nullopt when the id is not a GGUF value type.
std::optional<GgufValueType> GgufValueTypeFromRaw(uint32_t raw);

// Lower-case name as the GGUF spec writes it: "uint8", ..., "string", "array", "float64".
std::string_view GgufValueTypeName(GgufValueType type);

// Encoded size of one value of a fixed-size type; 0 for string and array.
uint32_t GgufFixedSize(GgufValueType type);

bool GgufIsInteger(GgufValueType type);  // the eight integer types (not bool)
bool GgufIsFloat(GgufValueType type);    // float32 and float64

}  // namespace smollm::runtime

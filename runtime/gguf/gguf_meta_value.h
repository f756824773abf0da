// Owned GGUF metadata values for writing: each holds its value already encoded.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_types.h"

namespace smollm::runtime {

// A value to write: its type and its GGUF encoding (without the leading type tag). Arrays
// are encoded once at construction, so a 128k-token vocabulary is one byte buffer rather
// than 128k objects. Copyable (a copy copies the bytes).
class GgufMetaValue {
 public:
  static GgufMetaValue Uint8(uint8_t v);
  static GgufMetaValue Int8(int8_t v);
  static GgufMetaValue Uint16(uint16_t v);
  static GgufMetaValue Int16(int16_t v);
  static GgufMetaValue Uint32(uint32_t v);
  static GgufMetaValue Int32(int32_t v);
  static GgufMetaValue Uint64(uint64_t v);
  static GgufMetaValue Int64(int64_t v);
  static GgufMetaValue Float32(float v);
  static GgufMetaValue Float64(double v);
  static GgufMetaValue Bool(bool v);
  static GgufMetaValue String(std::string_view v);

  // An array of `element_type` holding `elements`. InvalidArgument when an element has
  // another type, or when the nesting would exceed kGgufMaxArrayDepth.
  static absl::StatusOr<GgufMetaValue> Array(GgufValueType element_type,
                                             std::span<const GgufMetaValue> elements);
  // Typed arrays, encoded directly.
  static GgufMetaValue StringArray(std::span<const std::string> v);
  static GgufMetaValue StringArray(std::span<const std::string_view> v);
  static GgufMetaValue Float32Array(std::span<const float> v);
  static GgufMetaValue Int32Array(std::span<const int32_t> v);
  static GgufMetaValue Uint32Array(std::span<const uint32_t> v);

  GgufValueType type() const { return type_; }
  // Array nesting depth: 0 for a scalar or string, 1 + the deepest element for an array.
  int depth() const { return depth_; }
  const std::vector<uint8_t>& encoded() const { return encoded_; }

 private:
  GgufMetaValue(GgufValueType type, int depth) : type_(type), depth_(depth) {}
  template <typename T>
  static GgufMetaValue Scalar(GgufValueType type, T v);
  template <typename T>
  static GgufMetaValue PlainArray(GgufValueType element_type, std::span<const T> v);

  GgufValueType type_;
  int depth_;
  std::vector<uint8_t> encoded_;
};

// Little-endian appends shared by the value encoder and the writer.
void GgufAppendBytes(std::vector<uint8_t>& out, const void* data, size_t n);
void GgufAppendU32(std::vector<uint8_t>& out, uint32_t v);
void GgufAppendU64(std::vector<uint8_t>& out, uint64_t v);
void GgufAppendString(std::vector<uint8_t>& out, std::string_view s);

}  // namespace smollm::runtime

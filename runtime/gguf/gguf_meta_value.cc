// Encoding of owned GGUF metadata values.
#include "runtime/gguf/gguf_meta_value.h"

#include <algorithm>
#include <cstring>

#include "runtime/gguf/gguf_cursor.h"

namespace smollm::runtime {

using gguf_internal::Cat;

void GgufAppendBytes(std::vector<uint8_t>& out, const void* data, size_t n) {
  // resize + memcpy rather than insert: GCC 12 misreads small inserts as overflows.
  if (n == 0) return;
  const size_t old = out.size();
  out.resize(old + n);
  std::memcpy(out.data() + old, data, n);
}
void GgufAppendU32(std::vector<uint8_t>& out, uint32_t v) { GgufAppendBytes(out, &v, 4); }
void GgufAppendU64(std::vector<uint8_t>& out, uint64_t v) { GgufAppendBytes(out, &v, 8); }
void GgufAppendString(std::vector<uint8_t>& out, std::string_view s) {
  GgufAppendU64(out, s.size());
  GgufAppendBytes(out, s.data(), s.size());
}

template <typename T>
GgufMetaValue GgufMetaValue::Scalar(GgufValueType type, T v) {
  GgufMetaValue out(type, 0);
  GgufAppendBytes(out.encoded_, &v, sizeof(T));
  return out;
}

GgufMetaValue GgufMetaValue::Uint8(uint8_t v) { return Scalar(GgufValueType::kUint8, v); }
GgufMetaValue GgufMetaValue::Int8(int8_t v) { return Scalar(GgufValueType::kInt8, v); }
GgufMetaValue GgufMetaValue::Uint16(uint16_t v) { return Scalar(GgufValueType::kUint16, v); }
GgufMetaValue GgufMetaValue::Int16(int16_t v) { return Scalar(GgufValueType::kInt16, v); }
GgufMetaValue GgufMetaValue::Uint32(uint32_t v) { return Scalar(GgufValueType::kUint32, v); }
GgufMetaValue GgufMetaValue::Int32(int32_t v) { return Scalar(GgufValueType::kInt32, v); }
GgufMetaValue GgufMetaValue::Uint64(uint64_t v) { return Scalar(GgufValueType::kUint64, v); }
GgufMetaValue GgufMetaValue::Int64(int64_t v) { return Scalar(GgufValueType::kInt64, v); }
GgufMetaValue GgufMetaValue::Float32(float v) { return Scalar(GgufValueType::kFloat32, v); }
GgufMetaValue GgufMetaValue::Float64(double v) { return Scalar(GgufValueType::kFloat64, v); }
GgufMetaValue GgufMetaValue::Bool(bool v) {
  return Scalar(GgufValueType::kBool, static_cast<uint8_t>(v ? 1 : 0));
}

GgufMetaValue GgufMetaValue::String(std::string_view v) {
  GgufMetaValue out(GgufValueType::kString, 0);
  GgufAppendString(out.encoded_, v);
  return out;
}

absl::StatusOr<GgufMetaValue> GgufMetaValue::Array(GgufValueType element_type,
                                                   std::span<const GgufMetaValue> elements) {
  int depth = 1;
  size_t bytes = 12;
  for (size_t i = 0; i < elements.size(); ++i) {
    if (elements[i].type() != element_type) {
      return absl::InvalidArgumentError(
          Cat("array element ", i, " has type ", GgufValueTypeName(elements[i].type()),
              ", expected ", GgufValueTypeName(element_type)));
    }
    depth = std::max(depth, 1 + elements[i].depth());
    bytes += elements[i].encoded().size();
  }
  if (depth > kGgufMaxArrayDepth) {
    return absl::InvalidArgumentError(
        Cat("arrays nested ", depth, " deep; at most ", kGgufMaxArrayDepth, " are allowed"));
  }
  GgufMetaValue out(GgufValueType::kArray, depth);
  out.encoded_.reserve(bytes);
  GgufAppendU32(out.encoded_, static_cast<uint32_t>(element_type));
  GgufAppendU64(out.encoded_, elements.size());
  // A nested array element carries its own element type and count in its encoding.
  for (const GgufMetaValue& e : elements) {
    out.encoded_.insert(out.encoded_.end(), e.encoded().begin(), e.encoded().end());
  }
  return out;
}

template <typename T>
GgufMetaValue GgufMetaValue::PlainArray(GgufValueType element_type, std::span<const T> v) {
  GgufMetaValue out(GgufValueType::kArray, 1);
  GgufAppendU32(out.encoded_, static_cast<uint32_t>(element_type));
  GgufAppendU64(out.encoded_, v.size());
  GgufAppendBytes(out.encoded_, v.data(), v.size_bytes());
  return out;
}

GgufMetaValue GgufMetaValue::StringArray(std::span<const std::string> v) {
  std::vector<std::string_view> views(v.begin(), v.end());
  return StringArray(std::span<const std::string_view>(views));
}

GgufMetaValue GgufMetaValue::StringArray(std::span<const std::string_view> v) {
  GgufMetaValue out(GgufValueType::kArray, 1);
  GgufAppendU32(out.encoded_, static_cast<uint32_t>(GgufValueType::kString));
  GgufAppendU64(out.encoded_, v.size());
  for (std::string_view s : v) GgufAppendString(out.encoded_, s);
  return out;
}

GgufMetaValue GgufMetaValue::Float32Array(std::span<const float> v) {
  return PlainArray(GgufValueType::kFloat32, v);
}
GgufMetaValue GgufMetaValue::Int32Array(std::span<const int32_t> v) {
  return PlainArray(GgufValueType::kInt32, v);
}
GgufMetaValue GgufMetaValue::Uint32Array(std::span<const uint32_t> v) {
  return PlainArray(GgufValueType::kUint32, v);
}

}  // namespace smollm::runtime

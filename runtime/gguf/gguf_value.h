// Views of GGUF metadata values (scalars, strings, arrays) that point into the parsed bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_types.h"

namespace smollm::runtime {

class GgufValue;

// A metadata array: element type, count and the encoded elements, as stored in the file.
// A view: it points into the bytes the GgufFile was parsed from and lives as long as
// they do. Cheap to copy. Elements were validated when the file was parsed, so element
// decoding below cannot fail on content; the typed accessors fail only on a type
// mismatch (InvalidArgument "expected array of X, got array of Y") or, for the integer
// ones, on an element that does not fit the requested type (InvalidArgument naming the
// element index and value).
class GgufArray {
 public:
  GgufArray() = default;
  // `payload` holds exactly `size` validated encoded elements of `element_type`.
  GgufArray(GgufValueType element_type, uint64_t size, std::span<const uint8_t> payload)
      : element_type_(element_type), size_(size), payload_(payload) {}

  GgufValueType element_type() const { return element_type_; }
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The encoded elements (little-endian; strings and nested arrays in their GGUF form).
  std::span<const uint8_t> raw_bytes() const { return payload_; }

  // One pass, one allocation: the views point into the file. Strings only.
  absl::StatusOr<std::vector<std::string_view>> Strings() const;
  // float32 elements only (copied: elements in the file are not 4-byte aligned).
  absl::StatusOr<std::vector<float>> Float32s() const;
  // float32 or float64 elements.
  absl::StatusOr<std::vector<double>> Float64s() const;
  // Any integer element type; every element must fit the result type.
  absl::StatusOr<std::vector<int32_t>> Int32s() const;
  absl::StatusOr<std::vector<uint32_t>> Uint32s() const;
  absl::StatusOr<std::vector<int64_t>> Int64s() const;
  absl::StatusOr<std::vector<uint64_t>> Uint64s() const;
  // bool elements only (stored one byte each; any nonzero byte is true).
  absl::StatusOr<std::vector<bool>> Bools() const;
  // Every element as a value, nested arrays included. O(size) time and memory.
  std::vector<GgufValue> Elements() const;

 private:
  GgufValueType element_type_ = GgufValueType::kUint8;
  uint64_t size_ = 0;
  std::span<const uint8_t> payload_;
};

// One metadata value. Scalars are held decoded; strings and arrays are views into the
// parsed bytes. Accessors return InvalidArgument "expected <type>, got <type>" on a type
// mismatch (GgufFile's getters prefix the key).
class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue Unsigned(GgufValueType type, uint64_t v);  // uint8..uint64
  static GgufValue Signed(GgufValueType type, int64_t v);     // int8..int64
  static GgufValue Float(GgufValueType type, double v);       // float32, float64
  static GgufValue Bool(bool v);
  static GgufValue String(std::string_view v);
  static GgufValue Array(GgufArray v);

  GgufValueType type() const { return type_; }

  // Integer getters accept any integer type whose value fits the result; a value that
  // does not fit is InvalidArgument naming the value. bool and floats are not integers.
  absl::StatusOr<uint8_t> AsUint8() const;
  absl::StatusOr<int8_t> AsInt8() const;
  absl::StatusOr<uint16_t> AsUint16() const;
  absl::StatusOr<int16_t> AsInt16() const;
  absl::StatusOr<uint32_t> AsUint32() const;
  absl::StatusOr<int32_t> AsInt32() const;
  absl::StatusOr<uint64_t> AsUint64() const;
  absl::StatusOr<int64_t> AsInt64() const;
  // float32 or float64 (a float64 is rounded to the nearest float).
  absl::StatusOr<float> AsFloat32() const;
  absl::StatusOr<double> AsFloat64() const;
  absl::StatusOr<bool> AsBool() const;
  absl::StatusOr<std::string_view> AsString() const;
  absl::StatusOr<GgufArray> AsArray() const;

  // Short human-readable rendering: scalars as values, strings quoted and escaped, arrays
  // as "[array of N <type>: e0, e1, ...]" showing at most `max_elements` elements.
  std::string ToString(size_t max_elements = 8) const;

 private:
  GgufValueType type_ = GgufValueType::kUint8;
  uint64_t unsigned_ = 0;  // uint8..uint64 and bool
  int64_t signed_ = 0;     // int8..int64
  double float_ = 0;       // float32, float64
  std::string_view string_;
  GgufArray array_;
};

}  // namespace smollm::runtime

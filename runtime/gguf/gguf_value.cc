// Typed access to GGUF metadata values and arrays, with range-checked integer conversion.
#include "runtime/gguf/gguf_value.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_cursor.h"

namespace smollm::runtime {

using gguf_internal::Cat;
namespace {

absl::Status TypeMismatch(std::string_view expected, GgufValueType actual) {
  return absl::InvalidArgumentError(
      Cat("expected ", expected, ", got ", GgufValueTypeName(actual)));
}

absl::Status ArrayTypeMismatch(std::string_view expected, GgufValueType actual) {
  return absl::InvalidArgumentError(Cat("expected array of ", expected,
                                                 ", got array of ",
                                                 GgufValueTypeName(actual)));
}

template <typename T>
T Load(const uint8_t* p) {
  T v{};
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// An integer element decoded from its stored type: exactly one of the two is meaningful.
struct StoredInt {
  bool is_signed;
  uint64_t u;
  int64_t s;
};

StoredInt LoadInt(GgufValueType type, const uint8_t* p) {
  switch (type) {
    case GgufValueType::kUint8: return {false, Load<uint8_t>(p), 0};
    case GgufValueType::kUint16: return {false, Load<uint16_t>(p), 0};
    case GgufValueType::kUint32: return {false, Load<uint32_t>(p), 0};
    case GgufValueType::kUint64: return {false, Load<uint64_t>(p), 0};
    case GgufValueType::kInt8: return {true, 0, Load<int8_t>(p)};
    case GgufValueType::kInt16: return {true, 0, Load<int16_t>(p)};
    case GgufValueType::kInt32: return {true, 0, Load<int32_t>(p)};
    default: return {true, 0, Load<int64_t>(p)};  // kInt64; callers pass integers only
  }
}

template <typename T>
bool Fits(const StoredInt& v) {
  return v.is_signed ? std::in_range<T>(v.s) : std::in_range<T>(v.u);
}

std::string StoredIntString(const StoredInt& v) {
  return v.is_signed ? Cat(v.s) : Cat(v.u);
}

template <typename T>
absl::StatusOr<std::vector<T>> IntegerElements(const GgufArray& array,
                                               std::string_view name) {
  if (!GgufIsInteger(array.element_type())) {
    return ArrayTypeMismatch(Cat("integers (for ", name, ")"),
                             array.element_type());
  }
  const uint32_t size = GgufFixedSize(array.element_type());
  const uint8_t* p = array.raw_bytes().data();
  std::vector<T> out;
  out.reserve(array.size());
  for (uint64_t i = 0; i < array.size(); ++i, p += size) {
    const StoredInt v = LoadInt(array.element_type(), p);
    if (!Fits<T>(v)) {
      return absl::InvalidArgumentError(Cat("element ", i, " = ",
                                                     StoredIntString(v),
                                                     " does not fit in ", name));
    }
    out.push_back(v.is_signed ? static_cast<T>(v.s) : static_cast<T>(v.u));
  }
  return out;
}

}  // namespace

// ---- GgufArray ----

absl::StatusOr<std::vector<std::string_view>> GgufArray::Strings() const {
  if (element_type_ != GgufValueType::kString) {
    return ArrayTypeMismatch("string", element_type_);
  }
  std::vector<std::string_view> out;
  out.reserve(size_);
  const uint8_t* p = payload_.data();
  for (uint64_t i = 0; i < size_; ++i) {
    const uint64_t length = Load<uint64_t>(p);  // validated by the parser
    out.emplace_back(reinterpret_cast<const char*>(p + 8), length);
    p += 8 + length;
  }
  return out;
}

absl::StatusOr<std::vector<float>> GgufArray::Float32s() const {
  if (element_type_ != GgufValueType::kFloat32) {
    return ArrayTypeMismatch("float32", element_type_);
  }
  std::vector<float> out(size_);
  if (size_ > 0) std::memcpy(out.data(), payload_.data(), size_ * sizeof(float));
  return out;
}

absl::StatusOr<std::vector<double>> GgufArray::Float64s() const {
  std::vector<double> out;
  out.reserve(size_);
  if (element_type_ == GgufValueType::kFloat32) {
    for (uint64_t i = 0; i < size_; ++i) out.push_back(Load<float>(payload_.data() + 4 * i));
  } else if (element_type_ == GgufValueType::kFloat64) {
    for (uint64_t i = 0; i < size_; ++i) out.push_back(Load<double>(payload_.data() + 8 * i));
  } else {
    return ArrayTypeMismatch("float32 or float64", element_type_);
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> GgufArray::Int32s() const {
  return IntegerElements<int32_t>(*this, "int32");
}
absl::StatusOr<std::vector<uint32_t>> GgufArray::Uint32s() const {
  return IntegerElements<uint32_t>(*this, "uint32");
}
absl::StatusOr<std::vector<int64_t>> GgufArray::Int64s() const {
  return IntegerElements<int64_t>(*this, "int64");
}
absl::StatusOr<std::vector<uint64_t>> GgufArray::Uint64s() const {
  return IntegerElements<uint64_t>(*this, "uint64");
}

absl::StatusOr<std::vector<bool>> GgufArray::Bools() const {
  if (element_type_ != GgufValueType::kBool) return ArrayTypeMismatch("bool", element_type_);
  std::vector<bool> out(size_);
  for (uint64_t i = 0; i < size_; ++i) out[i] = payload_[i] != 0;
  return out;
}

std::vector<GgufValue> GgufArray::Elements() const {
  std::vector<GgufValue> out;
  out.reserve(size_);
  gguf_internal::Cursor cursor(payload_);
  for (uint64_t i = 0; i < size_; ++i) {
    // The payload was validated when the file was parsed, so this cannot fail. Depth
    // counts again from here, so nothing accepted then is rejected now.
    absl::StatusOr<GgufValue> v = gguf_internal::ParseValue(cursor, element_type_, 0, "element");
    if (!v.ok()) break;
    out.push_back(*std::move(v));
  }
  return out;
}

// ---- GgufValue ----

GgufValue GgufValue::Unsigned(GgufValueType type, uint64_t v) {
  GgufValue out;
  out.type_ = type;
  out.unsigned_ = v;
  return out;
}

GgufValue GgufValue::Signed(GgufValueType type, int64_t v) {
  GgufValue out;
  out.type_ = type;
  out.signed_ = v;
  return out;
}

GgufValue GgufValue::Float(GgufValueType type, double v) {
  GgufValue out;
  out.type_ = type;
  out.float_ = v;
  return out;
}

GgufValue GgufValue::Bool(bool v) {
  GgufValue out;
  out.type_ = GgufValueType::kBool;
  out.unsigned_ = v ? 1 : 0;
  return out;
}

GgufValue GgufValue::String(std::string_view v) {
  GgufValue out;
  out.type_ = GgufValueType::kString;
  out.string_ = v;
  return out;
}

GgufValue GgufValue::Array(GgufArray v) {
  GgufValue out;
  out.type_ = GgufValueType::kArray;
  out.array_ = v;
  return out;
}

namespace {

template <typename T>
absl::StatusOr<T> IntegerAs(GgufValueType type, uint64_t u, int64_t s, std::string_view name) {
  if (!GgufIsInteger(type)) return TypeMismatch(name, type);
  const bool is_signed = type == GgufValueType::kInt8 || type == GgufValueType::kInt16 ||
                         type == GgufValueType::kInt32 || type == GgufValueType::kInt64;
  const StoredInt v{is_signed, u, s};
  if (!Fits<T>(v)) {
    return absl::InvalidArgumentError(Cat(GgufValueTypeName(type), " value ",
                                                   StoredIntString(v), " does not fit in ",
                                                   name));
  }
  return is_signed ? static_cast<T>(s) : static_cast<T>(u);
}

}  // namespace

absl::StatusOr<uint8_t> GgufValue::AsUint8() const {
  return IntegerAs<uint8_t>(type_, unsigned_, signed_, "uint8");
}
absl::StatusOr<int8_t> GgufValue::AsInt8() const {
  return IntegerAs<int8_t>(type_, unsigned_, signed_, "int8");
}
absl::StatusOr<uint16_t> GgufValue::AsUint16() const {
  return IntegerAs<uint16_t>(type_, unsigned_, signed_, "uint16");
}
absl::StatusOr<int16_t> GgufValue::AsInt16() const {
  return IntegerAs<int16_t>(type_, unsigned_, signed_, "int16");
}
absl::StatusOr<uint32_t> GgufValue::AsUint32() const {
  return IntegerAs<uint32_t>(type_, unsigned_, signed_, "uint32");
}
absl::StatusOr<int32_t> GgufValue::AsInt32() const {
  return IntegerAs<int32_t>(type_, unsigned_, signed_, "int32");
}
absl::StatusOr<uint64_t> GgufValue::AsUint64() const {
  return IntegerAs<uint64_t>(type_, unsigned_, signed_, "uint64");
}
absl::StatusOr<int64_t> GgufValue::AsInt64() const {
  return IntegerAs<int64_t>(type_, unsigned_, signed_, "int64");
}

absl::StatusOr<float> GgufValue::AsFloat32() const {
  if (!GgufIsFloat(type_)) return TypeMismatch("float32", type_);
  return static_cast<float>(float_);
}

absl::StatusOr<double> GgufValue::AsFloat64() const {
  if (!GgufIsFloat(type_)) return TypeMismatch("float64", type_);
  return float_;
}

absl::StatusOr<bool> GgufValue::AsBool() const {
  if (type_ != GgufValueType::kBool) return TypeMismatch("bool", type_);
  return unsigned_ != 0;
}

absl::StatusOr<std::string_view> GgufValue::AsString() const {
  if (type_ != GgufValueType::kString) return TypeMismatch("string", type_);
  return string_;
}

absl::StatusOr<GgufArray> GgufValue::AsArray() const {
  if (type_ != GgufValueType::kArray) return TypeMismatch("array", type_);
  return array_;
}

std::string GgufValue::ToString(size_t max_elements) const {
  switch (type_) {
    case GgufValueType::kUint8:
    case GgufValueType::kUint16:
    case GgufValueType::kUint32:
    case GgufValueType::kUint64: return Cat(unsigned_);
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64: return Cat(signed_);
    case GgufValueType::kFloat32:
    case GgufValueType::kFloat64: return Cat(float_);
    case GgufValueType::kBool: return unsigned_ != 0 ? "true" : "false";
    case GgufValueType::kString: return Cat("\"", absl::CHexEscape(gguf_internal::Sv(string_)), "\"");
    case GgufValueType::kArray: break;
  }
  std::string out = Cat("[array of ", array_.size(), " ",
                                 GgufValueTypeName(array_.element_type()));
  if (array_.empty() || max_elements == 0) return out + "]";
  out += ":";
  // Decode only the shown prefix (an array may hold 10^5 strings).
  gguf_internal::Cursor cursor(array_.raw_bytes());
  const uint64_t shown = std::min<uint64_t>(array_.size(), max_elements);
  for (uint64_t i = 0; i < shown; ++i) {
    absl::StatusOr<GgufValue> v =
        gguf_internal::ParseValue(cursor, array_.element_type(), 0, "element");
    if (!v.ok()) break;
    out += i == 0 ? " " : ", ";
    out += v->ToString(max_elements);
  }
  if (shown < array_.size()) out += ", ...";
  return out + "]";
}

}  // namespace smollm::runtime

// Bounds-checked reads and the validating metadata value parser.
#include "runtime/gguf/gguf_cursor.h"

#include "absl/strings/str_cat.h"
#include "runtime/core/checked_math.h"
#include "runtime/core/status.h"

namespace smollm::runtime::gguf_internal {

absl::Status Cursor::Truncated(std::string_view field, uint64_t needed) const {
  return absl::DataLossError(Cat("truncated file: ", field, " at offset ", pos_,
                                          " needs ", needed, " bytes but only ",
                                          remaining(), " remain"));
}

absl::Status Cursor::ReadString(std::string_view* out, std::string_view field) {
  const uint64_t start = pos_;
  uint64_t length = 0;
  RETURN_IF_ERROR(Read(&length, field));
  if (length > remaining()) {
    const uint64_t left = remaining();
    pos_ = start;
    return absl::DataLossError(Cat(field, " at offset ", start, ": string length ",
                                            length, " runs past the end of the file (",
                                            left, " bytes left)"));
  }
  *out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
  pos_ += length;
  return absl::OkStatus();
}

absl::StatusOr<std::span<const uint8_t>> Cursor::Take(uint64_t n, std::string_view field) {
  if (n > remaining()) return Truncated(field, n);
  std::span<const uint8_t> out = bytes_.subspan(pos_, n);
  pos_ += n;
  return out;
}

namespace {

// Smallest encoding of one element of `type`: its size, a string's length field, or an
// array's element type and count. Bounds counts by the bytes left before any work.
uint64_t MinEncodedSize(GgufValueType type) {
  if (type == GgufValueType::kString) return 8;
  if (type == GgufValueType::kArray) return 12;
  return GgufFixedSize(type);
}

template <typename T>
absl::StatusOr<T> ReadScalar(Cursor& cursor, std::string_view field) {
  T v{};
  RETURN_IF_ERROR(cursor.Read(&v, field));
  return v;
}

absl::Status WithElement(const absl::Status& status, uint64_t index) {
  return absl::Status(status.code(), Cat("element ", index, " of ", status.message()));
}

absl::StatusOr<GgufValue> ParseArray(Cursor& cursor, int depth, std::string_view field) {
  const uint64_t start = cursor.pos();
  if (depth > kGgufMaxArrayDepth) {
    return absl::InvalidArgumentError(
        Cat(field, " at offset ", start, ": arrays nested deeper than ",
                     kGgufMaxArrayDepth, " levels"));
  }
  uint32_t raw_type = 0;
  RETURN_IF_ERROR(cursor.Read(&raw_type, Cat(field, " array element type")));
  const std::optional<GgufValueType> element_type = GgufValueTypeFromRaw(raw_type);
  if (!element_type) {
    return absl::InvalidArgumentError(Cat(field, " at offset ", start,
                                                   ": unknown array element type ",
                                                   raw_type));
  }
  const uint64_t count_offset = cursor.pos();
  uint64_t count = 0;
  RETURN_IF_ERROR(cursor.Read(&count, Cat(field, " array count")));
  const uint64_t min_size = MinEncodedSize(*element_type);
  if (count > cursor.remaining() / min_size) {
    return absl::DataLossError(Cat(
        field, " at offset ", count_offset, ": array of ", count, " ",
        GgufValueTypeName(*element_type), " elements runs past the end of the file (",
        cursor.remaining(), " bytes left)"));
  }
  const uint64_t payload_start = cursor.pos();
  // Element names are built only on failure: token arrays hold 10^5 strings.
  if (*element_type == GgufValueType::kString) {
    std::string_view s;
    for (uint64_t i = 0; i < count; ++i) {
      absl::Status status = cursor.ReadString(&s, field);
      if (!status.ok()) return WithElement(status, i);
    }
  } else if (*element_type == GgufValueType::kArray) {
    for (uint64_t i = 0; i < count; ++i) {
      absl::Status status = ParseArray(cursor, depth + 1, field).status();
      if (!status.ok()) return WithElement(status, i);
    }
  } else {
    // count * size cannot overflow: count <= remaining / size.
    RETURN_IF_ERROR(cursor.Take(count * min_size, field).status());
  }
  const std::span<const uint8_t> payload =
      cursor.bytes().subspan(payload_start, cursor.pos() - payload_start);
  return GgufValue::Array(GgufArray(*element_type, count, payload));
}

}  // namespace

absl::StatusOr<GgufValue> ParseValue(Cursor& cursor, GgufValueType type, int depth,
                                     std::string_view field) {
  switch (type) {
    case GgufValueType::kUint8: {
      ASSIGN_OR_RETURN(uint8_t v, ReadScalar<uint8_t>(cursor, field));
      return GgufValue::Unsigned(type, v);
    }
    case GgufValueType::kUint16: {
      ASSIGN_OR_RETURN(uint16_t v, ReadScalar<uint16_t>(cursor, field));
      return GgufValue::Unsigned(type, v);
    }
    case GgufValueType::kUint32: {
      ASSIGN_OR_RETURN(uint32_t v, ReadScalar<uint32_t>(cursor, field));
      return GgufValue::Unsigned(type, v);
    }
    case GgufValueType::kUint64: {
      ASSIGN_OR_RETURN(uint64_t v, ReadScalar<uint64_t>(cursor, field));
      return GgufValue::Unsigned(type, v);
    }
    case GgufValueType::kInt8: {
      ASSIGN_OR_RETURN(int8_t v, ReadScalar<int8_t>(cursor, field));
      return GgufValue::Signed(type, v);
    }
    case GgufValueType::kInt16: {
      ASSIGN_OR_RETURN(int16_t v, ReadScalar<int16_t>(cursor, field));
      return GgufValue::Signed(type, v);
    }
    case GgufValueType::kInt32: {
      ASSIGN_OR_RETURN(int32_t v, ReadScalar<int32_t>(cursor, field));
      return GgufValue::Signed(type, v);
    }
    case GgufValueType::kInt64: {
      ASSIGN_OR_RETURN(int64_t v, ReadScalar<int64_t>(cursor, field));
      return GgufValue::Signed(type, v);
    }
    case GgufValueType::kFloat32: {
      ASSIGN_OR_RETURN(float v, ReadScalar<float>(cursor, field));
      return GgufValue::Float(type, v);
    }
    case GgufValueType::kFloat64: {
      ASSIGN_OR_RETURN(double v, ReadScalar<double>(cursor, field));
      return GgufValue::Float(type, v);
    }
    case GgufValueType::kBool: {
      ASSIGN_OR_RETURN(uint8_t v, ReadScalar<uint8_t>(cursor, field));
      return GgufValue::Bool(v != 0);
    }
    case GgufValueType::kString: {
      std::string_view s;
      RETURN_IF_ERROR(cursor.ReadString(&s, field));
      return GgufValue::String(s);
    }
    case GgufValueType::kArray:
      return ParseArray(cursor, depth + 1, field);
  }
  return absl::InvalidArgumentError(Cat(field, " at offset ", cursor.pos(),
                                                 ": unknown value type ",
                                                 static_cast<uint32_t>(type)));
}

}  // namespace smollm::runtime::gguf_internal

// An order-preserving JSON value and a parser that accepts what Python's json.loads accepts,
// so that a value dumps back exactly as Python would print the object json.loads returned.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace smollm::runtime {

struct JsonMember;

// A JSON value as Python's json.loads sees it: integers stay integers of any length (kept as
// their canonical decimal text), numbers with a fraction or exponent become doubles, and an
// object keeps its keys in first-appearance order (a repeated key keeps its first position
// and takes its last value, as a Python dict does). Strings hold valid UTF-8.
class JsonValue {
 public:
  enum class Kind { kNull, kBool, kInt, kFloat, kString, kArray, kObject };

  JsonValue() = default;  // null
  static JsonValue Bool(bool value);
  // `digits`: canonical decimal text, an optional '-' then digits without leading zeros
  // ("0" never carries a sign). The caller guarantees the form; the parser produces it.
  static JsonValue Int(std::string digits);
  static JsonValue Float(double value);
  static JsonValue String(std::string utf8);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<JsonMember> members);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool bool_value() const { return bool_value_; }
  double float_value() const { return float_value_; }
  // The string of a kString, the decimal digits of a kInt.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<JsonMember>& members() const { return members_; }

  // The value of `key` in an object, or nullptr (also for non-objects).
  const JsonValue* Find(std::string_view key) const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_value_ = false;
  double float_value_ = 0.0;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<JsonMember> members_;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// Deepest nesting of arrays and objects the parser accepts (Python's own limit is its
// recursion limit, about 1000).
inline constexpr size_t kMaxJsonDepth = 512;

// Parses one JSON text with Python's json.loads rules: RFC 8259 plus the constants NaN,
// Infinity and -Infinity; whitespace is only space, tab, CR and LF; control characters inside
// strings are rejected. Differences, all rejections of input Python would take: invalid UTF-8,
// unpaired \uD800-\uDFFF escapes (they have no UTF-8 form), nesting beyond kMaxJsonDepth.
// Integers longer than 4300 digits are rejected as Python does (its int() limit).
// Errors: InvalidArgument "invalid JSON at byte N: <reason>".
absl::StatusOr<JsonValue> ParseJson(std::string_view text);

}  // namespace smollm::runtime

// JsonValue and its parser, following Python's json.loads (the C scanner's rules).
#include "runtime/tokenizer/json_value.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/json_value_text.h"

namespace smollm::runtime {

JsonValue JsonValue::Bool(bool value) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_value_ = value;
  return v;
}

JsonValue JsonValue::Int(std::string digits) {
  JsonValue v;
  v.kind_ = Kind::kInt;
  v.text_ = std::move(digits);
  return v;
}

JsonValue JsonValue::Float(double value) {
  JsonValue v;
  v.kind_ = Kind::kFloat;
  v.float_value_ = value;
  return v;
}

JsonValue JsonValue::String(std::string utf8) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(utf8);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.kind_ = Kind::kArray;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(std::vector<JsonMember> members) {
  JsonValue v;
  v.kind_ = Kind::kObject;
  v.members_ = std::move(members);
  return v;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const JsonMember& member : members_) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

namespace {

// Python's int() refuses decimal strings longer than this (sys.int_info.default_max_str_digits).
constexpr size_t kMaxIntDigits = 4300;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    if (const std::optional<size_t> bad = FindInvalidUtf8(text_)) {
      return Error(*bad, "invalid UTF-8");
    }
    SkipWhitespace();
    ASSIGN_OR_RETURN(JsonValue value, ParseValue(0));
    SkipWhitespace();
    if (pos_ != text_.size()) return Error(pos_, "extra data after the value");
    return value;
  }

 private:
  absl::Status Error(size_t at, absl::string_view reason) const {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON at byte ", at, ": ", reason));
  }

  void SkipWhitespace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::StatusOr<JsonValue> ParseValue(size_t depth) {
    if (pos_ >= text_.size()) return Error(pos_, "expected a value, found the end");
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxJsonDepth) return Error(pos_, "nesting deeper than 512");
      return c == '{' ? ParseObject(depth + 1) : ParseArray(depth + 1);
    }
    if (c == '"') {
      ASSIGN_OR_RETURN(std::string s, ParseString());
      return JsonValue::String(std::move(s));
    }
    if (Consume("null")) return JsonValue();
    if (Consume("true")) return JsonValue::Bool(true);
    if (Consume("false")) return JsonValue::Bool(false);
    if (Consume("NaN")) return JsonValue::Float(std::numeric_limits<double>::quiet_NaN());
    if (Consume("Infinity")) return JsonValue::Float(std::numeric_limits<double>::infinity());
    if (Consume("-Infinity")) return JsonValue::Float(-std::numeric_limits<double>::infinity());
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    return Error(pos_, "expected a value");
  }

  absl::StatusOr<JsonValue> ParseArray(size_t depth) {
    ++pos_;  // '['
    std::vector<JsonValue> items;
    SkipWhitespace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return JsonValue::Array(std::move(items));
    }
    while (true) {
      SkipWhitespace();
      ASSIGN_OR_RETURN(JsonValue item, ParseValue(depth));
      items.push_back(std::move(item));
      SkipWhitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return JsonValue::Array(std::move(items));
      }
      return Error(pos_, "expected ',' or ']'");
    }
  }

  absl::StatusOr<JsonValue> ParseObject(size_t depth) {
    ++pos_;  // '{'
    std::vector<JsonMember> members;
    absl::flat_hash_map<std::string, size_t> index;  // key -> position in `members`
    SkipWhitespace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return JsonValue::Object(std::move(members));
    }
    while (true) {
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error(pos_, "expected a key string");
      ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Error(pos_, "expected ':'");
      ++pos_;
      SkipWhitespace();
      ASSIGN_OR_RETURN(JsonValue value, ParseValue(depth));
      // A repeated key keeps its first position and takes the last value, like dict[key] = v.
      const auto [it, inserted] = index.try_emplace(key, members.size());
      if (inserted) {
        members.push_back(JsonMember{std::move(key), std::move(value)});
      } else {
        members[it->second].value = std::move(value);
      }
      SkipWhitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return JsonValue::Object(std::move(members));
      }
      return Error(pos_, "expected ',' or '}'");
    }
  }

  // Reads 4 hex digits at pos_ (after "\u").
  absl::StatusOr<char32_t> ParseHex4() {
    if (text_.size() - pos_ < 4) return Error(pos_, "truncated \\u escape");
    char32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_ + i];
      value <<= 4;
      if (h >= '0' && h <= '9') {
        value |= h - '0';
      } else if (h >= 'a' && h <= 'f') {
        value |= h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        value |= h - 'A' + 10;
      } else {
        return Error(pos_ + i, "invalid \\u escape");
      }
    }
    pos_ += 4;
    return value;
  }

  absl::StatusOr<std::string> ParseString() {
    const size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) return Error(start, "unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return Error(pos_, "control character in a string");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));  // UTF-8 was validated up front
        ++pos_;
        continue;
      }
      const size_t escape_at = pos_;
      if (++pos_ >= text_.size()) return Error(escape_at, "unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          ASSIGN_OR_RETURN(char32_t unit, ParseHex4());
          if (unit >= 0xDC00 && unit <= 0xDFFF) return Error(escape_at, "unpaired surrogate");
          if (unit >= 0xD800 && unit <= 0xDBFF) {
            // Only a following \uDC00..\uDFFF completes the pair.
            if (text_.substr(pos_, 2) != "\\u") return Error(escape_at, "unpaired surrogate");
            pos_ += 2;
            ASSIGN_OR_RETURN(char32_t low, ParseHex4());
            if (low < 0xDC00 || low > 0xDFFF) return Error(escape_at, "unpaired surrogate");
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(unit, &out);
          break;
        }
        default:
          return Error(escape_at, "invalid escape");
      }
    }
  }

  absl::StatusOr<JsonValue> ParseNumber() {
    const size_t start = pos_;
    const auto digit_at = [&](size_t i) {
      return i < text_.size() && text_[i] >= '0' && text_[i] <= '9';
    };
    bool negative = false;
    if (text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    const size_t int_start = pos_;
    if (!digit_at(pos_)) return Error(start, "expected a value");
    if (text_[pos_] == '0') {
      ++pos_;  // a leading zero stands alone; "01" leaves "1" as extra data, as in Python
    } else {
      while (digit_at(pos_)) ++pos_;
    }
    const size_t int_end = pos_;
    bool is_float = false;
    if (pos_ < text_.size() && text_[pos_] == '.' && digit_at(pos_ + 1)) {
      is_float = true;
      ++pos_;
      while (digit_at(pos_)) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (digit_at(p)) {  // otherwise the 'e' is left over and reported as extra data
        is_float = true;
        pos_ = p;
        while (digit_at(pos_)) ++pos_;
      }
    }
    if (!is_float) {
      std::string digits(text_.substr(int_start, int_end - int_start));
      if (digits.size() > kMaxIntDigits) return Error(start, "integer longer than 4300 digits");
      if (negative && digits != "0") digits.insert(digits.begin(), '-');
      return JsonValue::Int(std::move(digits));
    }
    return JsonValue::Float(ToDouble(text_.substr(start, pos_ - start)));
  }

  // Correctly rounded, like Python's float(); out-of-range values become ±inf or ±0.
  static double ToDouble(std::string_view number) {
    double value = 0.0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    (void)end;
    if (ec != std::errc::result_out_of_range) return value;
    const bool negative = number.front() == '-';
    // Decide overflow or underflow from the decimal exponent of the first non-zero digit.
    const size_t e_at = number.find_first_of("eE");
    const std::string_view mantissa = number.substr(0, e_at);
    long long exponent = 0;
    if (e_at != std::string_view::npos) {
      std::string_view exp_text = number.substr(e_at + 1);
      const bool exp_negative = !exp_text.empty() && exp_text.front() == '-';
      if (!exp_text.empty() && (exp_text.front() == '-' || exp_text.front() == '+')) {
        exp_text.remove_prefix(1);
      }
      for (char d : exp_text) {
        exponent = std::min<long long>(exponent * 10 + (d - '0'), 1'000'000'000);
      }
      if (exp_negative) exponent = -exponent;
    }
    long long position = 0;  // decimal exponent of the leading digit, before `exponent`
    const size_t point = mantissa.find('.');
    const size_t int_digits =
        (point == std::string_view::npos ? mantissa.size() : point) - (negative ? 1 : 0);
    const size_t first_nonzero = mantissa.find_first_of("123456789");
    if (first_nonzero == std::string_view::npos) return negative ? -0.0 : 0.0;
    const long long digit_index = static_cast<long long>(first_nonzero) - (negative ? 1 : 0);
    position = digit_index < static_cast<long long>(int_digits)
                   ? static_cast<long long>(int_digits) - digit_index - 1
                   : static_cast<long long>(int_digits) - digit_index;
    const double magnitude =
        position + exponent >= 0 ? std::numeric_limits<double>::infinity() : 0.0;
    return negative ? -magnitude : magnitude;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<JsonValue> ParseJson(std::string_view text) { return Parser(text).ParseDocument(); }

}  // namespace smollm::runtime

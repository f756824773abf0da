// json.dumps and str() of a JsonValue, byte for byte as CPython 3.11 prints them.
#include "runtime/tokenizer/json_value_python.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/tokenizer/json_value_text.h"

namespace smollm::runtime {
namespace {

void AppendJsonString(std::string_view utf8, std::string* out) {
  out->push_back('"');
  for (const char ch : utf8) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(ch);  // ensure_ascii=False: everything else verbatim, DEL included
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string PythonFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, as CPython's repr (both pick the nearest shortest string).
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string_view text(buffer, result.ptr - buffer);
  std::string out;
  if (!text.empty() && text.front() == '-') {
    out.push_back('-');
    text.remove_prefix(1);
  }
  const size_t e_at = text.find('e');
  std::string digits;
  for (const char c : text.substr(0, e_at)) {
    if (c != '.') digits.push_back(c);
  }
  const int exponent = std::atoi(std::string(text.substr(e_at + 1)).c_str());
  const int ndigits = static_cast<int>(digits.size());
  if (exponent < -4 || exponent >= 16) {
    out.push_back(digits[0]);
    if (ndigits > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppendFormat(&out, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out;
  }
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) {
    absl::StrAppend(&out, "0.", std::string(-point, '0'), digits);
  } else if (point < ndigits) {
    absl::StrAppend(&out, digits.substr(0, point), ".", digits.substr(point));
  } else {
    absl::StrAppend(&out, digits, std::string(point - ndigits, '0'), ".0");
  }
  return out;
}

// Python's two ways of printing a JSON-like value: json.dumps (kJson) and str()/repr()
// (kRepr). They differ only in scalars and string quoting; containers share one shape.
enum class PythonStyle { kJson, kRepr };
void AppendPython(const JsonValue& value, PythonStyle style, std::string* out);

std::string DumpJsonPython(const JsonValue& value) {
  std::string out;
  AppendPython(value, PythonStyle::kJson, &out);
  return out;
}

void AppendPythonStringRepr(std::string_view utf8, std::string* out) {
  // CPython's unicode_repr: prefer single quotes; switch to double quotes only when the text
  // has a single quote and no double quote.
  const bool has_single = utf8.find('\'') != std::string_view::npos;
  const bool has_double = utf8.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out->push_back(quote);
  size_t pos = 0;
  while (pos < utf8.size()) {
    const std::optional<Utf8CodePoint> decoded = DecodeUtf8At(utf8, pos);
    if (!decoded) {  // not reachable for parsed values; keep the byte visible all the same
      absl::StrAppendFormat(out, "\\x%02x", static_cast<unsigned char>(utf8[pos]));
      ++pos;
      continue;
    }
    const char32_t c = decoded->code_point;
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(out, "\\x%02x", static_cast<unsigned>(c));
    } else if (c < 0x7F || IsPythonPrintable(c)) {
      out->append(utf8.substr(pos, decoded->length));
    } else if (c <= 0xFF) {
      absl::StrAppendFormat(out, "\\x%02x", static_cast<unsigned>(c));
    } else if (c <= 0xFFFF) {
      absl::StrAppendFormat(out, "\\u%04x", static_cast<unsigned>(c));
    } else {
      absl::StrAppendFormat(out, "\\U%08x", static_cast<unsigned>(c));
    }
    pos += decoded->length;
  }
  out->push_back(quote);
}

void AppendPython(const JsonValue& value, PythonStyle style, std::string* out) {
  const bool json = style == PythonStyle::kJson;
  auto append_string = [&](const std::string& text) {
    if (json) {
      AppendJsonString(text, out);
    } else {
      AppendPythonStringRepr(text, out);
    }
  };
  switch (value.kind()) {
    case JsonValue::Kind::kNull:
      out->append(json ? "null" : "None");
      return;
    case JsonValue::Kind::kBool:
      out->append(value.bool_value() ? (json ? "true" : "True") : (json ? "false" : "False"));
      return;
    case JsonValue::Kind::kInt:
      out->append(value.text());
      return;
    case JsonValue::Kind::kFloat: {
      const double f = value.float_value();
      if (json && std::isnan(f)) {
        out->append("NaN");
      } else if (json && std::isinf(f)) {
        out->append(f < 0 ? "-Infinity" : "Infinity");
      } else {
        out->append(PythonFloatRepr(f));
      }
      return;
    }
    case JsonValue::Kind::kString:
      append_string(value.text());
      return;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : value.items()) {
        if (!first) out->append(", ");
        first = false;
        AppendPython(item, style, out);
      }
      out->push_back(']');
      return;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const JsonMember& member : value.members()) {
        if (!first) out->append(", ");
        first = false;
        append_string(member.key);
        out->append(": ");
        AppendPython(member.value, style, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string PythonStr(const JsonValue& value) {
  if (value.kind() == JsonValue::Kind::kString) return value.text();  // str(s) is s itself
  std::string out;
  AppendPython(value, PythonStyle::kRepr, &out);
  return out;
}

}  // namespace smollm::runtime

// Prints a JsonValue the two ways Python prints the object json.loads returned: json.dumps
// (what transformers' `tojson` filter emits) and str() (what Jinja's `string` filter emits).
#pragma once

#include <string>
#include <string_view>

#include "runtime/tokenizer/json_value.h"

namespace smollm::runtime {

// json.dumps(value, ensure_ascii=False): separators ", " and ": ", keys in stored order,
// non-ASCII text as is, `"` `\` and control characters escaped (\n \r \t \b \f, else \u00xx),
// floats as repr() prints them, NaN/Infinity/-Infinity for the non-finite ones.
std::string DumpJsonPython(const JsonValue& value);
void AppendJsonPython(const JsonValue& value, std::string* out);

// str(value) in Python 3.11: dicts and lists in repr form ({'a': [1, 2.5, True, None]}),
// strings quoted and escaped as repr() does; a top-level string prints as itself.
std::string PythonStr(const JsonValue& value);
void AppendPythonRepr(const JsonValue& value, std::string* out);

// repr() of a Python str holding `utf8` (valid UTF-8): single quotes unless the text has a
// single quote and no double quote; \\, \t, \n, \r, \xhh, \uhhhh, \Uhhhhhhhh escapes for
// the quote, the backslash and the characters str.isprintable() rejects.
void AppendPythonStringRepr(std::string_view utf8, std::string* out);

// repr() of a Python float: the shortest text that round-trips, fixed notation when the
// decimal exponent is in [-4, 16), else d.ddde±XX; "inf", "-inf", "nan".
std::string PythonFloatRepr(double value);

}  // namespace smollm::runtime

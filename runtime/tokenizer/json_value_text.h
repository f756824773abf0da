// UTF-8 decoding and the few Python `str` semantics (isspace, isprintable, rstrip) that the
// JSON value and the chat templates must reproduce exactly.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace smollm::runtime {

// One decoded code point and the number of bytes it took.
struct Utf8CodePoint {
  char32_t code_point = 0;
  size_t length = 0;
};

// Decodes the well-formed UTF-8 sequence starting at `text[pos]` (pos < text.size()).
// Returns nullopt for a malformed, overlong, truncated or surrogate-encoding sequence.
std::optional<Utf8CodePoint> DecodeUtf8At(std::string_view text, size_t pos);

// Byte offset of the first malformed UTF-8 sequence, or nullopt when `text` is valid.
std::optional<size_t> FindInvalidUtf8(std::string_view text);

// Appends `code_point` (<= 0x10FFFF, not a surrogate) encoded as UTF-8.
void AppendUtf8(char32_t code_point, std::string* out);

// Python's str.isspace() for one code point (the set `str.strip()` removes by default).
bool IsPythonWhitespace(char32_t code_point);

// Python 3.11's str.isprintable() for one code point (Unicode 14.0 tables): false for the
// categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than the ASCII space.
bool IsPythonPrintable(char32_t code_point);

// Python's `text.rstrip()` with no argument, on valid UTF-8.
std::string_view PythonRstrip(std::string_view text);

// Python's `text.lstrip(chars)` where every char of `chars` is ASCII.
std::string_view PythonLstripAscii(std::string_view text, std::string_view chars);

// Python's `text.replace(from, to)` for a non-empty `from` (byte-wise, which on valid UTF-8
// is the same as code-point-wise).
std::string PythonReplace(std::string_view text, std::string_view from, std::string_view to);

}  // namespace smollm::runtime

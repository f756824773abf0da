// UTF-8 decoding (lenient and strict) and encoding.
#include "runtime/tokenizer/utf8.h"

namespace smollm::runtime {
namespace {

inline bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

size_t DecodeUtf8Lenient(std::string_view text, size_t pos, uint32_t* cp) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const uint8_t b0 = s[pos];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t value;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    value = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    value = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    value = b0 & 0x07;
  } else {  // a continuation byte or F8..FF in lead position
    *cp = kReplacementCharacter;
    return 1;
  }
  if (n - pos < len) {
    *cp = kReplacementCharacter;
    return 1;
  }
  for (size_t i = 1; i < len; ++i) {
    if (!IsContinuation(s[pos + i])) {
      *cp = kReplacementCharacter;
      return 1;
    }
    value = (value << 6) | (s[pos + i] & 0x3F);
  }
  if (value > 0x10FFFF) {
    *cp = kReplacementCharacter;
    return 1;
  }
  *cp = value;
  return len;
}

Utf8Step DecodeUtf8Strict(std::string_view text, size_t pos, uint32_t* cp, size_t* len) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const uint8_t b0 = s[pos];
  if (b0 < 0x80) {
    *cp = b0;
    *len = 1;
    return Utf8Step::kValid;
  }
  // Expected length and the allowed range of the second byte (Table 3-7).
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    *len = 1;
    return Utf8Step::kInvalid;
  }
  for (size_t i = 1; i < need; ++i) {
    if (pos + i >= n) return Utf8Step::kIncomplete;
    const uint8_t b = s[pos + i];
    const bool ok = i == 1 ? (b >= lo && b <= hi) : IsContinuation(b);
    if (!ok) {
      *len = i;
      return Utf8Step::kInvalid;
    }
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  *len = need;
  return Utf8Step::kValid;
}

size_t EncodeUtf8(uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp <= 0x10FFFF) {
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
  }
  return 0;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  char buf[4];
  out->append(buf, EncodeUtf8(cp, buf));
}

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t len;
    if (DecodeUtf8Strict(text, pos, &cp, &len) != Utf8Step::kValid) return false;
    pos += len;
  }
  return true;
}

}  // namespace smollm::runtime

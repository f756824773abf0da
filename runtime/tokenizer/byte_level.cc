// GPT-2 byte-level alphabet tables.
#include "runtime/tokenizer/byte_level.h"

#include <array>

#include "runtime/tokenizer/utf8.h"

namespace smollm::runtime {
namespace {

bool MapsToItself(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Alphabet {
  std::array<uint32_t, 256> byte_to_symbol;
  std::array<int16_t, 0x144> symbol_to_byte;  // every symbol is below U+0144
};

const Alphabet& GetAlphabet() {
  static const Alphabet alphabet = [] {
    Alphabet a;
    a.symbol_to_byte.fill(-1);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = MapsToItself(b) ? static_cast<uint32_t>(b) : next++;
      a.byte_to_symbol[b] = cp;
      a.symbol_to_byte[cp] = static_cast<int16_t>(b);
    }
    return a;
  }();
  return alphabet;
}

}  // namespace

uint32_t ByteToSymbol(uint8_t b) { return GetAlphabet().byte_to_symbol[b]; }

int SymbolToByte(uint32_t cp) {
  const Alphabet& a = GetAlphabet();
  return cp < a.symbol_to_byte.size() ? a.symbol_to_byte[cp] : -1;
}

std::optional<std::string> ByteLevelDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t len;
    if (DecodeUtf8Strict(text, pos, &cp, &len) != Utf8Step::kValid) return std::nullopt;
    const int b = SymbolToByte(cp);
    if (b < 0) return std::nullopt;
    out.push_back(static_cast<char>(b));
    pos += len;
  }
  return out;
}

std::string ByteLevelEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendUtf8(ByteToSymbol(static_cast<uint8_t>(c)), &out);
  return out;
}

}  // namespace smollm::runtime

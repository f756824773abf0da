// The GPT-2 byte-level alphabet: every byte value is spelled by one printable codepoint,
// which is how byte-level BPE vocabularies store token text and merges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smollm::runtime {

// The codepoint that spells byte `b`: b itself for '!'..'~', U+00A1..U+00AC and
// U+00AE..U+00FF; the remaining 68 bytes, in increasing order, take U+0100.. U+0143.
uint32_t ByteToSymbol(uint8_t b);

// The byte spelled by `cp`, or -1 when `cp` is not in the alphabet.
int SymbolToByte(uint32_t cp);

// Token text -> the bytes it spells. nullopt when `text` is not well-formed UTF-8 or
// holds a codepoint outside the alphabet (such a token cannot come out of byte-level
// BPE; it can only be a special token matched on raw text).
std::optional<std::string> ByteLevelDecode(std::string_view text);

// Bytes -> token text (each byte becomes its symbol's UTF-8).
std::string ByteLevelEncode(std::string_view bytes);

}  // namespace smollm::runtime

// UTF-8 decoding and encoding: the lenient decoder the tokenizer uses on raw input, and a
// strict one for output that must be valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smollm::runtime {

inline constexpr uint32_t kReplacementCharacter = 0xFFFD;

// Decodes the codepoint at text[pos] (pos < text.size()) exactly as llama.cpp's
// tokenizer does, so that arbitrary bytes tokenize the same way:
//  - a lead byte followed by the right number of continuation bytes (10xxxxxx) decodes
//    to the value they spell, with no check for overlong forms or surrogates (C0 80 is
//    U+0000, ED A0 80 is U+D800);
//  - anything else (a stray continuation byte, F8..FF, a truncated sequence) is
//    U+FFFD and consumes exactly one byte.
// One deliberate difference: a 4-byte form above U+10FFFF (F4 90.., F5..F7) is also
// U+FFFD consuming one byte; llama.cpp throws from inside tokenization there.
// Returns the number of bytes consumed (1 to 4).
size_t DecodeUtf8Lenient(std::string_view text, size_t pos, uint32_t* cp);

// Result of a strict decode step.
enum class Utf8Step {
  kValid,       // *cp and *len describe one well-formed sequence
  kIncomplete,  // text ends inside a sequence that could still become valid
  kInvalid,     // *len bytes (the maximal ill-formed subpart, >= 1) replace by U+FFFD
};

// Strict (Unicode Table 3-7) decode at text[pos], pos < text.size(): rejects overlong
// forms, surrogates and values above U+10FFFF.
Utf8Step DecodeUtf8Strict(std::string_view text, size_t pos, uint32_t* cp, size_t* len);

// Writes the 1..4 byte form of `cp` (<= 0x10FFFF; surrogates are encoded as they are,
// as the lenient decoder produces them) to out[0..3] and returns its length; 0 for a
// value above U+10FFFF.
size_t EncodeUtf8(uint32_t cp, char* out);

// Appends EncodeUtf8(cp) to *out.
void AppendUtf8(uint32_t cp, std::string* out);

// True when the whole of `text` is well-formed UTF-8 (strict).
bool IsValidUtf8(std::string_view text);

}  // namespace smollm::runtime

// Unicode general-category flags per codepoint, as the pre-tokenizer regexes see them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smollm::runtime {

// One byte per codepoint. The category bits are mutually exclusive; kUnicodeWhitespace
// (the White_Space property, i.e. regex \s) is independent of them. An unassigned
// codepoint (Cn) has no category bit; a value past U+10FFFF has no bits at all.
enum UnicodeFlag : uint8_t {
  kUnicodeLetter = 0x01,       // \p{L}
  kUnicodeNumber = 0x02,       // \p{N}
  kUnicodeWhitespace = 0x04,   // \s
  kUnicodePunctuation = 0x08,  // \p{P}
  kUnicodeSymbol = 0x10,       // \p{S}
  kUnicodeMark = 0x20,         // \p{M}
  kUnicodeSeparator = 0x40,    // \p{Z}
  kUnicodeControl = 0x80,      // \p{C} except Cn
};

// A run of codepoints sharing flags, from `first` to the next entry's first - 1.
struct UnicodeRange {
  uint32_t first;
  uint8_t flags;
};

// The generated table (unicode_tables.cc): sorted, starting at 0, covering U+10FFFF.
extern const UnicodeRange kUnicodeRanges[];
extern const size_t kUnicodeRangeCount;
extern const char kUnicodeTablesVersion[];  // the Unicode version it was built from

// Flags of `cp`. O(1) below U+10000 (a 64 KiB table built on first use, thread-safe),
// a binary search above. Thread-safe.
uint8_t UnicodeFlags(uint32_t cp);

}  // namespace smollm::runtime

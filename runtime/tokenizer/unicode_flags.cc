// Codepoint flag lookup over the generated range table.
#include "runtime/tokenizer/unicode_flags.h"

#include <algorithm>
#include <array>

namespace smollm::runtime {
namespace {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr uint32_t kBmpSize = 0x10000;

uint8_t SearchRanges(uint32_t cp) {
  const UnicodeRange* end = kUnicodeRanges + kUnicodeRangeCount;
  // The last range whose first codepoint is <= cp; the table starts at 0.
  const UnicodeRange* it = std::upper_bound(
      kUnicodeRanges, end, cp, [](uint32_t v, const UnicodeRange& r) { return v < r.first; });
  return (it - 1)->flags;
}

// Most text lives in the BMP: expand it once so the hot path is a single load.
const std::array<uint8_t, kBmpSize>& BmpTable() {
  static const std::array<uint8_t, kBmpSize>* const table = [] {
    auto* t = new std::array<uint8_t, kBmpSize>();
    for (size_t i = 0; i < kUnicodeRangeCount; ++i) {
      const uint32_t first = kUnicodeRanges[i].first;
      if (first >= kBmpSize) break;
      const uint32_t last =
          i + 1 < kUnicodeRangeCount ? std::min(kUnicodeRanges[i + 1].first, kBmpSize) : kBmpSize;
      std::fill(t->begin() + first, t->begin() + last, kUnicodeRanges[i].flags);
    }
    return t;
  }();
  return *table;
}

}  // namespace

uint8_t UnicodeFlags(uint32_t cp) {
  if (cp < kBmpSize) return BmpTable()[cp];
  if (cp > kMaxCodepoint) return 0;
  return SearchRanges(cp);
}

}  // namespace smollm::runtime

// Codepoint flags: spot checks against Unicode 15.1 and the BMP table vs the ranges.
#include "runtime/tokenizer/unicode_flags.h"

#include <string>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

constexpr uint8_t kCategories = static_cast<uint8_t>(~kUnicodeWhitespace);

TEST(UnicodeFlags, TableIsWellFormed) {
  EXPECT_EQ(std::string(kUnicodeTablesVersion), "15.1.0");
  ASSERT_GT(kUnicodeRangeCount, 100u);
  EXPECT_EQ(kUnicodeRanges[0].first, 0u);
  for (size_t i = 1; i < kUnicodeRangeCount; ++i) {
    ASSERT_LT(kUnicodeRanges[i - 1].first, kUnicodeRanges[i].first) << i;
    ASSERT_NE(kUnicodeRanges[i - 1].flags, kUnicodeRanges[i].flags) << i;
  }
  EXPECT_LE(kUnicodeRanges[kUnicodeRangeCount - 1].first, 0x10FFFFu);
}

TEST(UnicodeFlags, LookupAgreesWithTheRangesEverywhere) {
  size_t r = 0;
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    while (r + 1 < kUnicodeRangeCount && kUnicodeRanges[r + 1].first <= cp) ++r;
    ASSERT_EQ(UnicodeFlags(cp), kUnicodeRanges[r].flags) << std::hex << cp;
  }
  EXPECT_EQ(UnicodeFlags(0x110000), 0);
  EXPECT_EQ(UnicodeFlags(0xFFFFFFFF), 0);
}

TEST(UnicodeFlags, KnownCodepoints) {
  EXPECT_EQ(UnicodeFlags('A') & kCategories, kUnicodeLetter);
  EXPECT_EQ(UnicodeFlags(0x4E2D) & kCategories, kUnicodeLetter);   // CJK 中
  EXPECT_EQ(UnicodeFlags(0x0E01) & kCategories, kUnicodeLetter);   // Thai ก
  EXPECT_EQ(UnicodeFlags(0x0915) & kCategories, kUnicodeLetter);   // Devanagari क
  EXPECT_EQ(UnicodeFlags(0x093F) & kCategories, kUnicodeMark);     // Devanagari vowel sign i
  EXPECT_EQ(UnicodeFlags(0x0301) & kCategories, kUnicodeMark);     // combining acute
  EXPECT_EQ(UnicodeFlags('7') & kCategories, kUnicodeNumber);
  EXPECT_EQ(UnicodeFlags(0x0663) & kCategories, kUnicodeNumber);   // Arabic-Indic 3
  EXPECT_EQ(UnicodeFlags(0x00BD) & kCategories, kUnicodeNumber);   // ½ (No)
  EXPECT_EQ(UnicodeFlags(0x216B) & kCategories, kUnicodeNumber);   // Roman numeral (Nl)
  EXPECT_EQ(UnicodeFlags('!') & kCategories, kUnicodePunctuation);
  EXPECT_EQ(UnicodeFlags('$') & kCategories, kUnicodeSymbol);
  EXPECT_EQ(UnicodeFlags(0x1F600) & kCategories, kUnicodeSymbol);  // 😀
  EXPECT_EQ(UnicodeFlags(0x200D) & kCategories, kUnicodeControl);  // ZWJ (Cf)
  EXPECT_EQ(UnicodeFlags(0xFFFD) & kCategories, kUnicodeSymbol);
  // Unicode 15.1 additions are assigned, 16.0 ones are not.
  EXPECT_EQ(UnicodeFlags(0x2FFC) & kCategories, kUnicodeSymbol);
  EXPECT_EQ(UnicodeFlags(0x31350) & kCategories, kUnicodeLetter);
  EXPECT_EQ(UnicodeFlags(0x1C89) & kCategories, 0);
  EXPECT_EQ(UnicodeFlags(0x0378) & kCategories, 0);  // unassigned
}

TEST(UnicodeFlags, WhitespaceIsTheWhiteSpaceProperty) {
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u,
                      0x200Au, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u}) {
    EXPECT_TRUE(UnicodeFlags(cp) & kUnicodeWhitespace) << std::hex << cp;
  }
  for (uint32_t cp : {0x00u, 0x08u, 0x1Cu, 0x1Fu, 0x180Eu, 0x200Bu, 0xFEFFu, 0x61u}) {
    EXPECT_FALSE(UnicodeFlags(cp) & kUnicodeWhitespace) << std::hex << cp;
  }
  EXPECT_EQ(UnicodeFlags(' '), kUnicodeWhitespace | kUnicodeSeparator);
  EXPECT_EQ(UnicodeFlags('\n'), kUnicodeWhitespace | kUnicodeControl);
}

}  // namespace
}  // namespace smollm::runtime

// The GPT-2 byte-level alphabet.
#include "runtime/tokenizer/byte_level.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

TEST(ByteLevel, IsABijectionOnAllBytes) {
  std::set<uint32_t> symbols;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = ByteToSymbol(static_cast<uint8_t>(b));
    EXPECT_TRUE(symbols.insert(cp).second) << b;
    EXPECT_EQ(SymbolToByte(cp), b);
  }
  EXPECT_EQ(*symbols.rbegin(), 0x143u);
}

TEST(ByteLevel, KnownSymbols) {
  EXPECT_EQ(ByteToSymbol(' '), 0x120u);   // Ġ
  EXPECT_EQ(ByteToSymbol('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(ByteToSymbol(0), 0x100u);
  EXPECT_EQ(ByteToSymbol('a'), static_cast<uint32_t>('a'));
  EXPECT_EQ(ByteToSymbol(0xAD), 0x143u);  // soft hyphen is the last remapped byte
  EXPECT_EQ(ByteToSymbol(0xE9), 0xE9u);
  EXPECT_EQ(SymbolToByte(' '), -1);
  EXPECT_EQ(SymbolToByte(0x144), -1);
  EXPECT_EQ(SymbolToByte(0x4E2D), -1);
}

TEST(ByteLevel, EncodeDecodeRoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string encoded = ByteLevelEncode(all);
  EXPECT_EQ(ByteLevelDecode(encoded), all);
  EXPECT_EQ(ByteLevelEncode(" hello\n"), "\xC4\xA0hello\xC4\x8A");
}

TEST(ByteLevel, DecodeRejectsTextOutsideTheAlphabet) {
  EXPECT_EQ(ByteLevelDecode(" x"), std::nullopt);         // raw space
  EXPECT_EQ(ByteLevelDecode("\xE4\xB8\xAD"), std::nullopt);  // 中
  EXPECT_EQ(ByteLevelDecode("\xC4"), std::nullopt);       // truncated
  EXPECT_EQ(ByteLevelDecode("<|im_start|>"), "<|im_start|>");
  EXPECT_EQ(ByteLevelDecode(""), "");
}

}  // namespace
}  // namespace smollm::runtime

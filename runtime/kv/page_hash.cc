// Multiply-fold hashing: each 64-bit word enters through a full 64x64->128 product.
#include "runtime/kv/page_hash.h"

#include <cstring>

namespace smollm::runtime {
namespace {

// Odd constants from the fractional digits of pi and the golden ratio. kWordKey has bits
// 31 and 63 set, so that a word of two non-negative token ids never cancels it to zero
// (a zero factor would erase the state).
constexpr uint64_t kStateKey = 0x243f6a8885a308d3ull;
constexpr uint64_t kWordKey = 0x9e3779b9ff4a7c15ull;
constexpr uint64_t kLengthKey = 0x13198a2e03707345ull;
constexpr uint64_t kFinalKey = 0xa4093822299f31d1ull;

// Folds the 128-bit product of a and b into 64 bits.
uint64_t MulFold(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

uint64_t Absorb(uint64_t state, uint64_t word) {
  return MulFold(state ^ kStateKey, word ^ kWordKey);
}

uint64_t Finish(uint64_t state, uint64_t length) {
  return MulFold(state ^ kLengthKey, length ^ kFinalKey);
}

// A bijective 64-bit finalizer (xor-shift-multiply), so distinct seeds stay distinct.
uint64_t Avalanche(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t HashBytes(uint64_t state, std::string_view bytes) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    state = Absorb(state, word);
  }
  uint64_t tail = 0;  // memcpy only when bytes remain: data() may be null when empty
  if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  state = Absorb(state, tail);
  return Finish(state, bytes.size());
}

}  // namespace

uint64_t PrefixCacheSeed(std::string_view model_identity, std::string_view salt) {
  // Hashing the identity and the salt separately keeps ("ab", "c") apart from ("a", "bc").
  return HashBytes(HashBytes(0, model_identity), salt);
}

uint64_t RootPageHash(uint64_t seed) { return Avalanche(seed ^ kFinalKey); }

uint64_t PageHash(uint64_t parent_hash, std::span<const TokenId> tokens) {
  uint64_t state = parent_hash;
  size_t i = 0;
  for (; i + 2 <= tokens.size(); i += 2) {
    const uint64_t word = static_cast<uint32_t>(tokens[i]) |
                          static_cast<uint64_t>(static_cast<uint32_t>(tokens[i + 1])) << 32;
    state = Absorb(state, word);
  }
  if (i < tokens.size()) state = Absorb(state, static_cast<uint32_t>(tokens[i]));
  return Finish(state, tokens.size());
}

}  // namespace smollm::runtime

// SessionId: canonical text form, strict parsing, and the randomness of generated ids.
#include "runtime/engine/session_id.h"

#include <array>
#include <random>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

using ::smollm::testing::MessageContains;

TEST(SessionId, ToStringIsLowercaseHexHighNibbleFirst) {
  std::array<uint8_t, SessionId::kBytes> bytes;
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(0x10 * i + 15 - i);
  const SessionId id(bytes);
  EXPECT_EQ(id.ToString(), "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
  auto parsed = SessionId::Parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, id);
  EXPECT_EQ(parsed->bytes(), bytes);
}

TEST(SessionId, ParseRoundTripsRandomBytes) {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 1000; ++trial) {
    std::array<uint8_t, SessionId::kBytes> bytes;
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    const SessionId id(bytes);
    const std::string text = id.ToString();
    ASSERT_EQ(text.size(), SessionId::kHexChars);
    auto parsed = SessionId::Parse(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, id);
  }
}

TEST(SessionId, GeneratedIdsAreDistinctWellFormedAndBalanced) {
  constexpr int kIds = 20000;
  absl::flat_hash_set<SessionId> seen;
  std::array<int, 8 * SessionId::kBytes> ones{};
  for (int i = 0; i < kIds; ++i) {
    auto id = SessionId::Generate();
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_TRUE(seen.insert(*id).second) << "duplicate id " << id->ToString();
    const std::string text = id->ToString();
    ASSERT_EQ(text.find_first_not_of("0123456789abcdef"), std::string::npos) << text;
    auto parsed = SessionId::Parse(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_EQ(*parsed, *id);
    for (size_t bit = 0; bit < ones.size(); ++bit) {
      ones[bit] += (id->bytes()[bit / 8] >> (bit % 8)) & 1;
    }
  }
  // Each bit is set in half the ids, give or take 6% (12 standard deviations): a stuck
  // or biased bit (a counter, a zeroed byte, a truncated read) fails, chance does not.
  for (size_t bit = 0; bit < ones.size(); ++bit) {
    EXPECT_GT(ones[bit], kIds * 44 / 100) << "bit " << bit;
    EXPECT_LT(ones[bit], kIds * 56 / 100) << "bit " << bit;
  }
}

TEST(SessionId, RejectsWrongLengthNamingIt) {
  for (const std::string& text :
       {std::string(), std::string(31, 'a'), std::string(33, 'a'), std::string(64, '0'),
        std::string("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")}) {
    auto parsed = SessionId::Parse(text);
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_TRUE(MessageContains(parsed.status(), "32 lowercase hex characters")) << text;
    EXPECT_TRUE(MessageContains(parsed.status(), "got " + std::to_string(text.size())))
        << parsed.status();
  }
}

TEST(SessionId, RejectsEveryNonCanonicalCharacterAtItsOffset) {
  // Every byte that is not 0-9a-f, at random offsets of a valid id; uppercase included,
  // because the load balancer routes on the exact text.
  std::mt19937 rng(23);
  const std::string valid = "00112233445566778899aabbccddeeff";
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) continue;
    const size_t offset = rng() % valid.size();
    std::string text = valid;
    text[offset] = c;
    auto parsed = SessionId::Parse(text);
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << "byte " << byte;
    EXPECT_TRUE(MessageContains(parsed.status(), "offset " + std::to_string(offset) + " "))
        << parsed.status();
  }
  EXPECT_FALSE(SessionId::Parse("00112233445566778899AABBCCDDEEFF").ok());
}

TEST(SessionId, EqualityAndHashFollowTheBytes) {
  std::array<uint8_t, SessionId::kBytes> a{};
  std::array<uint8_t, SessionId::kBytes> b{};
  b[15] = 1;
  EXPECT_EQ(SessionId(a), SessionId());
  EXPECT_NE(SessionId(a), SessionId(b));
  absl::flat_hash_set<SessionId> set = {SessionId(a), SessionId(b), SessionId(b)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(SessionId(b)));
}

}  // namespace
}  // namespace smollm::runtime

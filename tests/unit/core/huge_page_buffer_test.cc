// HugePageBuffer: zero-filled writable memory of the asked size, huge-page aligned when
// at least one huge page long, released and moved like any owner.
#include "runtime/core/huge_page_buffer.h"

#include <cstdint>
#include <utility>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

constexpr uint64_t kHuge = HugePageBuffer::kHugePageBytes;

TEST(HugePageBuffer, EmptyForZeroBytes) {
  auto buffer = HugePageBuffer::Allocate(0);
  ASSERT_TRUE(buffer.ok());
  EXPECT_EQ(buffer->data(), nullptr);
  EXPECT_EQ(buffer->size(), 0u);
}

TEST(HugePageBuffer, ZeroFilledAndWritableAtEverySize) {
  for (uint64_t bytes : {uint64_t{1}, uint64_t{4097}, kHuge - 1, kHuge, 2 * kHuge + 12345}) {
    auto buffer = HugePageBuffer::Allocate(bytes);
    ASSERT_TRUE(buffer.ok()) << bytes;
    ASSERT_EQ(buffer->size(), bytes);
    uint8_t* p = buffer->data();
    if (bytes >= kHuge) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHuge, 0u) << bytes;
    }
    uint64_t nonzero = 0;
    for (uint64_t i = 0; i < bytes; ++i) nonzero += p[i] != 0;
    EXPECT_EQ(nonzero, 0u) << bytes;
    for (uint64_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < bytes; ++i) wrong += p[i] != static_cast<uint8_t>(i * 131 + 7);
    EXPECT_EQ(wrong, 0u) << bytes;
  }
}

TEST(HugePageBuffer, MovesOwnership) {
  auto allocated = HugePageBuffer::Allocate(3 * kHuge);
  ASSERT_TRUE(allocated.ok());
  HugePageBuffer a = std::move(*allocated);
  uint8_t* data = a.data();
  data[3 * kHuge - 1] = 42;
  HugePageBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.data()[3 * kHuge - 1], 42);
  HugePageBuffer c;
  c = std::move(b);
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(c.size(), 3 * kHuge);
  EXPECT_EQ(b.data(), nullptr);
}

TEST(HugePageBuffer, HugeSizesAreRefused) {
  auto buffer = HugePageBuffer::Allocate(UINT64_MAX - 5);
  EXPECT_EQ(buffer.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace smollm::runtime

// HugePageBuffer: an over-sized anonymous mapping trimmed to a huge-page boundary.
#include "runtime/core/huge_page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace smollm::runtime {

absl::StatusOr<HugePageBuffer> HugePageBuffer::Allocate(uint64_t bytes) {
  if (bytes == 0) return HugePageBuffer();
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (bytes > UINT64_MAX / 2) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot map ", bytes, " bytes"));
  }
  const uint64_t mapped = (bytes + page - 1) / page * page;
  const bool huge = bytes >= kHugePageBytes;
  // Room to slide the start to the next huge-page boundary.
  const uint64_t reserve = huge ? mapped + kHugePageBytes - page : mapped;
  void* p = mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", bytes, " bytes: ", std::strerror(errno)));
  }
  auto* base = static_cast<uint8_t*>(p);
  uint8_t* data = base;
  if (huge) {
    const uintptr_t start = reinterpret_cast<uintptr_t>(base);
    data = base + ((start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes - start);
    // Give back the slack on both sides.
    if (data > base) munmap(base, data - base);
    if (base + reserve > data + mapped) munmap(data + mapped, base + reserve - (data + mapped));
    // Best effort: EINVAL where the kernel has no transparent huge pages.
    madvise(data, mapped, MADV_HUGEPAGE);
  }
  return HugePageBuffer(data, bytes, mapped);
}

HugePageBuffer::HugePageBuffer(HugePageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

HugePageBuffer& HugePageBuffer::operator=(HugePageBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

HugePageBuffer::~HugePageBuffer() { Reset(); }

void HugePageBuffer::Reset() {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
}

}  // namespace smollm::runtime

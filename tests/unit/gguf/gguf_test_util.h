// Helpers shared by the GGUF tests: random bytes and parsing from an exact-size buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_reader.h"

namespace smollm::runtime::gguf_test {

inline std::vector<uint8_t> RandomBytes(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(byte(rng));
  return out;
}

// A parse over a heap copy of exactly `bytes.size()` bytes, so that AddressSanitizer
// catches any read past the end. The copy lives as long as this object.
struct ExactParse {
  explicit ExactParse(std::span<const uint8_t> bytes)
      : copy(new uint8_t[bytes.size()]), file(Parse(bytes, copy.get())) {}

  static absl::StatusOr<GgufFile> Parse(std::span<const uint8_t> bytes, uint8_t* dst) {
    std::copy(bytes.begin(), bytes.end(), dst);
    return GgufFile::Parse(std::span<const uint8_t>(dst, bytes.size()));
  }

  std::unique_ptr<uint8_t[]> copy;
  absl::StatusOr<GgufFile> file;
};

}  // namespace smollm::runtime::gguf_test

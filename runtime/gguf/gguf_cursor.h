// Bounds-checked little-endian cursor over GGUF bytes, and the metadata value parser.
// Internal to the gguf module (the reader and GgufArray's element decoding use it).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/gguf/gguf_value.h"

namespace smollm::runtime::gguf_internal {

// Debian's Abseil keeps its own string_view type, distinct from std::string_view, and
// StrCat accepts only that one: Cat converts std::string_views and forwards.
inline absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

template <typename T>
decltype(auto) CatArg(const T& v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return Sv(v);
  } else {
    return (v);
  }
}

template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(CatArg(args)...);
}

// Reads fields front to back. Every read that would pass the end of the bytes fails with
// DataLoss naming the field, its offset and the bytes left, and leaves pos() unchanged.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes, uint64_t pos = 0)
      : bytes_(bytes), pos_(pos) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return pos_ >= bytes_.size() ? 0 : bytes_.size() - pos_; }
  std::span<const uint8_t> bytes() const { return bytes_; }

  // Trivially copyable little-endian scalar (this runtime runs on little-endian hosts).
  template <typename T>
  absl::Status Read(T* out, std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) return Truncated(field, sizeof(T));
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }

  // A GGUF string: uint64 length then that many bytes (not NUL-terminated).
  absl::Status ReadString(std::string_view* out, std::string_view field);

  // Advances over `n` bytes, returning them.
  absl::StatusOr<std::span<const uint8_t>> Take(uint64_t n, std::string_view field);

  absl::Status Truncated(std::string_view field, uint64_t needed) const;

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_;
};

// Parses one value of `type` at the cursor, validating it completely (string lengths,
// array element types and counts, nesting depth). `depth` is the nesting depth of the
// value (0 for a metadata value; arrays deeper than kGgufMaxArrayDepth are rejected).
// `field` names the value in error messages. DataLoss for anything that runs past the
// end, InvalidArgument for unknown element types and depth.
absl::StatusOr<GgufValue> ParseValue(Cursor& cursor, GgufValueType type, int depth,
                                     std::string_view field);

}  // namespace smollm::runtime::gguf_internal

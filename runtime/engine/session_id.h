// Session ids: 128 random bits from the operating system's CSPRNG, spelled as 32 hex digits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smollm::runtime {

// A session's identity. The id is the only secret a client needs to continue a session
// (besides its principal), so it comes from the kernel's CSPRNG and is unguessable:
// 2^128 values, no structure, no counter. Plain value type: copy, compare and hash it
// (absl::flat_hash_map<SessionId, ...> works).
//
// Text form: exactly 32 lowercase hexadecimal characters, the bytes in order, high nibble
// first. Only this canonical spelling parses: the load balancer hashes the
// x-session-id text to pick a replica, so "ABC..." and "abc..." must not both name one
// session (they would route to different replicas).
class SessionId {
 public:
  static constexpr size_t kBytes = 16;
  static constexpr size_t kHexChars = 2 * kBytes;

  // The all-zero id. Never produced by Generate in practice (probability 2^-128); useful
  // only as a placeholder before assignment.
  SessionId() = default;
  explicit SessionId(const std::array<uint8_t, kBytes>& bytes) : bytes_(bytes) {}

  // A fresh random id from getrandom(2), or /dev/urandom where that system call is
  // missing. Unavailable when the operating system cannot supply random bytes (no
  // getrandom and no readable /dev/urandom); the message names the failing call.
  static absl::StatusOr<SessionId> Generate();

  // The id spelled by `text`. InvalidArgument when the length is not 32 (the message
  // gives the length) or a character is not one of 0-9a-f (the message gives its offset).
  // The text itself is never echoed: it is untrusted and may be long.
  static absl::StatusOr<SessionId> Parse(absl::string_view text);

  // The canonical 32-character text; Parse(id.ToString()) == id.
  std::string ToString() const;

  const std::array<uint8_t, kBytes>& bytes() const { return bytes_; }

  friend bool operator==(const SessionId& a, const SessionId& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const SessionId& a, const SessionId& b) { return !(a == b); }

  template <typename H>
  friend H AbslHashValue(H h, const SessionId& id) {
    return H::combine_contiguous(std::move(h), id.bytes_.data(), id.bytes_.size());
  }

 private:
  std::array<uint8_t, kBytes> bytes_{};
};

}  // namespace smollm::runtime

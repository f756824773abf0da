// Session id generation from the kernel CSPRNG, and the canonical hex text form.
#include "runtime/engine/session_id.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"

namespace smollm::runtime {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Reads exactly `out.size()` bytes from /dev/urandom (the fallback for kernels before
// 3.17, which lack getrandom). Once the kernel's pool is initialized at boot the two
// sources are the same generator.
absl::Status ReadDevUrandom(absl::Span<uint8_t> out) {
  int fd = -1;
  do {
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("session id: open(/dev/urandom) failed: ", std::strerror(errno)));
  }
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : 0;
      close(fd);
      return absl::UnavailableError(absl::StrCat("session id: read(/dev/urandom) failed: ",
                                                 err != 0 ? std::strerror(err) : "end of file"));
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  return absl::OkStatus();
}

// Fills `out` from getrandom(2) with flags 0: it blocks only until the kernel's pool is
// first initialized after boot, then never. A signal may cut a call short (EINTR, or a
// partial count for requests above 256 bytes), so it loops.
absl::Status FillRandom(absl::Span<uint8_t> out) {
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = getrandom(out.data() + got, out.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSYS) return ReadDevUrandom(out);
      return absl::UnavailableError(
          absl::StrCat("session id: getrandom failed: ", std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase too: only the canonical spelling names a session
}

}  // namespace

absl::StatusOr<SessionId> SessionId::Generate() {
  std::array<uint8_t, kBytes> bytes;
  absl::Status status = FillRandom(absl::MakeSpan(bytes));
  if (!status.ok()) return status;
  return SessionId(bytes);
}

absl::StatusOr<SessionId> SessionId::Parse(absl::string_view text) {
  if (text.size() != kHexChars) {
    return absl::InvalidArgumentError(absl::StrCat("session id must be ", kHexChars,
                                                   " lowercase hex characters, got ", text.size(),
                                                   " characters"));
  }
  std::array<uint8_t, kBytes> bytes;
  for (size_t i = 0; i < kBytes; ++i) {
    const int hi = HexValue(text[2 * i]);
    const int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("session id must be ", kHexChars,
                       " lowercase hex characters (0-9, a-f); the character at offset ",
                       hi < 0 ? 2 * i : 2 * i + 1, " is not one"));
    }
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return SessionId(bytes);
}

std::string SessionId::ToString() const {
  std::string text(kHexChars, '0');
  for (size_t i = 0; i < kBytes; ++i) {
    text[2 * i] = kHexDigits[bytes_[i] >> 4];
    text[2 * i + 1] = kHexDigits[bytes_[i] & 0xf];
  }
  return text;
}

}  // namespace smollm::runtime

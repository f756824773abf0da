// Invariant checks for the fuzz targets: a failed check prints why and aborts, which
// libFuzzer records as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/status/status.h"

namespace smollm::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, std::string_view what) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %.*s\n", file, line,
               static_cast<int>(what.size()), what.data());
  std::abort();
}

// Every error the code under test returns must say what went wrong.
inline bool HasMessage(const absl::Status& status) {
  return status.ok() || !status.message().empty();
}

}  // namespace smollm::fuzz

#define FUZZ_CHECK(cond, what)                                   \
  do {                                                           \
    if (!(cond)) ::smollm::fuzz::Fail(__FILE__, __LINE__, what); \
  } while (0)

// Helpers shared by the tests: fixture paths and the real model used by conformance tests.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace smollm::testing {

// Absolute path of a file under tests/fixtures/.
std::string FixturePath(const std::string& relative);

// Whole contents of a fixture file; fails the calling test (ADD_FAILURE) when unreadable.
std::string ReadFixture(const std::string& relative);

// Path of the real SmolLM2-135M-Instruct GGUF from $SMOLLM_TEST_MODEL, else the
// SMOLLM_TEST_MODEL the build was configured with. Returns "" and
// fails the calling test when it is unset or missing: tests that need it must not pass
// silently without it.
std::string TestModelPath();

// True when the status message contains `needle` (absl's string_view is not std's here).
bool MessageContains(const absl::Status& status, std::string_view needle);

}  // namespace smollm::testing

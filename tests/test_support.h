// Helpers shared by the tests: fixture paths and the real model used by conformance tests.
#pragma once

#include <string>

namespace smollm::testing {

// Absolute path of a file under tests/fixtures/.
std::string FixturePath(const std::string& relative);

// Whole contents of a fixture file; fails the calling test (ADD_FAILURE) when unreadable.
std::string ReadFixture(const std::string& relative);

// Path of the real SmolLM2-135M-Instruct GGUF from $SMOLLM_TEST_MODEL. Returns "" and
// fails the calling test when it is unset or missing: tests that need it must not pass
// silently without it.
std::string TestModelPath();

}  // namespace smollm::testing

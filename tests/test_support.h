// Helpers shared by the tests: fixture paths and the real model used by conformance tests.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace smollm::testing {

// True in sanitizer builds (ASan, TSan), which run the 135M-parameter model some twenty
// times slower: there the model-running tests cut the work (fewer positions, prompts and
// tokens), never the checks made on what they compute.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

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

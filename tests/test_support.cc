// Implementation of the shared test helpers.
#include "tests/test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace smollm::testing {

std::string FixturePath(const std::string& relative) {
  return std::string(SMOLLM_SOURCE_DIR) + "/tests/fixtures/" + relative;
}

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read fixture " << FixturePath(relative);
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string TestModelPath() {
  const char* path = std::getenv("SMOLLM_TEST_MODEL");
  if (path == nullptr || *path == '\0') path = SMOLLM_DEFAULT_TEST_MODEL;
  if (*path == '\0') {
    ADD_FAILURE() << "SMOLLM_TEST_MODEL is not set: configure with -DSMOLLM_TEST_MODEL=<gguf>";
    return "";
  }
  if (!std::ifstream(path).good()) {
    ADD_FAILURE() << "SMOLLM_TEST_MODEL does not exist: " << path;
    return "";
  }
  return path;
}

bool MessageContains(const absl::Status& status, std::string_view needle) {
  return std::string(status.message()).find(needle) != std::string::npos;
}

}  // namespace smollm::testing

// The CI configuration of the SmolLM2 suite: the Q4_1 test model, committed references.
#include "tests/conformance/decoder/smollm2_suite.h"
#include "tests/test_support.h"

namespace smollm::testing {

SmolLM2SuiteFiles GetSmolLM2SuiteFiles() {
  return {TestModelPath(), FixturePath("decoder/smollm2_q4_1_exact.gguf"),
          FixturePath("decoder/smollm2_q4_1_native.gguf"), 32};
}

}  // namespace smollm::testing

// The local Q4_K_M configuration of the SmolLM2 suite: the model and references that
// tests/reference/decoder_smollm2_reference.py --q4-k-m DIR writes into DIR, named by
// $SMOLLM_DECODER_Q4KM_DIR (see tests/reference/decoder_q4km_check.sh).
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/decoder/smollm2_suite.h"

namespace smollm::testing {

SmolLM2SuiteFiles GetSmolLM2SuiteFiles() {
  const char* dir = std::getenv("SMOLLM_DECODER_Q4KM_DIR");
  if (dir == nullptr || *dir == '\0') {
    ADD_FAILURE() << "set SMOLLM_DECODER_Q4KM_DIR to the directory the reference script wrote";
    return {};
  }
  const std::string d(dir);
  return {d + "/SmolLM2-135M-Instruct.Q4_K_M.gguf", d + "/smollm2_q4_k_m_exact.gguf",
          d + "/smollm2_q4_k_m_native.gguf", 64};
}

}  // namespace smollm::testing

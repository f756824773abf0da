// Writes tiny synthetic models and reads them back the way the runtime loads a model.
#include "runtime/tools/synth_model.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/model/model_config.h"
#include "runtime/model/tensor_names.h"
#include "runtime/quant/dequantize.h"
#include "runtime/tools/synth_shapes.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

std::string TempPath(const std::string& name) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = std::string(info->test_suite_name()) + "_" + info->name();
  for (char& c : test) {
    if (c == '/') c = '_';
  }
  return ::testing::TempDir() + "synth_" + test + "_" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

SynthOptions Options(const char* preset, WeightMode mode, uint64_t seed = 1) {
  SynthOptions o;
  absl::StatusOr<ModelConfig> shape = ShapePreset(preset);
  EXPECT_TRUE(shape.ok()) << shape.status();
  o.shape = shape.value_or(ModelConfig{});
  o.weights = mode;
  o.seed = seed;
  return o;
}

// Plans and writes `options` to `path`; returns the plan.
SynthPlan Write(const SynthOptions& options, const std::string& path) {
  absl::StatusOr<SynthPlan> plan = PlanSyntheticModel(options);
  EXPECT_TRUE(plan.ok()) << plan.status();
  if (!plan.ok()) return SynthPlan{};
  const absl::Status s = WriteSyntheticModel(*plan, options.weights, options.seed, path);
  EXPECT_TRUE(s.ok()) << s;
  return *std::move(plan);
}

std::vector<float> Dequantize(const GgufTensorInfo& t) {
  std::vector<float> out(t.n_elements);
  const absl::Status s = DequantizeRow(t.type, t.data, out);
  EXPECT_TRUE(s.ok()) << t.name << ": " << s;
  return out;
}

class SynthRoundTrip
    : public ::testing::TestWithParam<std::tuple<const char*, WeightMode>> {};

TEST_P(SynthRoundTrip, ReadsBackAsTheModelItWasPlannedAs) {
  const auto [preset, mode] = GetParam();
  const SynthOptions options = Options(preset, mode, 5);
  const std::string path = TempPath("model.gguf");
  const SynthPlan plan = Write(options, path);
  ASSERT_FALSE(plan.tensors.empty());

  absl::StatusOr<GgufFile> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<ModelConfig> config = ModelConfigFromGguf(*file);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(ValidateTensors(*config, *file).ok()) << ValidateTensors(*config, *file);

  const ModelConfig& want = plan.config;
  EXPECT_EQ(config->arch, want.arch);
  EXPECT_EQ(config->name, want.name);
  EXPECT_EQ(config->n_layers, want.n_layers);
  EXPECT_EQ(config->d_model, want.d_model);
  EXPECT_EQ(config->d_ffn, want.d_ffn);
  EXPECT_EQ(config->n_heads, want.n_heads);
  EXPECT_EQ(config->n_kv_heads, want.n_kv_heads);
  EXPECT_EQ(config->head_dim, want.head_dim);
  EXPECT_EQ(config->vocab_size, want.vocab_size);
  EXPECT_EQ(config->context_length, want.context_length);
  EXPECT_EQ(config->rms_norm_eps, want.rms_norm_eps);
  EXPECT_EQ(config->rope_theta, want.rope_theta);
  EXPECT_EQ(config->nope_layer_step, want.nope_layer_step);
  EXPECT_EQ(config->tied_output, want.tied_output);
  if (want.arch == Architecture::kSmolLM3) {
    EXPECT_EQ(config->bos_token, want.vocab_size - 256);
    EXPECT_EQ(config->eos_token, want.vocab_size - 256 + 12);
  } else {
    EXPECT_EQ(config->bos_token, 1);
    EXPECT_EQ(config->eos_token, 2);
  }
  EXPECT_EQ(config->pad_token, config->eos_token);

  EXPECT_EQ(file->GetUint32("general.file_type").value_or(0), 15u);
  EXPECT_EQ(file->GetUint32("general.quantization_version").value_or(0), 2u);
  EXPECT_EQ(file->GetString("tokenizer.ggml.model").value_or(""), "gpt2");
  EXPECT_EQ(file->GetString("tokenizer.ggml.pre").value_or(""),
            want.arch == Architecture::kSmolLM3 ? "smaug-bpe" : "smollm");
  const std::string a(ArchitectureName(want.arch));
  EXPECT_EQ(file->GetUint32(a + ".rope.dimension_count").value_or(0),
            static_cast<uint32_t>(want.head_dim));
  EXPECT_EQ(file->GetUint32(a + ".vocab_size").value_or(0),
            static_cast<uint32_t>(want.vocab_size));
  EXPECT_FALSE(file->HasKey("tokenizer.chat_template"));

  // The exact size was known before writing; the layout is the plan's, type by type.
  absl::StatusOr<GgufWriter> declared = DeclareSyntheticModel(plan);
  ASSERT_TRUE(declared.ok());
  EXPECT_EQ(file->bytes().size(), declared->FileSize());
  ASSERT_EQ(file->tensors().size(), plan.tensors.size());
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const GgufTensorInfo& t = file->tensors()[i];
    EXPECT_EQ(t.name, plan.tensors[i].tensor.name);
    EXPECT_EQ(t.type, ChooseQ4KMType(plan.tensors[i].tensor, want)) << t.name;
  }

  // Every value is finite and of a weight's magnitude; norms sit near 1.
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const GgufTensorInfo& t = file->tensors()[i];
    const std::vector<float> w = Dequantize(t);
    double sum = 0, sum_sq = 0;
    for (float v : w) {
      ASSERT_TRUE(std::isfinite(v)) << t.name;
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
    const double mean = sum / w.size();
    const double std = std::sqrt(std::max(0.0, sum_sq / w.size() - mean * mean));
    if (plan.tensors[i].tensor.role == TensorRole::kNorm) {
      EXPECT_NEAR(mean, 1.0, 0.03) << t.name;
      EXPECT_GT(std, 0.02) << t.name;  // random, not constant
    } else {
      EXPECT_NEAR(mean, 0.0, 0.01) << t.name;
      EXPECT_GT(std, 0.01) << t.name;
      EXPECT_LT(std, 0.06) << t.name;
    }
  }
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    TinyPresets, SynthRoundTrip,
    ::testing::Combine(::testing::Values("tiny-smollm3", "tiny-llama"),
                       ::testing::Values(WeightMode::kBlocks, WeightMode::kQuantize)),
    [](const auto& info) {
      std::string name = std::string(std::get<0>(info.param)) +
                         (std::get<1>(info.param) == WeightMode::kBlocks ? "_blocks"
                                                                         : "_quantize");
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

// In quantize mode the file holds our quantizers' encoding of SynthFloatRow's values: the
// round trip error is that of each format.
TEST(SynthQuantize, WeightsApproximateTheFloatsTheyCameFrom) {
  const SynthOptions options = Options("tiny-llama", WeightMode::kQuantize, 9);
  const std::string path = TempPath("model.gguf");
  const SynthPlan plan = Write(options, path);
  absl::StatusOr<GgufFile> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  // Relative RMS error bounds, about 1.3x what each format reaches on these values
  // (Q8_0 0.006, Q6_K 0.019, Q5_0 0.052, Q4_K 0.075): a wrong row, order or scale is far
  // beyond them.
  const std::map<GgmlType, double> bound = {{GgmlType::kF32, 0.0},    {GgmlType::kQ8_0, 0.008},
                                            {GgmlType::kQ6_K, 0.025}, {GgmlType::kQ5_0, 0.068},
                                            {GgmlType::kQ4_K, 0.1}};
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const PlannedTensor& p = plan.tensors[i];
    const GgufTensorInfo& t = file->tensors()[i];
    const std::vector<float> got = Dequantize(t);
    const uint64_t row_length = p.tensor.dims[0];
    std::vector<float> want(row_length);
    double err = 0, ref = 0;
    for (uint64_t row = 0; row < t.n_rows(); ++row) {
      SynthFloatRow(p, options.seed, i, row, want);
      for (uint64_t k = 0; k < row_length; ++k) {
        const double d = got[row * row_length + k] - want[k];
        err += d * d;
        ref += static_cast<double>(want[k]) * want[k];
      }
    }
    ASSERT_TRUE(bound.contains(t.type)) << t.name;
    EXPECT_LE(std::sqrt(err / ref), bound.at(t.type)) << t.name << " " << NameOf(t.type);
  }
  std::remove(path.c_str());
}

TEST(SynthWrite, DeterministicForASeed) {
  const std::string a = TempPath("a.gguf"), b = TempPath("b.gguf"), c = TempPath("c.gguf");
  Write(Options("tiny-llama", WeightMode::kBlocks, 3), a);
  Write(Options("tiny-llama", WeightMode::kBlocks, 3), b);
  Write(Options("tiny-llama", WeightMode::kBlocks, 4), c);
  const std::string bytes_a = ReadAll(a);
  ASSERT_GT(bytes_a.size(), 1000u);
  EXPECT_TRUE(bytes_a == ReadAll(b));
  EXPECT_FALSE(bytes_a == ReadAll(c));
  for (const std::string& p : {a, b, c}) std::remove(p.c_str());
}

TEST(SynthWrite, UnwritablePathFailsAndLeavesNothing) {
  const std::string path = TempPath("missing_dir/model.gguf");
  absl::StatusOr<SynthPlan> plan = PlanSyntheticModel(Options("tiny-llama", WeightMode::kBlocks));
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(WriteSyntheticModel(*plan, WeightMode::kBlocks, 1, path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
}

// Widths that are not multiples of 32 get F16 rows, as llama.cpp gives them.
TEST(SynthWrite, OddWidthsFallBackToF16AndStillLoad) {
  SynthOptions options = Options("tiny-llama", WeightMode::kQuantize);
  options.shape.d_model = 200;  // 4 heads of 50
  options.shape.n_heads = 4;
  options.shape.n_kv_heads = 2;
  options.shape.d_ffn = 272;
  const std::string path = TempPath("model.gguf");
  const SynthPlan plan = Write(options, path);
  absl::StatusOr<GgufFile> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<ModelConfig> config = ModelConfigFromGguf(*file);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(ValidateTensors(*config, *file).ok());
  ASSERT_NE(file->FindTensor("blk.0.attn_q.weight"), nullptr);
  EXPECT_EQ(file->FindTensor("blk.0.attn_q.weight")->type, GgmlType::kF16);
  EXPECT_EQ(file->FindTensor("blk.0.ffn_down.weight")->type, GgmlType::kF16);  // 272 % 32
  std::remove(path.c_str());
}

TEST(SynthWrite, ChatTemplateIsStored) {
  SynthOptions options = Options("tiny-smollm3", WeightMode::kBlocks);
  options.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
  const std::string path = TempPath("model.gguf");
  Write(options, path);
  absl::StatusOr<GgufFile> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->GetString("tokenizer.chat_template").value_or(""), *options.chat_template);
  std::remove(path.c_str());
}

// The tokenizer of the real SmolLM2 file, copied key for key; the vocabulary follows it.
TEST(SynthWrite, CopiesTokenizerFromAnotherGguf) {
  const std::string source_path = testing::TestModelPath();
  ASSERT_FALSE(source_path.empty());
  SynthOptions options = Options("tiny-smollm3", WeightMode::kBlocks);
  options.tokenizer_from = source_path;
  const std::string path = TempPath("model.gguf");
  const SynthPlan plan = Write(options, path);
  EXPECT_EQ(plan.config.vocab_size, 49152);

  absl::StatusOr<GgufFile> source = GgufFile::Open(source_path);
  absl::StatusOr<GgufFile> file = GgufFile::Open(path);
  ASSERT_TRUE(source.ok() && file.ok());
  absl::StatusOr<ModelConfig> config = ModelConfigFromGguf(*file);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(ValidateTensors(*config, *file).ok());
  EXPECT_EQ(config->vocab_size, 49152);
  EXPECT_EQ(config->arch, Architecture::kSmolLM3);
  EXPECT_EQ(config->bos_token, 1);
  EXPECT_EQ(config->eos_token, 2);
  int copied = 0;
  for (const GgufKeyValue& kv : source->metadata()) {
    if (!kv.key.starts_with("tokenizer.")) continue;
    ++copied;
    const GgufValue* got = file->FindValue(kv.key);
    ASSERT_NE(got, nullptr) << kv.key;
    EXPECT_EQ(got->type(), kv.value.type()) << kv.key;
    EXPECT_EQ(got->ToString(1u << 20), kv.value.ToString(1u << 20)) << kv.key;
  }
  EXPECT_GE(copied, 10);
  std::remove(path.c_str());
}

TEST(PlanSyntheticModel, RejectsBadShapesAndTokenizerSources) {
  SynthOptions options = Options("tiny-llama", WeightMode::kBlocks);
  options.shape.n_heads = 3;  // does not divide 320
  EXPECT_EQ(PlanSyntheticModel(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options("tiny-llama", WeightMode::kBlocks);
  options.shape.vocab_size = 100;  // below the SmolLM2 layout's 273
  EXPECT_EQ(PlanSyntheticModel(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options("tiny-llama", WeightMode::kBlocks);
  options.tokenizer_from = TempPath("does_not_exist.gguf");
  EXPECT_FALSE(PlanSyntheticModel(options).ok());
}

}  // namespace
}  // namespace smollm::runtime

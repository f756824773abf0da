// Tests of smollm-synth's argument parsing.
#include "runtime/tools/synth_cli.h"

#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

absl::StatusOr<SynthCommand> Parse(std::vector<std::string_view> args) {
  return ParseSynthArgs(args);
}

// The message of a failed parse, which must name the flag at fault.
std::string Error(std::vector<std::string_view> args) {
  absl::StatusOr<SynthCommand> cmd = ParseSynthArgs(args);
  EXPECT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cmd.status().message());
}

TEST(ParseSynthArgs, PresetWithOverrides) {
  absl::StatusOr<SynthCommand> cmd =
      Parse({"--shape", "smollm3-3b", "--layers=4", "--weights", "quantize", "--seed", "77",
             "--out", "/tmp/x.gguf", "--untied", "--chat-template", "t.jinja"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  const ModelConfig& s = cmd->options.shape;
  EXPECT_EQ(s.arch, Architecture::kSmolLM3);
  EXPECT_EQ(s.n_layers, 4);
  EXPECT_EQ(s.d_model, 2048);
  EXPECT_EQ(s.n_kv_heads, 4);
  EXPECT_EQ(s.vocab_size, 128256);
  EXPECT_FALSE(s.tied_output);
  EXPECT_EQ(cmd->options.weights, WeightMode::kQuantize);
  EXPECT_EQ(cmd->options.seed, 77u);
  EXPECT_EQ(cmd->out_path, "/tmp/x.gguf");
  EXPECT_EQ(cmd->chat_template_path, "t.jinja");
  EXPECT_FALSE(cmd->help);
}

TEST(ParseSynthArgs, ExplicitShape) {
  absl::StatusOr<SynthCommand> cmd =
      Parse({"--arch", "llama", "--layers", "2", "--d-model", "128", "--d-ffn", "256",
             "--heads", "4", "--vocab", "600", "--out", "m.gguf"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  const ModelConfig& s = cmd->options.shape;
  EXPECT_EQ(s.arch, Architecture::kLlama);
  EXPECT_EQ(s.n_kv_heads, 4);  // defaults to --heads
  EXPECT_EQ(s.context_length, 4096);
  EXPECT_TRUE(s.tied_output);
  EXPECT_EQ(cmd->options.weights, WeightMode::kBlocks);
  EXPECT_EQ(s.name, "llama (synthetic)");
}

TEST(ParseSynthArgs, TokenizerFromReplacesVocab) {
  absl::StatusOr<SynthCommand> cmd =
      Parse({"--arch", "smollm3", "--layers", "2", "--d-model", "128", "--d-ffn", "256",
             "--heads", "4", "--tokenizer-from", "src.gguf", "--out", "m.gguf"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->options.tokenizer_from, "src.gguf");
  EXPECT_NE(Error({"--shape", "tiny-llama", "--vocab", "600", "--tokenizer-from", "a.gguf",
                   "--out", "m"})
                .find("--vocab"),
            std::string::npos);
}

TEST(ParseSynthArgs, Help) {
  absl::StatusOr<SynthCommand> cmd = Parse({"--help"});
  ASSERT_TRUE(cmd.ok());
  EXPECT_TRUE(cmd->help);
  EXPECT_NE(SynthUsage().find("--tokenizer-from"), std::string::npos);
}

TEST(ParseSynthArgs, ErrorsNameTheFlag) {
  EXPECT_NE(Error({"--shape", "tiny-llama"}).find("--out"), std::string::npos);
  EXPECT_NE(Error({"--shape", "huge", "--out", "m"}).find("huge"), std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--bogus"}).find("--bogus"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out"}).find("--out"), std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--layers", "x"}).find("--layers"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--layers", "-3"}).find("--layers"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--rms-eps", "0"}).find("--rms-eps"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--weights", "f16"}).find("--weights"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--arch", "gpt2"}).find("--arch"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--seed", "-1"}).find("--seed"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--tied", "--untied"}).find("--tied"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--tied=yes"}).find("--tied"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--out", "n"}).find("twice"),
            std::string::npos);
  EXPECT_NE(Error({"tiny-llama"}).find("tiny-llama"), std::string::npos);
  EXPECT_NE(Error({"--arch", "llama", "--out", "m"}).find("--layers"), std::string::npos);
  // A shape that parses flag by flag but is inconsistent fails before anything is written.
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--heads", "3"}).find("heads"),
            std::string::npos);
  EXPECT_NE(Error({"--shape", "tiny-llama", "--out", "m", "--kv-heads", "2"}).find("kv_heads"),
            std::string::npos);
}

}  // namespace
}  // namespace smollm::runtime

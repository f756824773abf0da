// smollm-synth: writes a synthetic Q4_K_M GGUF model (see synth_cli.cc for the flags).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/model/model_config.h"
#include "runtime/model/tensor_names.h"
#include "runtime/tools/synth_cli.h"
#include "runtime/tools/synth_model.h"

namespace smollm::runtime {
namespace {

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return text.str();
}

// Reads the written file back the way the runtime will, so a bad file never leaves here
// looking like a good one.
absl::Status Verify(const std::string& path) {
  ASSIGN_OR_RETURN(GgufFile file, GgufFile::Open(path));
  ASSIGN_OR_RETURN(ModelConfig config, ModelConfigFromGguf(file));
  return ValidateTensors(config, file);
}

absl::Status Run(const SynthCommand& cmd) {
  SynthOptions options = cmd.options;
  if (!cmd.chat_template_path.empty()) {
    ASSIGN_OR_RETURN(options.chat_template, ReadTextFile(cmd.chat_template_path));
  }
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(SynthPlan plan, PlanSyntheticModel(options));
  RETURN_IF_ERROR(WriteSyntheticModel(plan, options.weights, options.seed, cmd.out_path));
  RETURN_IF_ERROR(Verify(cmd.out_path));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::map<std::string_view, int> counts;
  for (const PlannedTensor& t : plan.tensors) ++counts[NameOf(t.type)];
  std::string mix;
  for (const auto& [name, n] : counts) absl::StrAppend(&mix, mix.empty() ? "" : ", ", n, " ", std::string(name));
  ASSIGN_OR_RETURN(GgufWriter declared, DeclareSyntheticModel(plan));
  std::printf("wrote %s: %s, %d layers, d_model %d, vocab %d, %zu tensors (%s), %llu bytes, %.1f s\n",
              cmd.out_path.c_str(), std::string(ArchitectureName(plan.config.arch)).c_str(),
              plan.config.n_layers, plan.config.d_model, plan.config.vocab_size,
              plan.tensors.size(), mix.c_str(),
              static_cast<unsigned long long>(declared.FileSize()), seconds);
  return absl::OkStatus();
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) {
  using namespace smollm::runtime;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  absl::StatusOr<SynthCommand> cmd = ParseSynthArgs(args);
  if (!cmd.ok()) {
    std::fprintf(stderr, "smollm-synth: %s\n(try --help)\n",
                 std::string(cmd.status().message()).c_str());
    return 2;
  }
  if (cmd->help) {
    std::fputs(SynthUsage().c_str(), stdout);
    return 0;
  }
  if (absl::Status s = Run(*cmd); !s.ok()) {
    std::fprintf(stderr, "smollm-synth: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

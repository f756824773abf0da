// smollm-generate: text or chat in, streamed text out, with the prompt and decode speeds.
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/model/model.h"
#include "runtime/model/weights.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tools/text_generation.h"

ABSL_FLAG(std::string, model, "", "GGUF model file (llama or smollm3 architecture)");
ABSL_FLAG(std::string, prompt, "", "the text to continue, or with --chat the user message");
ABSL_FLAG(bool, chat, false, "render --prompt as a user turn with the model's chat template");
ABSL_FLAG(std::string, system, "", "with --chat: a system message");
ABSL_FLAG(std::string, reasoning, "", "with --chat on SmolLM3: 'think' or 'no_think'");
ABSL_FLAG(int32_t, max_tokens, 128, "tokens to generate at most");
ABSL_FLAG(float, temperature, 0.0f, "0 = greedy");
ABSL_FLAG(int32_t, top_k, 0, "0 = off");
ABSL_FLAG(float, top_p, 1.0f, "1 = off");
ABSL_FLAG(float, min_p, 0.0f, "0 = off");
ABSL_FLAG(float, repetition_penalty, 1.0f, "1 = off");
ABSL_FLAG(float, presence_penalty, 0.0f, "0 = off");
ABSL_FLAG(float, frequency_penalty, 0.0f, "0 = off");
ABSL_FLAG(uint64_t, seed, 0, "sampling seed: the same seed gives the same output");
ABSL_FLAG(std::vector<std::string>, stop, {}, "stop strings, comma-separated");
ABSL_FLAG(int32_t, threads, 0, "compute threads (0 = all cores)");

namespace smollm::runtime {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "smollm-generate: %s\n", std::string(status.message()).c_str());
  return 1;
}

absl::StatusOr<std::vector<TokenId>> PromptTokens(const Model& model) {
  const std::string prompt = absl::GetFlag(FLAGS_prompt);
  if (!absl::GetFlag(FLAGS_chat)) {
    return model.tokenizer().Encode(prompt, {.add_special = true, .parse_special = false});
  }
  std::vector<ChatMessage> chat;
  if (!absl::GetFlag(FLAGS_system).empty()) chat.push_back({"system", absl::GetFlag(FLAGS_system), "", ""});
  chat.push_back({"user", prompt, "", ""});
  ChatRenderOptions options;
  options.date = TodayChatDate();
  const std::string reasoning = absl::GetFlag(FLAGS_reasoning);
  if (reasoning == "think") {
    options.enable_thinking = true;
  } else if (reasoning == "no_think") {
    options.enable_thinking = false;
  } else if (!reasoning.empty()) {
    return absl::InvalidArgumentError("--reasoning must be 'think' or 'no_think'");
  }
  auto text = RenderChat(model.chat_template().family, chat, options);
  if (!text.ok()) return text.status();
  // The template writes the special tokens as text: parse them back into their ids.
  return model.tokenizer().Encode(*text, {.add_special = true, .parse_special = true});
}

int Run() {
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) return Fail(absl::InvalidArgumentError("--model is required"));
  if (absl::GetFlag(FLAGS_prompt).empty()) {
    return Fail(absl::InvalidArgumentError("--prompt is required"));
  }
  auto model = Model::Open(path);
  if (!model.ok()) return Fail(model.status());
  if (!(*model)->chat_template().warning.empty() && absl::GetFlag(FLAGS_chat)) {
    std::fprintf(stderr, "warning: %s\n", (*model)->chat_template().warning.c_str());
  }
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  const ModelConfig& c = (*model)->config();
  CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
  auto weights = UploadWeights(c, (*model)->gguf(), backend);
  if (!weights.ok()) return Fail(weights.status());
  auto prompt = PromptTokens(**model);
  if (!prompt.ok()) return Fail(prompt.status());

  GenerationOptions options;
  SamplingParams& s = options.sampling;
  s.temperature = absl::GetFlag(FLAGS_temperature);
  s.top_k = absl::GetFlag(FLAGS_top_k);
  s.top_p = absl::GetFlag(FLAGS_top_p);
  s.min_p = absl::GetFlag(FLAGS_min_p);
  s.repetition_penalty = absl::GetFlag(FLAGS_repetition_penalty);
  s.presence_penalty = absl::GetFlag(FLAGS_presence_penalty);
  s.frequency_penalty = absl::GetFlag(FLAGS_frequency_penalty);
  s.seed = absl::GetFlag(FLAGS_seed);
  s.max_tokens = absl::GetFlag(FLAGS_max_tokens);
  s.stop_strings = absl::GetFlag(FLAGS_stop);

  auto stats = GenerateText(**model, *weights, backend, *prompt, options,
                            [](std::string_view text) {
                              std::fwrite(text.data(), 1, text.size(), stdout);
                              std::fflush(stdout);
                            });
  std::printf("\n");
  std::fflush(stdout);  // the text ends before the statistics on stderr
  if (!stats.ok()) return Fail(stats.status());
  const int decode_steps = std::max(0, stats->generated_tokens - 1);
  std::fprintf(stderr,
               "prompt: %d tokens in %.3f s (%.1f tokens/s); decode: %d tokens in %.3f s "
               "(%.1f tokens/s); %d threads; finished: %s\n",
               stats->prompt_tokens, stats->prefill_seconds,
               stats->prompt_tokens / std::max(1e-9, stats->prefill_seconds), decode_steps,
               stats->decode_seconds, decode_steps / std::max(1e-9, stats->decode_seconds),
               threads, std::string(FinishReasonName(stats->finish_reason)).c_str());
  return 0;
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Generates text with a GGUF model on the CPU.\n"
      "Usage: smollm-generate --model FILE.gguf --prompt TEXT [--chat] [sampling flags]");
  absl::ParseCommandLine(argc, argv);
  return smollm::runtime::Run();
}

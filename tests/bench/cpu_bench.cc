// Prompt processing and decode speed of the CPU runtime as the engine runs it, one test per
// line of stdin; driven by tests/bench/cpu_vs_llama_cpp.py (run by hand, not a test).
//   cpu_bench --model FILE [--threads N] [--ctx TOKENS] [--isa avx512|avx2|generic]
//             [--onednn-min-tokens N] [--min-seconds S]
// Set-up is the server's: Model::Open, a ThreadPool of N threads, CpuBackend with the
// server's defaults (only --isa and --onednn-min-tokens change them), UploadWeights, a
// Forward with the engine's step limits, and a paged f16 KV cache of --ctx tokens (default
// 4096) whose pages are written once at start, so that peak RSS counts the KV of a full
// context (as a filled one would be resident).
// Then each stdin line names a test and gets one JSON line back:
//   ppN: an N-token prompt from position 0 in one step (N <= the engine's step limit),
//        logits of its last token; timed from the call to the logits.
//   tgN: a 16-token prompt (untimed), then N decode steps of one token each, every token
//        the argmax of the previous step's logits; timed over the N steps.
//   tgN@D: the same after a D-token prompt (in steps of the engine's step limit): decode
//        at a context of D tokens, where attention reads D positions of KV per layer.
// A test repeats until it has run --min-seconds (at least once): the figure is tokens over
// the summed time. Reply: {"test":"pp512","tokens":1024,"seconds":..,"cpu_seconds":..,
// "runs":2} (cpu_seconds: the process's, all threads, over the timed spans), or
// {"test":..,"error":".."}. EOF ends the process.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cpu/cpu_features.h"
#include "runtime/core/status.h"
#include "runtime/engine/engine.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"

namespace smollm::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTgPromptTokens = 16;

struct Flags {
  std::string model;
  int threads = 1;
  int ctx = 4096;
  std::string isa;  // empty: the best this CPU runs (the server's choice)
  int64_t onednn_min_tokens = -1;  // -1: the backend's default
  double min_seconds = 0;
};

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
    const char* value = argv[++i];
    bool ok = true;
    if (name == "--model") {
      f.model = value;
    } else if (name == "--threads") {
      ok = absl::SimpleAtoi(value, &f.threads) && f.threads >= 1 && f.threads <= 1024;
    } else if (name == "--ctx") {
      ok = absl::SimpleAtoi(value, &f.ctx) && f.ctx >= 1 && f.ctx <= (1 << 20);
    } else if (name == "--isa") {
      f.isa = value;
    } else if (name == "--onednn-min-tokens") {
      ok = absl::SimpleAtoi(value, &f.onednn_min_tokens) && f.onednn_min_tokens >= 0;
    } else if (name == "--min-seconds") {
      ok = absl::SimpleAtod(value, &f.min_seconds) && f.min_seconds >= 0 && f.min_seconds < 3600;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad value for ", name, ": ", value));
  }
  if (f.model.empty()) return absl::InvalidArgumentError("--model is required");
  return f;
}

absl::StatusOr<const cpu::CpuKernels*> KernelsNamed(const std::string& isa) {
  if (isa.empty()) return &cpu::BestKernels();
  for (cpu::CpuIsa k : {cpu::CpuIsa::kGeneric, cpu::CpuIsa::kAvx2, cpu::CpuIsa::kAvx512}) {
    if (cpu::CpuIsaName(k) != isa) continue;
    if (!cpu::CpuSupports(k)) {
      return absl::FailedPreconditionError(absl::StrCat("this CPU cannot run --isa ", isa));
    }
    return &cpu::KernelsFor(k);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--isa must be avx512, avx2 or generic, got '", isa, "'"));
}

// CPU time of the whole process (every pool thread) so far.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Wall and process CPU seconds of a timed span.
struct Timing {
  double wall = 0;
  double cpu = 0;
};

class Timer {
 public:
  Timing Elapsed() const {
    return {std::chrono::duration<double>(Clock::now() - wall_).count(),
            ProcessCpuSeconds() - cpu_};
  }

 private:
  Clock::time_point wall_ = Clock::now();
  double cpu_ = ProcessCpuSeconds();
};

// Everything a step needs, set up once.
class Runner {
 public:
  static absl::StatusOr<std::unique_ptr<Runner>> Create(const Flags& flags) {
    std::unique_ptr<Runner> r(new Runner(flags));
    ASSIGN_OR_RETURN(r->model_, Model::Open(flags.model));
    const ModelConfig& c = r->model_->config();
    ASSIGN_OR_RETURN(const cpu::CpuKernels* kernels, KernelsNamed(flags.isa));
    r->pool_ = std::make_unique<ThreadPool>(flags.threads);
    r->backend_ = std::make_unique<CpuBackend>(*r->pool_, std::max(c.d_model, c.d_ffn), *kernels);
    if (flags.onednn_min_tokens >= 0) r->backend_->SetOnednnMinTokens(flags.onednn_min_tokens);
    ASSIGN_OR_RETURN(r->weights_, UploadWeights(c, r->model_->gguf(), *r->backend_));
    const EngineOptions engine;  // the engine's step limits
    r->max_tokens_ = engine.max_tokens_per_step;
    ASSIGN_OR_RETURN(Forward forward,
                     Forward::Create(c, r->weights_, *r->backend_,
                                     {engine.max_tokens_per_step, engine.max_running}));
    r->forward_ = std::make_unique<Forward>(std::move(forward));
    const int n_pages = (flags.ctx + engine.page_size - 1) / engine.page_size;
    ASSIGN_OR_RETURN(r->kv_, AllocateKvCache(*r->backend_, {c.n_layers, c.n_kv_heads, c.head_dim,
                                                            engine.page_size, n_pages}));
    std::memset(r->kv_.k.data(), 0, r->kv_.k.bytes());
    std::memset(r->kv_.v.data(), 0, r->kv_.v.bytes());
    r->pages_.resize(n_pages);
    std::iota(r->pages_.begin(), r->pages_.end(), 0);
    r->logits_.resize(c.vocab_size);
    return r;
  }

  const ModelConfig& config() const { return model_->config(); }
  const cpu::CpuKernels& kernels() const { return backend_->kernels(); }
  uint64_t kv_bytes() const { return kv_.k.bytes() + kv_.v.bytes(); }

  // Wall and CPU seconds of one N-token prompt step from position 0.
  absl::StatusOr<Timing> Prefill(int n) {
    if (n < 1 || n > max_tokens_ || n > flags_.ctx) {
      return absl::InvalidArgumentError(absl::StrCat("pp", n, ": the prompt must be 1..",
                                                     std::min(max_tokens_, flags_.ctx)));
    }
    const std::vector<TokenId> prompt = Prompt(n);
    const Timer timer;
    RETURN_IF_ERROR(Step(prompt, 0));
    return timer.Elapsed();
  }

  // Wall and CPU seconds of N greedy decode steps after an untimed `depth`-token prompt.
  absl::StatusOr<Timing> Decode(int n, int depth) {
    if (n < 1 || depth < 1 || int64_t{depth} + n > flags_.ctx) {
      return absl::InvalidArgumentError(
          absl::StrCat("tg", n, "@", depth, ": N and the prompt of ", depth,
                       " tokens must be at least 1 and add up to at most --ctx ", flags_.ctx));
    }
    const std::vector<TokenId> prompt = Prompt(depth);
    for (int first = 0; first < depth; first += max_tokens_) {
      const int count = std::min(max_tokens_, depth - first);
      RETURN_IF_ERROR(Step({prompt.data() + first, static_cast<size_t>(count)}, first));
    }
    const Timer timer;
    for (int i = 0; i < n; ++i) {
      const TokenId next = static_cast<TokenId>(
          std::max_element(logits_.begin(), logits_.end()) - logits_.begin());
      RETURN_IF_ERROR(Step({&next, 1}, depth + i));
    }
    return timer.Elapsed();
  }

 private:
  explicit Runner(const Flags& flags) : flags_(flags) {}

  std::vector<TokenId> Prompt(int n) const {
    std::vector<TokenId> tokens(n);
    for (int i = 0; i < n; ++i) tokens[i] = (i * 7919 + 13) % config().vocab_size;
    return tokens;
  }

  absl::Status Step(std::span<const TokenId> tokens, Pos first) {
    batch_.Clear();
    batch_.AddSequence(tokens, first, pages_, /*want_logits=*/true);
    return forward_->Run(batch_, kv_, logits_);
  }

  const Flags flags_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<CpuBackend> backend_;
  ModelWeights weights_;
  std::unique_ptr<Forward> forward_;
  KvCache kv_;
  int max_tokens_ = 0;
  std::vector<int32_t> pages_;
  std::vector<float> logits_;
  StepBatch batch_;
};

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += (static_cast<unsigned char>(ch) < 0x20) ? ' ' : ch;
  }
  return out + "\"";
}

// Runs one test line until min_seconds have passed; the JSON reply.
std::string RunTest(Runner& runner, const std::string& test, double min_seconds) {
  int n = 0, depth = kTgPromptTokens;
  const bool pp = absl::StartsWith(test, "pp"), tg = absl::StartsWith(test, "tg");
  const std::vector<std::string> parts =
      absl::StrSplit(test.substr(std::min<size_t>(2, test.size())), '@');
  if ((!pp && !tg) || parts.size() > (tg ? 2u : 1u) || !absl::SimpleAtoi(parts[0], &n) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &depth))) {
    return absl::StrCat("{\"test\":", JsonString(test),
                        ",\"error\":\"tests are ppN, tgN or tgN@DEPTH\"}");
  }
  Timing total;
  int runs = 0;
  do {
    absl::StatusOr<Timing> s = pp ? runner.Prefill(n) : runner.Decode(n, depth);
    if (!s.ok()) {
      return absl::StrCat("{\"test\":", JsonString(test), ",\"error\":",
                          JsonString(std::string(s.status().message())), "}");
    }
    total.wall += s->wall;
    total.cpu += s->cpu;
    ++runs;
  } while (total.wall < min_seconds);
  return absl::StrCat("{\"test\":", JsonString(test), ",\"tokens\":", int64_t{n} * runs,
                      ",\"seconds\":", total.wall, ",\"cpu_seconds\":", total.cpu,
                      ",\"runs\":", runs, "}");
}

int Main(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "cpu_bench: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::unique_ptr<Runner>> runner = Runner::Create(*flags);
  if (!runner.ok()) {
    std::fprintf(stderr, "cpu_bench: %s: %s\n", flags->model.c_str(),
                 std::string(runner.status().message()).c_str());
    return 1;
  }
  // Warm-up, untimed: pages in the weights, fills the caches of first use.
  for (const char* test : {"pp128", "tg8"}) RunTest(**runner, test, 0);
  std::cout << "{\"ready\":true,\"isa\":"
            << JsonString(std::string(cpu::CpuIsaName((*runner)->kernels().isa)))
            << ",\"threads\":" << flags->threads << ",\"ctx\":" << flags->ctx
            << ",\"kv_bytes\":" << (*runner)->kv_bytes() << ",\"onednn_min_tokens\":"
            << flags->onednn_min_tokens << ",\"setup_seconds\":"
            << std::chrono::duration<double>(Clock::now() - start).count() << "}" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::cout << RunTest(**runner, line, flags->min_seconds) << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) { return smollm::runtime::Main(argc, argv); }

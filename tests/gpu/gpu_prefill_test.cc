// Prefill on the CUDA backend against the CPU backend, through the model's Forward:
//  - each op of two real layers, from the CPU's inputs (pins a difference to one op);
//  - the last token's logits of prompts of 1, 7, 128 and 1000 tokens: with f32 arithmetic
//    on both (cosine >= 0.99999), and as served (cosine >= 0.999 against the CPU path of
//    the same class: int8 activations under the GEMM crossover, 16-bit GEMM from it);
//  - the 1000-token prompt as chunks that continue the cached prefix (as the engine's
//    chunked prefill does) gives the same logits as one pass;
//  - a prompt in one step equals the same tokens one step each (f32);
//  - a mixed step (one sequence's decode token beside another's prefill chunk): under the
//    cuBLASLt crossover the decode row's logits are bit-identical to its step alone,
//    above it they agree to cosine >= 0.999 (the GEMM rounds activations to 16 bits);
//  - the host -> device step data of a decode step stays a few KB (staged once per step).
//   gpu_prefill_test MODEL.gguf...
#include <algorithm>
#include <numeric>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using namespace runtime;

constexpr int kPageSize = 16;
constexpr double kMinCosine = 0.999;
// Both backends in f32 (dequantized weights, no 16-bit GEMM): only rounding order differs.
constexpr double kExactCosine = 0.99999;

// One backend's weights, cache and Forward for steps of up to 1024 tokens.
struct Runner {
  Runner(const Model& model, Backend& backend, int n_pages)
      : config(model.config()),
        backend(backend),
        weights(Require(UploadWeights(config, model.gguf(), backend), "weights")),
        cache(Require(AllocateKvCache(backend, {config.n_layers, config.n_kv_heads,
                                                config.head_dim, kPageSize, n_pages}),
                      "kv cache")),
        forward(Require(Forward::Create(config, weights, backend, {1024, 8}), "Forward")) {}

  // The logits of the last token of each sequence that asks for them, in order.
  std::vector<float> Run(const StepBatch& batch) {
    std::vector<float> logits(static_cast<size_t>(batch.n_logits()) * config.vocab_size);
    Require(forward.Run(batch, cache, logits), "forward");
    return logits;
  }

  const ModelConfig& config;
  Backend& backend;
  ModelWeights weights;
  KvCache cache;
  Forward forward;
};

std::vector<int32_t> Pages(int first, int count) {
  std::vector<int32_t> pages(count);
  std::iota(pages.begin(), pages.end(), first);
  std::reverse(pages.begin(), pages.end());  // out of order on purpose
  return pages;
}

// The last token's logits of prompts of 1, 7, 128 and 1000 tokens on both backends:
// cosine >= min_cosine, for the lengths up to `checked_up_to` (longer ones are printed).
void PromptsMatchTheCpu(const Model& model, Runner& cpu, Runner& gpu, const char* name,
                        const char* mode, double min_cosine, int checked_up_to) {
  const ModelConfig& c = model.config();
  const std::vector<int32_t> pages = Pages(0, 1024 / kPageSize);
  for (int wanted : {1, 7, 128, 1000}) {
    const int n = std::min(wanted, c.context_length - 1);
    const std::vector<TokenId> prompt = RandomTokens(n, c.vocab_size, 1000 + n);
    StepBatch batch;
    batch.AddSequence(prompt, 0, pages, true);
    const std::vector<float> want = cpu.Run(batch);
    const std::vector<float> got = gpu.Run(batch);
    const double cosine = Cosine(got, want);
    std::printf("%s %s prompt %4d tokens: cosine %.6f, relative error %.2e\n", name, mode, n,
                cosine, RelativeError(got, want));
    if (n <= checked_up_to) {
      GPU_CHECK(cosine >= min_cosine, "%s %s prompt of %d: cosine %.6f", name, mode, n, cosine);
    }
  }
}

// The 1000-token prompt as chunks of 300 that continue the cached prefix (as the engine's
// chunked prefill does) gives the same logits as one pass.
void ChunkedEqualsOnePass(const Model& model, Runner& gpu, const char* name) {
  const ModelConfig& c = model.config();
  const int n = std::min(1000, c.context_length - 1);
  const std::vector<TokenId> prompt = RandomTokens(n, c.vocab_size, 1000 + n);
  const std::vector<int32_t> pages = Pages(0, 1024 / kPageSize);
  StepBatch batch;
  batch.AddSequence(prompt, 0, pages, true);
  const std::vector<float> one_pass = gpu.Run(batch);
  std::vector<float> chunked;
  for (int first = 0; first < n; first += 300) {
    const int len = std::min(300, n - first);
    StepBatch chunk;
    chunk.AddSequence(std::span(prompt).subspan(first, len), first, pages, first + len == n);
    chunked = gpu.Run(chunk);
  }
  const double cosine = Cosine(chunked, one_pass);
  std::printf("%s prompt %4d tokens in chunks of 300: cosine to one pass %.6f\n", name, n, cosine);
  GPU_CHECK(cosine >= kMinCosine, "%s chunked prompt of %d: cosine %.6f", name, n, cosine);
}

// Sequence A (a 9-token prompt, then one decode token) alone and beside a prefill chunk of
// sequence B of `chunk` tokens in the same step.
void MixedStep(const Model& model, Runner& gpu, int chunk, const char* name) {
  const ModelConfig& c = model.config();
  const std::vector<int32_t> a_pages = Pages(0, 8), b_pages = Pages(8, 16);
  const std::vector<TokenId> a_prompt = RandomTokens(9, c.vocab_size, 5);
  const std::vector<TokenId> b_prompt = RandomTokens(chunk, c.vocab_size, 6);
  const TokenId a_next = a_prompt[3];
  StepBatch prefill;
  prefill.AddSequence(a_prompt, 0, a_pages, false);
  gpu.Run(prefill);
  StepBatch alone;
  alone.AddSequence(std::span(&a_next, 1), 9, a_pages, true);
  const std::vector<float> want = gpu.Run(alone);
  StepBatch mixed;
  mixed.AddSequence(b_prompt, 0, b_pages, false);
  mixed.AddSequence(std::span(&a_next, 1), 9, a_pages, true);
  const std::vector<float> got = gpu.Run(mixed);
  const bool exact = got == want;
  const double cosine = Cosine(got, want);
  std::printf("%s decode row beside a %d-token chunk: %s, cosine %.6f\n", name, chunk,
              exact ? "bit-identical" : "differs", cosine);
  if (chunk + 1 < cuda::kCublasMinTokens) {
    GPU_CHECK(exact, "%s: a decode row under the crossover changed beside a %d-token chunk", name,
              chunk);
  } else {
    GPU_CHECK(cosine >= kMinCosine, "%s: mixed step cosine %.6f", name, cosine);
  }
}

// A prompt in one step (the prefill attention kernel, multi-row mat-vecs) against the same
// tokens one step each (the decode kernels), in f32: the same function, so equal up to
// the float steps' order (measured: up to 4e-5 of the largest logit, which these random
// models amplify from 1e-7 differences of single ops).
void OneStepEqualsTokenByToken(const Model& model, Runner& gpu, int n, const char* name) {
  const ModelConfig& c = model.config();
  const std::vector<TokenId> prompt = RandomTokens(n, c.vocab_size, 77 + n);
  const std::vector<int32_t> one_pages = Pages(0, 8), step_pages = Pages(8, 8);
  StepBatch batch;
  batch.AddSequence(prompt, 0, one_pages, true);
  const std::vector<float> one = gpu.Run(batch);
  std::vector<float> stepwise;
  for (int i = 0; i < n; ++i) {
    StepBatch step;
    step.AddSequence(std::span(&prompt[i], 1), i, step_pages, true);
    stepwise = gpu.Run(step);
  }
  const double error = RelativeError(one, stepwise);
  std::printf("%s %d tokens in one step vs one per step: relative error %.2e\n", name, n, error);
  GPU_CHECK(error <= 1e-4, "%s: %d-token step differs from token by token: %.3g", name, n, error);
}

// Each op of layers 0 and 3 (a NoPE layer of SmolLM3) on a 7-token prompt, run on both
// backends from the CPU's inputs, so that a difference is pinned to one op.
void OpsOfRealLayersMatchTheCpu(const Model& model, Runner& cpu, Runner& gpu, const char* name) {
  const ModelConfig& c = model.config();
  const int n = 7;
  const std::vector<TokenId> prompt = RandomTokens(n, c.vocab_size, 4242);
  const std::vector<int32_t> pages = Pages(16, 8);
  StepBatch batch;
  batch.AddSequence(prompt, 0, pages, true);
  const AttentionBatch attention = batch.attention();
  std::vector<DeviceBuffer> keep;
  const auto both = [&](int64_t cols, const std::vector<float>* values, Activations& on_cpu,
                        Activations& on_gpu) {
    on_cpu = MakeActivations(cpu.backend, keep, n, cols, values);
    on_gpu = MakeActivations(gpu.backend, keep, n, cols, values);
  };
  const auto check = [&](const char* op, int il, const Activations& on_cpu,
                         const Activations& on_gpu) {
    const std::vector<float> want = ToHost(cpu.backend, on_cpu);
    const double error = RelativeError(ToHost(gpu.backend, on_gpu), want);
    std::printf("%s layer %d %-10s relative error %.2e\n", name, il, op, error);
    GPU_CHECK(error <= 1e-4, "%s layer %d %s: relative error %.3g", name, il, op, error);
    return want;
  };
  Activations xc, xg;
  both(c.d_model, nullptr, xc, xg);
  cpu.backend.Embed(cpu.weights.token_embd, prompt, xc);
  std::vector<float> x = ToHost(cpu.backend, xc);
  const int q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  for (int il : {0, 3}) {
    if (il >= c.n_layers) break;
    const LayerWeights& lc = cpu.weights.layers[il];
    const LayerWeights& lg = gpu.weights.layers[il];
    Activations ic, ig, oc, og;
    both(c.d_model, &x, ic, ig);
    both(c.d_model, nullptr, oc, og);
    cpu.backend.RmsNorm(ic, lc.attn_norm, c.rms_norm_eps, oc);
    gpu.backend.RmsNorm(ig, lg.attn_norm, c.rms_norm_eps, og);
    const std::vector<float> norm = check("rmsnorm", il, oc, og);
    std::vector<float> qkv[3];
    const Weight* wc[] = {&lc.attn_q, &lc.attn_k, &lc.attn_v};
    const Weight* wg[] = {&lg.attn_q, &lg.attn_k, &lg.attn_v};
    for (int m = 0; m < 3; ++m) {
      both(c.d_model, &norm, ic, ig);
      both(m == 0 ? q_dim : kv_dim, nullptr, oc, og);
      cpu.backend.MatMul(*wc[m], ic, oc);
      gpu.backend.MatMul(*wg[m], ig, og);
      qkv[m] = check(m == 0 ? "q" : m == 1 ? "k" : "v", il, oc, og);
    }
    if (c.UsesRope(il)) {
      for (int m = 0; m < 2; ++m) {
        both(m == 0 ? q_dim : kv_dim, &qkv[m], ic, ig);
        const RopeParams rope{m == 0 ? c.n_heads : c.n_kv_heads, c.head_dim, c.rope_theta};
        cpu.backend.Rope(ic, rope, attention.positions);
        gpu.backend.Rope(ig, rope, attention.positions);
        qkv[m] = check(m == 0 ? "rope q" : "rope k", il, ic, ig);
      }
    }
    Activations qc, qg, kc, kg, vc, vg;
    both(q_dim, &qkv[0], qc, qg);
    both(kv_dim, &qkv[1], kc, kg);
    both(kv_dim, &qkv[2], vc, vg);
    cpu.backend.StoreKv(cpu.cache, il, kc, vc, attention);
    gpu.backend.StoreKv(gpu.cache, il, kg, vg, attention);
    both(q_dim, nullptr, oc, og);
    cpu.backend.Attention(cpu.cache, il, c.n_heads, qc, attention, oc);
    gpu.backend.Attention(gpu.cache, il, c.n_heads, qg, attention, og);
    check("attention", il, oc, og);
    keep.clear();
  }
}

void StagedBytesPerStep(const Model& model, CudaBackend& backend, Runner& gpu, const char* name) {
  const ModelConfig& c = model.config();
  StepBatch batch;
  std::vector<std::vector<int32_t>> pages;
  for (int i = 0; i < 8; ++i) pages.push_back(Pages(i * 8, 8));
  const std::vector<TokenId> tokens = RandomTokens(8, c.vocab_size, 9);
  for (int i = 0; i < 8; ++i) batch.AddSequence(std::span(&tokens[i], 1), 20 + i, pages[i], true);
  const uint64_t before = backend.staged_bytes();
  gpu.Run(batch);
  const uint64_t bytes = backend.staged_bytes() - before;
  std::printf("%s decode step of 8 sequences: %llu bytes of step data to the device\n", name,
              static_cast<unsigned long long>(bytes));
  GPU_CHECK(bytes <= 4096, "%s: %llu staged bytes for one decode step", name,
            static_cast<unsigned long long>(bytes));
}

}  // namespace
}  // namespace smollm::gpu_test

int main(int argc, char** argv) {
  using namespace smollm;
  using namespace smollm::runtime;
  for (int a = 1; a < argc; ++a) {
    auto model = gpu_test::Require(Model::Open(argv[a]), argv[a]);
    const ModelConfig& c = model->config();
    const char* name = argv[a];
    ThreadPool pool(8);
    const int64_t max_cols = std::max(c.d_model, c.d_ffn);
    // As served: int8 activations on both, cuBLASLt (f16) from cuda::kCublasMinTokens rows.
    CpuBackend cpu_served(pool, max_cols);
    auto gpu_served = gpu_test::Require(CudaBackend::Create({}), "CudaBackend");
    // Exact: f32 dot products of dequantized weights on both, no 16-bit GEMM.
    CpuBackend cpu_exact(pool, max_cols);
    cpu_exact.SetQuantizedActivations(false);
    CudaBackendOptions exact_options;
    exact_options.quantized_activations = false;
    exact_options.gemm_min_tokens = 0;
    auto gpu_exact = gpu_test::Require(CudaBackend::Create(exact_options), "CudaBackend");
    // The CPU's own 16-bit GEMM path (oneDNN, bf16) from the same row count as the GPU's.
    CpuBackend cpu_bf16(pool, max_cols);
    cpu_bf16.SetOnednnMinTokens(cuda::kCublasMinTokens);
    gpu_test::Runner cpu(*model, cpu_served, 64), gpu(*model, *gpu_served, 64);
    gpu_test::Runner cpu_x(*model, cpu_exact, 64), gpu_x(*model, *gpu_exact, 64);
    gpu_test::Runner cpu_b(*model, cpu_bf16, 64);

    gpu_test::OpsOfRealLayersMatchTheCpu(*model, cpu, gpu, name);
    gpu_test::PromptsMatchTheCpu(*model, cpu_x, gpu_x, name, "exact", gpu_test::kExactCosine,
                                 1000);
    // As served, each prompt against the CPU path of its class: int8 below the GEMM
    // crossover, the CPU's bf16 GEMM from it (the GPU's GEMM rounds to f16; the int8 path
    // differs from both by ~2e-2 of a logit on these random models, as the CPU's own
    // AVX-512 and generic int8 kernels do from each other over 128+ tokens).
    gpu_test::PromptsMatchTheCpu(*model, cpu, gpu, name, "served vs int8", gpu_test::kMinCosine,
                                 cuda::kCublasMinTokens - 1);
    gpu_test::PromptsMatchTheCpu(*model, cpu_b, gpu, name, "served vs bf16", gpu_test::kMinCosine,
                                 1000);
    gpu_test::ChunkedEqualsOnePass(*model, gpu, name);
    for (int chunk : {7, 128}) gpu_test::MixedStep(*model, gpu, chunk, name);
    for (int n : {2, 7, 40}) gpu_test::OneStepEqualsTokenByToken(*model, gpu_x, n, name);
    gpu_test::StagedBytesPerStep(*model, *gpu_served, gpu, name);
    std::printf("%s: %zu cuBLASLt plans cached\n", name, gpu_served->cached_gemm_plans());
  }
  std::printf("gpu_prefill_test: %s (%d failures)\n", gpu_test::Failures() ? "FAIL" : "PASS",
              gpu_test::Failures());
  return gpu_test::Failures() ? 1 : 0;
}

// Per-token cost of Sampler::Sample on a 128256-entry logits row, per configuration.
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "runtime/sampling/row_kernels.h"
#include "runtime/sampling/sampler.h"

namespace smollm::runtime {
namespace {

constexpr int32_t kVocab = 128256;  // SmolLM3

// CPU time of this thread: on a shared machine wall time mostly measures the neighbours.
double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

// Logits shaped like a trained model's: most mass on a few hundred tokens.
std::vector<std::vector<float>> MakeRows(int count) {
  std::mt19937_64 gen(20240611);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  std::uniform_int_distribution<int32_t> pick(0, kVocab - 1);
  std::vector<std::vector<float>> rows(static_cast<size_t>(count));
  for (auto& row : rows) {
    row.resize(kVocab);
    for (float& v : row) v = noise(gen);
    for (int i = 0; i < 200; ++i) row[static_cast<size_t>(pick(gen))] += 8.0f + noise(gen);
  }
  return rows;
}

void Run(const char* name, const SamplingParams& params,
         const std::vector<std::vector<float>>& rows) {
  auto sampler = Sampler::Create(params, kVocab);
  if (!sampler.ok()) {
    std::printf("%s: %s\n", name, std::string(sampler.status().message()).c_str());
    return;
  }
  constexpr int kIters = 400;
  long checksum = 0;
  (void)sampler->Sample(rows[0]);  // warm the scratch
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ThreadCpuMicros();
  for (int i = 0; i < kIters; ++i) {
    auto result = sampler->Sample(rows[static_cast<size_t>(i) % rows.size()]);
    checksum += result.ok() ? result->token : -1;
    if (result.ok()) (void)sampler->Accept(result->token);
  }
  const double cpu_us = (ThreadCpuMicros() - cpu_start) / kIters;
  const double wall_us = std::chrono::duration<double, std::micro>(
                             std::chrono::steady_clock::now() - start).count() / kIters;
  std::printf("%-46s %8.1f us/token CPU %8.1f us wall  (checksum %ld)\n", name, cpu_us,
              wall_us, checksum);
}

}  // namespace
}  // namespace smollm::runtime

int main() {
  using smollm::runtime::SamplingParams;
  const auto rows = smollm::runtime::MakeRows(8);
  std::printf("row kernels: %s\n",
              smollm::runtime::Avx2RowKernels() != nullptr ? "AVX2" : "portable");
  SamplingParams p;
  p.temperature = 0.0f;
  smollm::runtime::Run("greedy", p, rows);
  p.logprobs = true;
  smollm::runtime::Run("greedy + logprobs", p, rows);
  p.top_logprobs = 5;
  smollm::runtime::Run("greedy + top_logprobs 5", p, rows);
  p = SamplingParams{};
  smollm::runtime::Run("temperature 1 (full softmax)", p, rows);
  p.temperature = 0.7f;
  smollm::runtime::Run("temperature 0.7", p, rows);
  p.top_k = 40;
  smollm::runtime::Run("top_k 40, temperature 0.7", p, rows);
  p.top_p = 0.9f;
  smollm::runtime::Run("top_k 40, top_p 0.9, temperature 0.7", p, rows);
  p.top_k = 0;
  smollm::runtime::Run("top_p 0.9, temperature 0.7", p, rows);
  p.top_p = 0.99f;
  smollm::runtime::Run("top_p 0.99, temperature 0.7", p, rows);
  p.top_p = 1.0f;
  p.min_p = 0.05f;
  smollm::runtime::Run("min_p 0.05, temperature 0.7", p, rows);
  p = SamplingParams{};
  p.temperature = 0.7f;
  p.top_k = 50;
  p.top_p = 0.95f;
  p.repetition_penalty = 1.1f;
  p.repetition_window = 256;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.5f;
  p.top_logprobs = 20;
  smollm::runtime::Run("top_k 50, top_p .95, penalties, 20 logprobs", p, rows);
  return 0;
}

// Sample and Accept make no heap allocation after the first call: this executable
// replaces the global operator new with a counting one.
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/sampling/sampler.h"

namespace {

std::atomic<long> g_allocations{0};

void* CountedAlloc(std::size_t size, std::size_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (size + align - 1) / align * align)
                : std::malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return CountedAlloc(size, 0); }
void* operator new[](std::size_t size) { return CountedAlloc(size, 0); }
void* operator new(std::size_t size, std::align_val_t align) {
  return CountedAlloc(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return CountedAlloc(size, static_cast<std::size_t>(align));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace smollm::runtime {
namespace {

struct Config {
  const char* name;
  SamplingParams params;
};

std::vector<Config> Configs() {
  std::vector<Config> configs;
  SamplingParams p;
  p.temperature = 0.0f;
  configs.push_back({"greedy", p});
  p = SamplingParams{};
  configs.push_back({"temperature", p});
  p.top_k = 40;
  p.top_p = 0.9f;
  p.min_p = 0.02f;
  configs.push_back({"top_k+top_p+min_p", p});
  p = SamplingParams{};
  p.top_p = 0.9f;
  p.temperature = 0.7f;
  configs.push_back({"top_p", p});
  p = SamplingParams{};
  p.min_p = 0.05f;
  configs.push_back({"min_p", p});
  p = SamplingParams{};
  p.temperature = 0.8f;
  p.top_k = 50;
  p.repetition_penalty = 1.2f;
  p.repetition_window = 64;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.5f;
  p.logit_bias = {{3, -INFINITY}, {10, 2.0f}};
  p.logprobs = true;
  p.top_logprobs = 20;
  p.max_tokens = 200;
  configs.push_back({"penalties+bias+logprobs", p});
  return configs;
}

TEST(SamplerAllocTest, NoHeapAllocationPerToken) {
  for (int32_t vocab : {49152, 128256}) {
    std::mt19937 gen(13);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<std::vector<float>> rows(8, std::vector<float>(static_cast<size_t>(vocab)));
    for (auto& row : rows) {
      for (float& v : row) v = normal(gen);
    }
    for (const Config& config : Configs()) {
      SCOPED_TRACE(::testing::Message() << config.name << " vocab " << vocab);
      absl::StatusOr<Sampler> sampler = Sampler::Create(config.params, vocab);
      ASSERT_TRUE(sampler.ok()) << sampler.status();
      const std::vector<TokenId> prompt = {1, 2, 3, 4, 5};
      ASSERT_TRUE(sampler->AcceptPrompt(prompt).ok());
      ASSERT_TRUE(sampler->Sample(rows[0]).ok());  // the first call may set things up

      const long before = g_allocations.load();
      bool ok = true;
      long checksum = 0;
      for (int step = 0; step < 150; ++step) {
        absl::StatusOr<SampleResult> result = sampler->Sample(rows[static_cast<size_t>(step) % 8]);
        ok &= result.ok();
        if (!result.ok()) break;
        ok &= sampler->Accept(result->token).ok();
        checksum += result->token;
      }
      const long after = g_allocations.load();
      ASSERT_TRUE(ok);
      EXPECT_EQ(after - before, 0) << "allocations during 150 tokens";
      EXPECT_GT(checksum, 0);
    }
  }
}

TEST(SamplerAllocTest, CounterSeesAllocations) {
  // The replacement is live: otherwise the test above could not fail.
  // (A direct call: a new-expression may be elided by the compiler.)
  const long before = g_allocations.load();
  void* p = ::operator new(64);
  ::operator delete(p);
  EXPECT_EQ(g_allocations.load() - before, 1);
}

}  // namespace
}  // namespace smollm::runtime

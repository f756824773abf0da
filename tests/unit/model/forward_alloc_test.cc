// Decode steps of the forward pass allocate no heap memory after warm-up.
#include <atomic>
#include <cstdlib>
#include <new>
#include <numeric>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "tests/test_support.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

// Every allocation of this test binary goes through these.
void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace smollm::runtime {
namespace {

TEST(ForwardAllocations, DecodeStepsAllocateNothing) {
  auto model = Model::Open(smollm::testing::TestModelPath());
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelConfig& c = (*model)->config();
  ThreadPool pool(2);
  CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
  auto weights = UploadWeights(c, (*model)->gguf(), backend);
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto cache = AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim, 16, 4});
  ASSERT_TRUE(cache.ok());
  auto forward = Forward::Create(c, *weights, backend, {16, 1});
  ASSERT_TRUE(forward.ok());
  std::vector<int32_t> pages(4);
  std::iota(pages.begin(), pages.end(), 0);
  std::vector<float> logits(c.vocab_size);
  StepBatch batch;

  const std::vector<TokenId> prompt = (*model)->tokenizer().Encode("The capital of France is");
  batch.AddSequence(prompt, 0, pages, true);
  ASSERT_TRUE(forward->Run(batch, *cache, logits).ok());
  Pos pos = static_cast<Pos>(prompt.size());
  auto decode = [&] {
    const TokenId next[] = {static_cast<TokenId>(
        std::max_element(logits.begin(), logits.end()) - logits.begin())};
    batch.Clear();
    batch.AddSequence(next, pos++, pages, true);
    return forward->Run(batch, *cache, logits);
  };
  ASSERT_TRUE(decode().ok());  // warm-up
  const int64_t before = g_allocations.load();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(decode().ok());
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace smollm::runtime

// Paged attention on the CPU against a contiguous scalar reference, with shuffled pages.
#include "runtime/backend/cpu/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/quant/half.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

using testing::RandomFloats;
using testing::View;

float RoundF16(float x) { return Fp16ToFp32(Fp32ToFp16(x)); }

// Two sequences of different lengths in one step, the second only partly new (its
// earlier positions come from a previous step), pages assigned in shuffled order.
class CpuAttention : public ::testing::TestWithParam<cpu::CpuIsa> {};

// Softmax attention in f64 of one query head over positions 0..last of contiguous K/V
// rows (kv_dim wide; this head's kv_head at kvh), with f16-rounded K and V.
std::vector<double> ReferenceHead(const float* q, const std::vector<float>& ks,
                                  const std::vector<float>& vs, int kv_dim, int kvh,
                                  int head_dim, int last) {
  std::vector<double> scores(last + 1);
  double max_score = -1e30, denom = 0;
  for (int j = 0; j <= last; ++j) {
    double s = 0;
    for (int d = 0; d < head_dim; ++d) s += double(q[d]) * RoundF16(ks[j * kv_dim + kvh * head_dim + d]);
    max_score = std::max(max_score, scores[j] = s / std::sqrt(double(head_dim)));
  }
  for (double& s : scores) denom += (s = std::exp(s - max_score));
  std::vector<double> out(head_dim, 0.0);
  for (int d = 0; d < head_dim; ++d) {
    for (int j = 0; j <= last; ++j) out[d] += scores[j] / denom * RoundF16(vs[j * kv_dim + kvh * head_dim + d]);
  }
  return out;
}

TEST_P(CpuAttention, MatchesContiguousReference) {
  if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  ThreadPool pool(2);
  CpuBackend backend(pool, 1024, cpu::KernelsFor(GetParam()));
  const int n_layers = 2, n_heads = 8, n_kv_heads = 2, head_dim = 32, page_size = 4;
  const int group = n_heads / n_kv_heads;
  KvCacheShape shape{n_layers, n_kv_heads, head_dim, page_size, 16};
  auto cache = AllocateKvCache(backend, shape);
  ASSERT_TRUE(cache.ok());

  const int len0 = 9, len1 = 6;  // total positions of each sequence
  std::vector<int32_t> pages(16);
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), std::mt19937(4));
  const std::vector<int32_t> page_ids = {pages[0], pages[1], pages[2], pages[3], pages[4]};
  const std::vector<int32_t> page_table_begin = {0, 3, 5};  // seq0: 3 pages, seq1: 2

  // Step 1 stores seq1's first 4 positions; step 2 stores seq0 entirely and seq1's rest.
  const int kv_dim = n_kv_heads * head_dim;
  std::vector<float> k_all0 = RandomFloats(len0 * kv_dim, 1), v_all0 = RandomFloats(len0 * kv_dim, 2);
  std::vector<float> k_all1 = RandomFloats(len1 * kv_dim, 3), v_all1 = RandomFloats(len1 * kv_dim, 4);
  const int layer = 1;
  {
    std::vector<Pos> pos = {0, 1, 2, 3};
    std::vector<int32_t> seq = {1, 1, 1, 1};
    AttentionBatch batch{pos, seq, page_table_begin, page_ids};
    std::vector<float> k(k_all1.begin(), k_all1.begin() + 4 * kv_dim);
    std::vector<float> v(v_all1.begin(), v_all1.begin() + 4 * kv_dim);
    backend.StoreKv(*cache, layer, View(k, 4, kv_dim), View(v, 4, kv_dim), batch);
  }
  std::vector<Pos> pos;
  std::vector<int32_t> seq;
  std::vector<float> k, v;
  for (int p = 0; p < len0; ++p) {
    pos.push_back(p);
    seq.push_back(0);
    k.insert(k.end(), k_all0.begin() + p * kv_dim, k_all0.begin() + (p + 1) * kv_dim);
    v.insert(v.end(), v_all0.begin() + p * kv_dim, v_all0.begin() + (p + 1) * kv_dim);
  }
  for (int p = 4; p < len1; ++p) {
    pos.push_back(p);
    seq.push_back(1);
    k.insert(k.end(), k_all1.begin() + p * kv_dim, k_all1.begin() + (p + 1) * kv_dim);
    v.insert(v.end(), v_all1.begin() + p * kv_dim, v_all1.begin() + (p + 1) * kv_dim);
  }
  const int n = static_cast<int>(pos.size());
  AttentionBatch batch{pos, seq, page_table_begin, page_ids};
  backend.StoreKv(*cache, layer, View(k, n, kv_dim), View(v, n, kv_dim), batch);

  std::vector<float> q = RandomFloats(n * n_heads * head_dim, 5);
  std::vector<float> out(q.size(), NAN);
  backend.Attention(*cache, layer, n_heads, View(q, n, n_heads * head_dim), batch,
                    View(out, n, n_heads * head_dim));

  for (int t = 0; t < n; ++t) {
    const std::vector<float>& ks = seq[t] == 0 ? k_all0 : k_all1;
    const std::vector<float>& vs = seq[t] == 0 ? v_all0 : v_all1;
    for (int h = 0; h < n_heads; ++h) {
      const std::vector<double> ref = ReferenceHead(&q[(t * n_heads + h) * head_dim], ks, vs,
                                                    kv_dim, h / group, head_dim, pos[t]);
      for (int d = 0; d < head_dim; ++d) {
        ASSERT_NEAR(out[(t * n_heads + h) * head_dim + d], ref[d], 1e-5) << t << " " << h << " " << d;
      }
    }
  }
}

// One sequence of `len` positions with random K and V stored over shuffled pages.
struct OneSequence {
  OneSequence(CpuBackend& backend, int n_kv_heads, int head_dim, int page_size, int len,
              std::vector<int32_t> pages, uint32_t seed)
      : n_kv_heads(n_kv_heads), head_dim(head_dim), page_ids(std::move(pages)),
        page_table_begin{0, static_cast<int32_t>(page_ids.size())} {
    const int kv_dim = n_kv_heads * head_dim;
    cache = AllocateKvCache(backend, {1, n_kv_heads, head_dim, page_size,
                                      static_cast<int32_t>(page_ids.size()) + 1})
                .value();
    k = RandomFloats(len * kv_dim, seed);
    v = RandomFloats(len * kv_dim, seed + 1);
    std::vector<Pos> all_pos(len);
    std::iota(all_pos.begin(), all_pos.end(), 0);
    std::vector<int32_t> all_seq(len, 0);
    backend.StoreKv(cache, 0, View(k, len, kv_dim), View(v, len, kv_dim),
                    {all_pos, all_seq, page_table_begin, page_ids});
  }
  // Attention of queries `q` ([pos.size()][n_heads * head_dim]) at positions `pos`.
  std::vector<float> Attend(CpuBackend& backend, int n_heads, std::vector<float> q,
                            const std::vector<Pos>& pos) {
    const std::vector<int32_t> seq(pos.size(), 0);
    const int n = static_cast<int>(pos.size());
    std::vector<float> out(q.size(), NAN);
    backend.Attention(cache, 0, n_heads, View(q, n, n_heads * head_dim),
                      {pos, seq, page_table_begin, page_ids}, View(out, n, n_heads * head_dim));
    return out;
  }
  void ExpectReference(int n_heads, const std::vector<float>& q, const std::vector<Pos>& pos,
                       const std::vector<float>& out) const {
    for (size_t t = 0; t < pos.size(); ++t) {
      for (int h = 0; h < n_heads; ++h) {
        const std::vector<double> ref =
            ReferenceHead(&q[(t * n_heads + h) * head_dim], k, v, n_kv_heads * head_dim,
                          h / (n_heads / n_kv_heads), head_dim, pos[t]);
        for (int d = 0; d < head_dim; ++d) {
          ASSERT_NEAR(out[(t * n_heads + h) * head_dim + d], ref[d], 1e-5)
              << pos[t] << " " << h << " " << d;
        }
      }
    }
  }

  int n_kv_heads, head_dim;
  std::vector<int32_t> page_ids, page_table_begin;
  KvCache cache;
  std::vector<float> k, v;
};

// Pages larger than the kernel's 16-slot chunks: a page is split into several chunks and
// the last chunk is partial; queries at positions on and around chunk edges.
TEST_P(CpuAttention, LargePagesSplitIntoChunks) {
  if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  ThreadPool pool(2);
  CpuBackend backend(pool, 1024, cpu::KernelsFor(GetParam()));
  const int n_heads = 4, head_dim = 64;
  OneSequence s(backend, /*n_kv_heads=*/2, head_dim, /*page_size=*/40, /*len=*/95, {2, 0, 3}, 6);
  const std::vector<Pos> pos = {0, 15, 16, 39, 40, 56, 94};
  const std::vector<float> q = RandomFloats(pos.size() * n_heads * head_dim, 8, 3.0f);  // peaked
  s.ExpectReference(n_heads, q, pos, s.Attend(backend, n_heads, q, pos));
}

// Contexts of several softmax blocks (128 positions each) over pages of 40 slots, so that
// chunks end at page, chunk and block edges: a prompt of 300 queries (tiles of rows)
// matches the reference, and rows on and around block edges are bit for bit what they
// give alone in a step of their own.
TEST_P(CpuAttention, LongContextsSpanSeveralSoftmaxBlocks) {
  if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  ThreadPool pool(2);
  CpuBackend backend(pool, 1024, cpu::KernelsFor(GetParam()));
  const int n_heads = 4, head_dim = 64, len = 300;
  std::vector<int32_t> pages(8);
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), std::mt19937(17));
  OneSequence s(backend, /*n_kv_heads=*/2, head_dim, /*page_size=*/40, len, pages, 13);
  std::vector<Pos> pos(len);
  std::iota(pos.begin(), pos.end(), 0);
  const int q_dim = n_heads * head_dim;
  const std::vector<float> q = RandomFloats(len * q_dim, 14, 3.0f);  // peaked
  const std::vector<float> out = s.Attend(backend, n_heads, q, pos);
  s.ExpectReference(n_heads, q, pos, out);
  for (Pos p : {0, 119, 127, 128, 129, 255, 256, 299}) {
    const std::vector<float> q1(q.begin() + p * q_dim, q.begin() + (p + 1) * q_dim);
    const std::vector<float> out1 = s.Attend(backend, n_heads, q1, {p});
    for (int i = 0; i < q_dim; ++i) {
      ASSERT_EQ(out1[i], out[p * q_dim + i]) << "position " << p << " at " << i;
    }
  }
}

// Contexts of several 256-position segments, with 3 kv heads (SmolLM2-135M's count, too
// few items for the threads in a one-token step): a one-row step splits its segments over
// the threads and merges them; it matches the reference, and is bit for bit the same as
// the row in a prompt (tiles, segments merged as they are read), as two rows in one step,
// and as the unsplit step (no scratch for the segments' states).
TEST_P(CpuAttention, SegmentsSplitOverThreadsMatchOneThread) {
  if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  ThreadPool pool(2);
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  CpuBackend backend(pool, 1024, kernels);
  const int n_heads = 9, n_kv_heads = 3, head_dim = 64, len = 1100, page_size = 40;
  std::vector<int32_t> pages(28);
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), std::mt19937(23));
  OneSequence s(backend, n_kv_heads, head_dim, page_size, len, pages, 24);
  std::vector<Pos> all(len);
  std::iota(all.begin(), all.end(), 0);
  const int q_dim = n_heads * head_dim;
  const std::vector<float> q = RandomFloats(len * q_dim, 25, 3.0f);  // peaked
  const std::vector<float> prompt = s.Attend(backend, n_heads, q, all);
  auto row = [&](const std::vector<float>& v, int i) {
    return std::vector<float>(v.begin() + i * q_dim, v.begin() + (i + 1) * q_dim);
  };
  for (Pos p : {0, 255, 256, 511, 512, 767, 768, 1099}) {
    std::vector<float> q1 = row(q, p);
    const std::vector<float> out1 = s.Attend(backend, n_heads, q1, {p});
    s.ExpectReference(n_heads, q1, {p}, out1);
    std::vector<float> unsplit(q_dim, NAN);
    const std::vector<int32_t> seq = {0};
    const std::vector<Pos> p1 = {p};
    cpu::Attention(pool, kernels, s.cache, 0, n_heads, View(q1, 1, q_dim),
                   {p1, seq, s.page_table_begin, s.page_ids}, {}, View(unsplit, 1, q_dim));
    const Pos other = (p * 7 + 300) % len;
    std::vector<float> q2 = q1;
    q2.insert(q2.end(), q.begin() + other * q_dim, q.begin() + (other + 1) * q_dim);
    const std::vector<float> out2 = s.Attend(backend, n_heads, q2, {p, other});
    for (int i = 0; i < q_dim; ++i) {
      ASSERT_EQ(out1[i], prompt[p * q_dim + i]) << "position " << p << " at " << i;
      ASSERT_EQ(unsplit[i], out1[i]) << "position " << p << " at " << i;
      ASSERT_EQ(out2[i], out1[i]) << "position " << p << " at " << i;
      ASSERT_EQ(out2[q_dim + i], prompt[other * q_dim + i]) << "position " << other << " at " << i;
    }
  }
}

// A group of 10 query heads per kv_head takes two passes over the chunks (8 heads, then
// 2); every head matches the reference, and a head's output is bit for bit the same
// when the other heads of its group ask different queries.
TEST_P(CpuAttention, LargeGroupsTakeSeveralPasses) {
  if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  ThreadPool pool(2);
  CpuBackend backend(pool, 1024, cpu::KernelsFor(GetParam()));
  const int n_heads = 20, head_dim = 32;
  OneSequence s(backend, /*n_kv_heads=*/2, head_dim, /*page_size=*/16, /*len=*/37, {1, 2, 0}, 9);
  const std::vector<Pos> pos = {0, 16, 36};
  const size_t q_size = pos.size() * n_heads * head_dim;
  const std::vector<float> q = RandomFloats(q_size, 11, 2.0f);
  const std::vector<float> out = s.Attend(backend, n_heads, q, pos);
  s.ExpectReference(n_heads, q, pos, out);
  // Heads 7 and 8 (the last of kv_head 0's first pass and the first of its second) keep
  // their queries; every other head's change.
  std::vector<float> q2 = RandomFloats(q_size, 12, 2.0f);
  for (size_t t = 0; t < pos.size(); ++t) {
    for (int h : {7, 8}) {
      std::copy_n(&q[(t * n_heads + h) * head_dim], head_dim, &q2[(t * n_heads + h) * head_dim]);
    }
  }
  const std::vector<float> out2 = s.Attend(backend, n_heads, q2, pos);
  for (size_t t = 0; t < pos.size(); ++t) {
    for (int h : {7, 8}) {
      for (int d = 0; d < head_dim; ++d) {
        const size_t i = (t * n_heads + h) * head_dim + d;
        ASSERT_EQ(out2[i], out[i]) << pos[t] << " " << h << " " << d;
      }
    }
  }
}

// A prompt-sized step (enough rows that queries of one sequence share tiles), two
// sequences whose rows meet inside a tile, queries in shuffled order: every row matches
// the reference and is bit for bit what the same query gives alone in a step of its own.
TEST_P(CpuAttention, PromptTilesMatchOneRowSteps) {
  if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  ThreadPool pool(2);
  CpuBackend backend(pool, 1024, cpu::KernelsFor(GetParam()));
  const int n_heads = 6, n_kv_heads = 2, head_dim = 64, page_size = 16;
  const int group = n_heads / n_kv_heads, kv_dim = n_kv_heads * head_dim;
  const std::vector<int> lens = {45, 40};
  KvCacheShape shape{1, n_kv_heads, head_dim, page_size, 8};
  auto cache = AllocateKvCache(backend, shape);
  ASSERT_TRUE(cache.ok());
  std::vector<int32_t> page_ids(8);
  std::iota(page_ids.begin(), page_ids.end(), 0);
  std::shuffle(page_ids.begin(), page_ids.end(), std::mt19937(21));
  const std::vector<int32_t> page_table_begin = {0, 3, 6};  // 3 pages each
  std::vector<std::vector<float>> ks, vs;
  std::vector<Pos> pos;
  std::vector<int32_t> seq;
  std::vector<float> k, v;
  for (int sq = 0; sq < 2; ++sq) {
    ks.push_back(RandomFloats(lens[sq] * kv_dim, 30 + sq));
    vs.push_back(RandomFloats(lens[sq] * kv_dim, 40 + sq));
    k.insert(k.end(), ks[sq].begin(), ks[sq].end());
    v.insert(v.end(), vs[sq].begin(), vs[sq].end());
    for (int p = 0; p < lens[sq]; ++p) {
      pos.push_back(p);
      seq.push_back(sq);
    }
  }
  const int n = static_cast<int>(pos.size());
  backend.StoreKv(*cache, 0, View(k, n, kv_dim), View(v, n, kv_dim),
                  {pos, seq, page_table_begin, page_ids});
  // Queries in an order where a tile's rows are not in position order.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.begin() + lens[0], std::mt19937(5));
  std::vector<Pos> q_pos(n);
  std::vector<int32_t> q_seq(n);
  for (int i = 0; i < n; ++i) {
    q_pos[i] = pos[order[i]];
    q_seq[i] = seq[order[i]];
  }
  const int q_dim = n_heads * head_dim;
  std::vector<float> q = RandomFloats(n * q_dim, 50, 2.0f);
  std::vector<float> out(q.size(), NAN);
  backend.Attention(*cache, 0, n_heads, View(q, n, q_dim), {q_pos, q_seq, page_table_begin, page_ids},
                    View(out, n, q_dim));
  for (int t = 0; t < n; ++t) {
    for (int h = 0; h < n_heads; ++h) {
      const std::vector<double> ref = ReferenceHead(&q[(t * n_heads + h) * head_dim], ks[q_seq[t]],
                                                    vs[q_seq[t]], kv_dim, h / group, head_dim, q_pos[t]);
      for (int d = 0; d < head_dim; ++d) {
        ASSERT_NEAR(out[(t * n_heads + h) * head_dim + d], ref[d], 1e-5) << t << " " << h << " " << d;
      }
    }
    std::vector<float> q1(q.begin() + t * q_dim, q.begin() + (t + 1) * q_dim);
    std::vector<float> out1(q_dim, NAN);
    const std::vector<Pos> p1 = {q_pos[t]};
    const std::vector<int32_t> s1 = {q_seq[t]};
    backend.Attention(*cache, 0, n_heads, View(q1, 1, q_dim), {p1, s1, page_table_begin, page_ids},
                      View(out1, 1, q_dim));
    for (int i = 0; i < q_dim; ++i) ASSERT_EQ(out1[i], out[t * q_dim + i]) << "row " << t << " at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, CpuAttention,
                         ::testing::Values(cpu::CpuIsa::kGeneric, cpu::CpuIsa::kAvx2,
                                           cpu::CpuIsa::kAvx512));

}  // namespace
}  // namespace smollm::runtime

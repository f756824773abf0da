// Every CUDA op against the CPU backend on random data at several sizes: outputs are
// poisoned (NaN) before each run, and each op's relative error (max |gpu - cpu| over
// max |cpu|) must stay within the tolerance stated next to it.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/backend/cuda/host_stager.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"
#include "runtime/quant/quantize.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using runtime::Activations;
using runtime::Backend;
using runtime::GgmlType;
namespace cuda = runtime::cuda;

// Quantized weights: the CPU backend's int8 reference (activations quantized as it
// quantizes them, exact integer sums per block), so only the float steps' order differs.
// F32/F16 weights: f32 dot products of up to 11008 terms against a double-precision sum.
constexpr double kMatMulTolerance = 1e-5;
// Weights decode to the same bits (block_decode_test): embedding rows are exact.
constexpr double kExactTolerance = 0;
// powf/sinf/cosf of the device differ from glibc's by an ulp or two.
constexpr double kRopeTolerance = 2e-6;
constexpr double kElementwiseTolerance = 1e-6;  // expf, one rounding
// Online softmax in another order, f16 keys and values read identically.
constexpr double kAttentionTolerance = 1e-5;

std::mt19937 rng(1234);

std::vector<float> RandomFloats(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Random weight bytes of `type`: quantized random values where runtime/quant has a
// quantizer, random blocks with finite fp16 scales otherwise.
std::vector<uint8_t> RandomWeight(GgmlType type, int64_t rows, int64_t cols) {
  const uint64_t row_bytes = *runtime::RowBytes(type, cols);
  std::vector<uint8_t> bytes(row_bytes * rows);
  if (runtime::CanQuantize(type)) {
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<float> values = RandomFloats(cols);
      Require(runtime::QuantizeRow(type, values, std::span(bytes).subspan(r * row_bytes, row_bytes)),
              "QuantizeRow");
    }
    return bytes;
  }
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  const int block = type == GgmlType::kQ4_0 ? 18 : type == GgmlType::kQ4_1 ? 20 : 24;
  const bool has_min = type != GgmlType::kQ4_0;
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (size_t off = 0; off < bytes.size(); off += block) {
    for (int h = 0; h < (has_min ? 2 : 1); ++h) {
      const uint16_t half = runtime::Fp32ToFp16(scale(rng));
      std::memcpy(&bytes[off + 2 * h], &half, 2);
    }
  }
  return bytes;
}

// out[t][r] = sum over c of w[r][c] * x[t][c]: the CPU's int8 reference for the types the
// CUDA backend runs through its int8 kernel, else in double from the reference dequantizer.
std::vector<float> ReferenceMatMul(const runtime::HostWeight& w, const std::vector<float>& x,
                                   int n) {
  const uint64_t row_bytes = *runtime::RowBytes(w.type, w.cols);
  std::vector<float> out(n * w.rows);
  if (cuda::HasInt8MatVec(w.type)) {
    const GgmlType act_type = cuda::ActivationTypeOf(w.type);
    std::vector<uint8_t> act(*runtime::RowBytes(act_type, w.cols));
    for (int t = 0; t < n; ++t) {
      runtime::cpu::ReferenceQuantizeActivations(act_type, x.data() + t * w.cols, act.data(),
                                                 w.cols);
      for (int64_t r = 0; r < w.rows; ++r) {
        out[t * w.rows + r] = runtime::cpu::ReferenceQuantDot(
            w.type, w.bytes.data() + r * row_bytes, act.data(), w.cols);
      }
    }
    return out;
  }
  std::vector<float> row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    Require(runtime::DequantizeRow(w.type, w.bytes.subspan(r * row_bytes, row_bytes), row),
            "DequantizeRow");
    for (int t = 0; t < n; ++t) {
      double sum = 0;
      for (int64_t c = 0; c < w.cols; ++c) sum += static_cast<double>(row[c]) * x[t * w.cols + c];
      out[t * w.rows + r] = static_cast<float>(sum);
    }
  }
  return out;
}

struct Pair {
  Backend& cpu;
  runtime::CudaBackend& gpu;
  std::vector<runtime::DeviceBuffer> keep;
};

void Report(const char* op, const std::string& what, double error, double tolerance) {
  GPU_CHECK(error <= tolerance, "%s %s: relative error %.3g > %.3g", op, what.c_str(), error,
            tolerance);
}

void TestMatMulAndEmbed(Pair& p) {
  const GgmlType types[] = {GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ8_0, GgmlType::kQ5_0,
                            GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_1, GgmlType::kF32,
                            GgmlType::kF16};
  const int64_t shapes[][2] = {{40, 256}, {1000, 2048}, {257, 11008}};
  for (GgmlType type : types) {
    for (const auto& shape : shapes) {
      const int64_t rows = shape[0], cols = shape[1];
      const std::vector<uint8_t> bytes = RandomWeight(type, rows, cols);
      const runtime::HostWeight host{type, rows, cols, bytes};
      const runtime::Weight wc = Require(p.cpu.UploadWeight(host), "cpu upload");
      const runtime::Weight wg = Require(p.gpu.UploadWeight(host), "gpu upload");
      const std::string name = std::string(runtime::NameOf(type)) + " " + std::to_string(rows) +
                               "x" + std::to_string(cols);
      for (int n : {1, 2, 3, 8, 16}) {
        const std::vector<float> x = RandomFloats(n * cols);
        const Activations xg = MakeActivations(p.gpu, p.keep, n, cols, &x);
        const Activations og = MakeActivations(p.gpu, p.keep, n, rows);
        p.gpu.MatMul(wg, xg, og);
        Report("MatMul", name + " n=" + std::to_string(n),
               RelativeError(ToHost(p.gpu, og), ReferenceMatMul(host, x, n)), kMatMulTolerance);
      }
      std::vector<runtime::TokenId> tokens = {0, static_cast<int>(rows - 1), 7 % static_cast<int>(rows), 3};
      const Activations ec = MakeActivations(p.cpu, p.keep, tokens.size(), cols);
      const Activations eg = MakeActivations(p.gpu, p.keep, tokens.size(), cols);
      p.cpu.Embed(wc, tokens, ec);
      p.gpu.Embed(wg, tokens, eg);
      Report("Embed", name, RelativeError(ToHost(p.gpu, eg), ToHost(p.cpu, ec)), kExactTolerance);
      p.keep.clear();
    }
  }
}

// The fused epilogues (SwiGLU of two mat-vecs, a mat-vec added into the residual) against
// the CPU's unfused ops on the same int8 activations.
void TestFusedEpilogues(Pair& p) {
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ8_0, GgmlType::kQ4_1}) {
    const int64_t rows = 1000, cols = 2048;
    const std::vector<uint8_t> gate_bytes = RandomWeight(type, rows, cols),
                               up_bytes = RandomWeight(type, rows, cols);
    const runtime::HostWeight gate{type, rows, cols, gate_bytes}, up{type, rows, cols, up_bytes};
    const runtime::Weight gc = Require(p.cpu.UploadWeight(gate), "upload"),
                          uc = Require(p.cpu.UploadWeight(up), "upload"),
                          gg = Require(p.gpu.UploadWeight(gate), "upload"),
                          ug = Require(p.gpu.UploadWeight(up), "upload");
    for (int n : {1, 5, 8}) {
      const std::string name = std::string(runtime::NameOf(type)) + " n=" + std::to_string(n);
      const std::vector<float> x = RandomFloats(n * cols);
      const Activations xc = MakeActivations(p.cpu, p.keep, n, cols, &x),
                        xg = MakeActivations(p.gpu, p.keep, n, cols, &x);
      Activations oc = MakeActivations(p.cpu, p.keep, n, rows),
                  og = MakeActivations(p.gpu, p.keep, n, rows),
                  sc = MakeActivations(p.cpu, p.keep, n, rows),
                  sg = MakeActivations(p.gpu, p.keep, n, rows);
      p.cpu.SwiGlu(gc, uc, xc, oc, sc);
      p.gpu.SwiGlu(gg, ug, xg, og, sg);
      Report("SwiGlu", name, RelativeError(ToHost(p.gpu, og), ToHost(p.cpu, oc)),
             kMatMulTolerance);
      const std::vector<float> residual = RandomFloats(n * rows, 10.0f);
      const Activations ac = MakeActivations(p.cpu, p.keep, n, rows, &residual),
                        ag = MakeActivations(p.gpu, p.keep, n, rows, &residual),
                        tc = MakeActivations(p.cpu, p.keep, n, rows),
                        tg = MakeActivations(p.gpu, p.keep, n, rows);
      p.cpu.MatMulAdd(gc, xc, tc, ac);
      p.gpu.MatMulAdd(gg, xg, tg, ag);
      Report("MatMulAdd", name, RelativeError(ToHost(p.gpu, ag), ToHost(p.cpu, ac)),
             kMatMulTolerance);
    }
    p.keep.clear();
  }
}

void TestElementwise(Pair& p) {
  for (int64_t cols : {64, 576, 2048, 11008}) {
    for (int64_t rows : {1, 5, 16}) {
      const std::string name = std::to_string(rows) + "x" + std::to_string(cols);
      const std::vector<float> a = RandomFloats(rows * cols, 3.0f), b = RandomFloats(rows * cols);
      const std::vector<float> gain = RandomFloats(cols);
      std::vector<uint8_t> gain_bytes(cols * 4);
      std::memcpy(gain_bytes.data(), gain.data(), gain_bytes.size());
      const runtime::HostWeight g{GgmlType::kF32, 1, cols, gain_bytes};
      const runtime::Weight gc = Require(p.cpu.UploadWeight(g), "gain"),
                            gg = Require(p.gpu.UploadWeight(g), "gain");
      Activations ac = MakeActivations(p.cpu, p.keep, rows, cols, &a),
                  ag = MakeActivations(p.gpu, p.keep, rows, cols, &a),
                  bc = MakeActivations(p.cpu, p.keep, rows, cols, &b),
                  bg = MakeActivations(p.gpu, p.keep, rows, cols, &b),
                  oc = MakeActivations(p.cpu, p.keep, rows, cols),
                  og = MakeActivations(p.gpu, p.keep, rows, cols);
      p.cpu.RmsNorm(ac, gc, 1e-6f, oc);
      p.gpu.RmsNorm(ag, gg, 1e-6f, og);
      Report("RmsNorm", name, RelativeError(ToHost(p.gpu, og), ToHost(p.cpu, oc)),
             kElementwiseTolerance);
      p.cpu.SiluMul(ac, bc, oc);
      p.gpu.SiluMul(ag, bg, og);
      Report("SiluMul", name, RelativeError(ToHost(p.gpu, og), ToHost(p.cpu, oc)),
             kElementwiseTolerance);
      p.cpu.Add(ac, bc);
      p.gpu.Add(ag, bg);
      Report("Add", name, RelativeError(ToHost(p.gpu, ag), ToHost(p.cpu, ac)), kExactTolerance);
      std::vector<int32_t> rows_wanted = {static_cast<int32_t>(rows - 1), 0};
      const Activations gc2 = MakeActivations(p.cpu, p.keep, 2, cols),
                        gg2 = MakeActivations(p.gpu, p.keep, 2, cols);
      p.cpu.GatherRows(ac, rows_wanted, gc2);
      p.gpu.GatherRows(ag, rows_wanted, gg2);
      Report("GatherRows", name, RelativeError(ToHost(p.gpu, gg2), ToHost(p.cpu, gc2)),
             kExactTolerance);
      if (cols % 64 == 0) {
        const int head_dim = cols >= 128 ? 128 : 64;
        const runtime::RopeParams rope{static_cast<int>(cols / head_dim), head_dim, 100000.0f};
        std::vector<runtime::Pos> positions(rows);
        for (auto& pos : positions) pos = static_cast<runtime::Pos>(rng() % 8000);
        p.cpu.Rope(bc, rope, positions);
        p.gpu.Rope(bg, rope, positions);
        Report("Rope", name, RelativeError(ToHost(p.gpu, bg), ToHost(p.cpu, bc)), kRopeTolerance);
      }
      p.keep.clear();
    }
  }
}

// A few sequences over shuffled pages: a prefill chunk, decode tokens at long positions.
void TestAttention(Pair& p) {
  struct Case { int n_heads, n_kv_heads, head_dim, page_size; std::vector<int> lengths; int chunk; };
  const Case cases[] = {{16, 4, 128, 16, {1, 37, 700, 3000}, 1},
                        {9, 3, 64, 16, {5, 129}, 6},
                        {8, 8, 64, 32, {2048, 64, 1}, 1},
                        {8, 2, 64, 16, {7, 40}, 7},
                        {16, 4, 128, 16, {10, 200}, 10}};
  for (const Case& c : cases) {
    const int n_seqs = static_cast<int>(c.lengths.size());
    std::vector<int32_t> table_begin{0}, page_ids;
    int total_pages = 0;
    for (int len : c.lengths) total_pages += (len + c.page_size - 1) / c.page_size;
    std::vector<int32_t> shuffled(total_pages);
    std::iota(shuffled.begin(), shuffled.end(), 0);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    std::vector<runtime::Pos> positions;
    std::vector<int32_t> token_seq;
    for (int s = 0; s < n_seqs; ++s) {
      const int pages = (c.lengths[s] + c.page_size - 1) / c.page_size;
      for (int i = 0; i < pages; ++i) page_ids.push_back(shuffled[page_ids.size()]);
      table_begin.push_back(static_cast<int32_t>(page_ids.size()));
      for (int t = std::max(0, c.lengths[s] - c.chunk); t < c.lengths[s]; ++t) {
        positions.push_back(t);
        token_seq.push_back(s);
      }
    }
    const runtime::AttentionBatch batch{positions, token_seq, table_begin, page_ids};
    const runtime::KvCacheShape shape{2, c.n_kv_heads, c.head_dim, c.page_size, total_pages};
    runtime::KvCache kc = Require(runtime::AllocateKvCache(p.cpu, shape), "kv");
    runtime::KvCache kg = Require(runtime::AllocateKvCache(p.gpu, shape), "kv");
    std::vector<uint16_t> init(shape.BytesPerTensor() / 2);
    for (auto& h : init) h = runtime::Fp32ToFp16(std::normal_distribution<float>()(rng));
    std::memcpy(kc.k.data(), init.data(), shape.BytesPerTensor());
    cudaMemcpy(kg.k.data(), init.data(), shape.BytesPerTensor(), cudaMemcpyHostToDevice);
    std::memcpy(kc.v.data(), init.data(), shape.BytesPerTensor());
    cudaMemcpy(kg.v.data(), init.data(), shape.BytesPerTensor(), cudaMemcpyHostToDevice);
    const int64_t n = positions.size(), kv_dim = c.n_kv_heads * c.head_dim,
                  q_dim = c.n_heads * c.head_dim;
    const std::vector<float> k = RandomFloats(n * kv_dim), v = RandomFloats(n * kv_dim),
                             q = RandomFloats(n * q_dim, 0.3f);
    const std::string name = std::to_string(c.n_heads) + "/" + std::to_string(c.n_kv_heads) +
                             " heads, head_dim " + std::to_string(c.head_dim);
    for (int layer : {1, 0}) {
      p.cpu.StoreKv(kc, layer, MakeActivations(p.cpu, p.keep, n, kv_dim, &k),
                    MakeActivations(p.cpu, p.keep, n, kv_dim, &v), batch);
      p.gpu.StoreKv(kg, layer, MakeActivations(p.gpu, p.keep, n, kv_dim, &k),
                    MakeActivations(p.gpu, p.keep, n, kv_dim, &v), batch);
      const Activations oc = MakeActivations(p.cpu, p.keep, n, q_dim),
                        og = MakeActivations(p.gpu, p.keep, n, q_dim);
      p.cpu.Attention(kc, layer, c.n_heads, MakeActivations(p.cpu, p.keep, n, q_dim, &q), batch, oc);
      p.gpu.Attention(kg, layer, c.n_heads, MakeActivations(p.gpu, p.keep, n, q_dim, &q), batch, og);
      Report("Attention", name, RelativeError(ToHost(p.gpu, og), ToHost(p.cpu, oc)),
             kAttentionTolerance);
    }
    std::vector<uint16_t> device_k(init.size());
    cudaMemcpy(device_k.data(), kg.k.data(), shape.BytesPerTensor(), cudaMemcpyDeviceToHost);
    GPU_CHECK(std::memcmp(device_k.data(), kc.k.data(), shape.BytesPerTensor()) == 0,
              "StoreKv %s: K cache bytes differ from the CPU's", name.c_str());
    p.keep.clear();
  }
}

void TestTopK(Pair& p) {
  for (int cols : {100, 49152, 128256}) {
    std::vector<float> logits = RandomFloats(3 * cols);
    logits[5] = logits[9] = 50.0f;  // a tie: the lower id comes first
    const Activations lg = MakeActivations(p.gpu, p.keep, 3, cols, &logits);
    const int k = 40;
    runtime::cuda::DeviceMemory out = Require(runtime::cuda::AllocateDevice(3 * k * 8), "alloc");
    p.gpu.TopK(lg, k, out.as<int32_t>(), reinterpret_cast<float*>(out.as<int32_t>() + 3 * k));
    Require(p.gpu.Synchronize(), "TopK");
    std::vector<int32_t> ids(3 * k);
    cudaMemcpy(ids.data(), out.data(), ids.size() * 4, cudaMemcpyDeviceToHost);
    for (int r = 0; r < 3; ++r) {
      std::vector<int32_t> want(cols);
      std::iota(want.begin(), want.end(), 0);
      const float* row = logits.data() + r * cols;
      std::stable_sort(want.begin(), want.end(), [&](int a, int b) { return row[a] > row[b]; });
      for (int i = 0; i < k; ++i) {
        GPU_CHECK(ids[r * k + i] == want[i], "TopK cols %d row %d rank %d: %d vs %d", cols, r, i,
                  ids[r * k + i], want[i]);
      }
    }
    p.keep.clear();
  }
}

// Arrays staged one after another without a synchronization (as one op stages its
// inputs before launching) each keep their own bytes on the device, also when they
// overflow the staging buffer several times: nothing staged is overwritten or freed
// before Reset.
void TestStagerKeepsEveryCopy() {
  cuda::Stream stream = Require(cuda::CreateStream(), "CreateStream");
  cuda::HostStager stager = Require(cuda::HostStager::Create(4096), "HostStager::Create");
  std::vector<std::vector<int32_t>> arrays;
  std::vector<const void*> staged;
  for (int i = 0; i < 12; ++i) {
    std::vector<int32_t>& a = arrays.emplace_back(700 + 300 * i);
    for (auto& v : a) v = static_cast<int32_t>(rng());
  }
  for (const auto& a : arrays) {
    staged.push_back(Require(stager.Stage(stream.get(), a.data(), a.size() * sizeof(int32_t)),
                             "Stage"));
  }
  Require(cuda::CudaStatus(cudaStreamSynchronize(stream.get()), "sync"), "sync");
  for (size_t i = 0; i < arrays.size(); ++i) {
    std::vector<int32_t> back(arrays[i].size());
    Require(cuda::CudaStatus(cudaMemcpy(back.data(), staged[i], back.size() * sizeof(int32_t),
                                        cudaMemcpyDeviceToHost),
                             "cudaMemcpy"),
            "copy back");
    GPU_CHECK(back == arrays[i], "staged array %zu changed before Reset", i);
  }
  stager.Reset();
}

}  // namespace
}  // namespace smollm::gpu_test

int main() {
  using namespace smollm;
  auto gpu = gpu_test::Require(runtime::CudaBackend::Create({}), "CudaBackend::Create");
  runtime::ThreadPool pool(8);
  runtime::CpuBackend cpu(pool, 11008);
  gpu_test::Pair pair{cpu, *gpu, {}};
  gpu_test::TestMatMulAndEmbed(pair);
  gpu_test::TestFusedEpilogues(pair);
  gpu_test::TestElementwise(pair);
  gpu_test::TestAttention(pair);
  gpu_test::TestTopK(pair);
  gpu_test::TestStagerKeepsEveryCopy();
  std::printf("gpu_kernels_test: %s (%d failures)\n", gpu_test::Failures() ? "FAIL" : "PASS",
              gpu_test::Failures());
  return gpu_test::Failures() ? 1 : 0;
}

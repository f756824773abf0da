// Peak int8 multiply-accumulate rate of this CPU on the runtime's ThreadPool: the ceiling of
// a prompt step, whose matrix products run the int8 dot-product instructions of the quantized
// kernels (run by hand; tests/bench/cpu_vs_llama_cpp.py runs it for its prefill roofline).
//   int8_peak_bench [--threads N] [--passes P] [--isa avx512|avx2]
// Each thread runs a loop of independent dot-product instructions (16 accumulators, more
// than latency times throughput on current cores, no memory operands) for about 0.2 s a
// pass, in the best ISA of this CPU or the one --isa names; prints one JSON line with the
// best pass in int8 MACs per second and every pass.
//   avx512: vpdpbusd zmm (AVX-512 VNNI), 64 MACs an instruction, what the AVX-512 kernels
//           spend their time in;
//   avx2:   vpmaddubsw + vpmaddwd + vpaddd on ymm, 32 MACs per three instructions, the
//           AVX2 kernels' sequence.
// The kernels also unpack weights, scale and add, so they reach a fraction of this; the
// figure bounds what any int8 kernel can do here (AMX tiles, where present, are another
// unit and are not measured).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "runtime/backend/cpu/cpu_features.h"
#include "runtime/core/thread_pool.h"

namespace smollm::runtime {
namespace {

using Clock = std::chrono::steady_clock;
// Per thread and pass: about 0.2 s of AVX-512 VNNI, in kChunks pieces that the pool hands
// out dynamically, so that a thread woken late does not stretch a pass.
constexpr int64_t kLoops = 4'000'000;
constexpr int64_t kChunks = 64;

#if defined(__x86_64__)
// 16 independent vpdpbusd a loop: 16 * 64 MACs.
__attribute__((target("avx512f,avx512vnni"))) void Avx512Vnni(int64_t loops) {
  asm volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm2\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm3\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm4\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm5\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm6\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm7\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm8\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm9\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm10\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm11\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm12\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm13\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm14\n\t"
      "vpdpbusd %%zmm0, %%zmm1, %%zmm15\n\t"
      "vpdpbusd %%zmm1, %%zmm0, %%zmm2\n\t"
      "vpdpbusd %%zmm1, %%zmm0, %%zmm3\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(loops)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}
constexpr int64_t kAvx512MacsPerLoop = 16 * 64;

// 8 chains of vpmaddubsw, vpmaddwd (by ones), vpaddd a loop, each 32 MACs: two sets of
// temporaries, so that one set's multiplies run while the other's wait on latency.
__attribute__((target("avx2"))) void Avx2(int64_t loops) {
  asm volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "vpmaddubsw %%ymm0, %%ymm1, %%ymm2\n\t"
      "vpmaddubsw %%ymm1, %%ymm0, %%ymm3\n\t"
      "vpmaddubsw %%ymm0, %%ymm1, %%ymm4\n\t"
      "vpmaddubsw %%ymm1, %%ymm0, %%ymm5\n\t"
      "vpmaddwd %%ymm15, %%ymm2, %%ymm2\n\t"
      "vpmaddwd %%ymm15, %%ymm3, %%ymm3\n\t"
      "vpmaddwd %%ymm15, %%ymm4, %%ymm4\n\t"
      "vpmaddwd %%ymm15, %%ymm5, %%ymm5\n\t"
      "vpaddd %%ymm2, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm3, %%ymm7, %%ymm7\n\t"
      "vpaddd %%ymm4, %%ymm8, %%ymm8\n\t"
      "vpaddd %%ymm5, %%ymm9, %%ymm9\n\t"
      "vpmaddubsw %%ymm0, %%ymm1, %%ymm10\n\t"
      "vpmaddubsw %%ymm1, %%ymm0, %%ymm11\n\t"
      "vpmaddubsw %%ymm0, %%ymm1, %%ymm12\n\t"
      "vpmaddubsw %%ymm1, %%ymm0, %%ymm13\n\t"
      "vpmaddwd %%ymm15, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm15, %%ymm11, %%ymm11\n\t"
      "vpmaddwd %%ymm15, %%ymm12, %%ymm12\n\t"
      "vpmaddwd %%ymm15, %%ymm13, %%ymm13\n\t"
      "vpaddd %%ymm10, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm11, %%ymm7, %%ymm7\n\t"
      "vpaddd %%ymm12, %%ymm8, %%ymm8\n\t"
      "vpaddd %%ymm13, %%ymm9, %%ymm9\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(loops)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm15", "cc");
}
constexpr int64_t kAvx2MacsPerLoop = 8 * 32;
#endif

struct Flags {
  int threads = 1;
  int passes = 5;
  std::string isa;  // empty: the best this CPU runs
};

bool ParseFlags(int argc, char** argv, Flags& f) {
  if (argc % 2 == 0) {
    std::fprintf(stderr, "int8_peak_bench: %s needs a value\n", argv[argc - 1]);
    return false;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    bool ok = false;
    if (name == "--threads") ok = absl::SimpleAtoi(argv[i + 1], &f.threads) && f.threads >= 1;
    if (name == "--passes") ok = absl::SimpleAtoi(argv[i + 1], &f.passes) && f.passes >= 1;
    if (name == "--isa") {
      f.isa = argv[i + 1];
      ok = f.isa == "avx512" || f.isa == "avx2";
    }
    if (!ok) {
      std::fprintf(stderr, "int8_peak_bench: bad flag %s %s\n", argv[i], argv[i + 1]);
      return false;
    }
  }
  return f.threads <= 1024 && f.passes <= 1000;
}

int Main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, f)) return 2;
  void (*loop)(int64_t) = nullptr;
  int64_t macs_per_loop = 0, loops = kLoops;
  const cpu::CpuIsa isa = f.isa.empty()      ? cpu::BestCpuIsa()
                          : f.isa == "avx512" ? cpu::CpuIsa::kAvx512
                                              : cpu::CpuIsa::kAvx2;
  if (!cpu::CpuSupports(isa)) {
    std::fprintf(stderr, "int8_peak_bench: this CPU cannot run %s\n", f.isa.c_str());
    return 2;
  }
#if defined(__x86_64__)
  if (isa == cpu::CpuIsa::kAvx512) {
    loop = Avx512Vnni;
    macs_per_loop = kAvx512MacsPerLoop;
  } else if (isa == cpu::CpuIsa::kAvx2) {
    loop = Avx2;
    macs_per_loop = kAvx2MacsPerLoop;
  }
#endif
  if (loop == nullptr) {
    std::printf("{\"threads\":%d,\"isa\":\"%s\","
                "\"error\":\"no int8 dot-product loop for this ISA\"}\n",
                f.threads, std::string(cpu::CpuIsaName(isa)).c_str());
    return 0;
  }
  ThreadPool pool(f.threads);
  std::vector<double> macs_per_s;
  for (int pass = 0; pass < f.passes; ++pass) {
    const Clock::time_point start = Clock::now();
    pool.ParallelFor(f.threads * kChunks, 1, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) loop(loops / kChunks);
    });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    macs_per_s.push_back(static_cast<double>(f.threads) * kChunks * (loops / kChunks) *
                         macs_per_loop / seconds);
  }
  std::printf("{\"threads\":%d,\"isa\":\"%s\",\"int8_macs_per_s\":%.4g,\"passes\":[%s]}\n",
              f.threads, std::string(cpu::CpuIsaName(isa)).c_str(),
              *std::max_element(macs_per_s.begin(), macs_per_s.end()),
              absl::StrJoin(macs_per_s, ",", [](std::string* out, double v) {
                out->append(std::to_string(v));
              }).c_str());
  return 0;
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) { return smollm::runtime::Main(argc, argv); }

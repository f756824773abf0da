// Streaming memory bandwidth on the runtime's ThreadPool: the ceiling of a decode step,
// which reads every weight once (run by hand; tests/bench/cpu_vs_llama_cpp.py runs it).
//   membw_bench [--threads N] [--mib M] [--passes P] [--pages huge|small]
// A buffer of M MiB (default 1024: many times any last-level cache) is filled once, then
// read: 32-bit integer adds over every byte (vpaddd, as a dequantizing matvec streams its
// weights), and copied: its first half into its second (memcpy, counting the bytes read
// and the bytes written). Both are spread over N threads in 1 MiB chunks. Reads run with
// and without software prefetch; read_gbps is the better. Prints one JSON line with the
// best of P passes of each, in GB/s (1e9 bytes), and every pass.
// --pages huge (the default) allocates the buffer as the CPU backend allocates its
// repacked weights (HugePageBuffer: 2 MiB transparent huge pages where the kernel grants
// them); --pages small uses 4 KiB pages, as plain heap memory gets where transparent huge
// pages are left to madvise. On a 2-core Zen 4 (EPYC) virtual machine one thread read 27 to
// 31 GB/s from huge pages against 17 to 20 from small ones: a roofline measured on small
// pages would flatter a decode that streams huge ones. huge_page_kib reports how much of
// the process the kernel did back with huge pages (AnonHugePages), so that a roofline says
// what it measured.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sys/mman.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/huge_page_buffer.h"
#include "runtime/core/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace smollm::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kChunk = int64_t{1} << 20;

#if defined(__x86_64__)
// Sum of the 32-bit words of [p, p + bytes), bytes a multiple of 128. With `prefetch`,
// software prefetches run 4 KiB ahead, as the runtime's decode kernels do (the hardware
// prefetchers stop at page boundaries).
template <bool prefetch>
__attribute__((target("avx2"))) uint32_t SumAvx2(const uint8_t* p, int64_t bytes) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (int64_t i = 0; i < bytes; i += 128) {
    if (prefetch) {
      _mm_prefetch(reinterpret_cast<const char*>(p + i + 4096), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(p + i + 4096 + 64), _MM_HINT_T0);
    }
    a = _mm256_add_epi32(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi32(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_add_epi32(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_add_epi32(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
  alignas(32) uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  uint32_t total = 0;
  for (uint32_t v : lanes) total += v;
  return total;
}

template <bool prefetch>
uint32_t SumSse2(const uint8_t* p, int64_t bytes) {
  __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
  for (int64_t i = 0; i < bytes; i += 64) {
    if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(p + i + 4096), _MM_HINT_T0);
    a = _mm_add_epi32(a, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
    b = _mm_add_epi32(b, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16)));
    c = _mm_add_epi32(c, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 32)));
    d = _mm_add_epi32(d, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 48)));
  }
  alignas(16) uint32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes),
                  _mm_add_epi32(_mm_add_epi32(a, b), _mm_add_epi32(c, d)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

bool HasAvx2() { return __builtin_cpu_supports("avx2"); }
uint32_t Sum(const uint8_t* p, int64_t bytes, bool prefetch) {
  static const bool avx2 = HasAvx2();
  if (avx2) return prefetch ? SumAvx2<true>(p, bytes) : SumAvx2<false>(p, bytes);
  return prefetch ? SumSse2<true>(p, bytes) : SumSse2<false>(p, bytes);
}
#else
bool HasAvx2() { return false; }
uint32_t Sum(const uint8_t* p, int64_t bytes, bool /*prefetch*/) {
  uint32_t total = 0;
  for (int64_t i = 0; i < bytes; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    total += w;
  }
  return total;
}
#endif

// The process's anonymous memory backed by transparent huge pages, in KiB (0 where the
// kernel does not say).
int64_t AnonHugePagesKib() {
  std::FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) return 0;
  char line[256];
  int64_t kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    long long v = 0;
    if (std::sscanf(line, "AnonHugePages: %lld kB", &v) == 1) kib = v;
  }
  std::fclose(f);
  return kib;
}

struct Flags {
  int threads = 1;
  int64_t mib = 1024;
  int passes = 5;
  bool huge_pages = true;
};

bool ParseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    bool ok = false;
    if (name == "--threads") ok = absl::SimpleAtoi(argv[i + 1], &f.threads) && f.threads >= 1;
    if (name == "--mib") ok = absl::SimpleAtoi(argv[i + 1], &f.mib) && f.mib >= 2;
    if (name == "--passes") ok = absl::SimpleAtoi(argv[i + 1], &f.passes) && f.passes >= 1;
    if (name == "--pages") {
      const std::string pages = argv[i + 1];
      ok = pages == "huge" || pages == "small";
      f.huge_pages = pages == "huge";
    }
    if (!ok) {
      std::fprintf(stderr, "membw_bench: bad flag %s %s\n", argv[i], argv[i + 1]);
      return false;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "membw_bench: %s needs a value\n", argv[argc - 1]);
    return false;
  }
  return f.threads <= 1024 && f.mib <= (int64_t{1} << 20);
}

int Main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, f)) return 2;
  const int64_t bytes = f.mib << 20;
  absl::StatusOr<HugePageBuffer> huge;
  std::unique_ptr<uint8_t, decltype(&std::free)> small(nullptr, &std::free);
  if (f.huge_pages) {
    huge = HugePageBuffer::Allocate(bytes);
  } else {
    small.reset(static_cast<uint8_t*>(std::aligned_alloc(4096, bytes)));
    madvise(small.get(), bytes, MADV_NOHUGEPAGE);  // small even where THP is "always"
  }
  uint8_t* buffer = f.huge_pages ? (huge.ok() ? huge->data() : nullptr) : small.get();
  if (buffer == nullptr) {
    std::fprintf(stderr, "membw_bench: cannot allocate %lld MiB\n", static_cast<long long>(f.mib));
    return 1;
  }
  ThreadPool pool(f.threads);
  // Filled by the pool's threads: the pages are resident before any timed pass.
  pool.ParallelFor(bytes / kChunk, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t i = 0; i < kChunk; ++i) buffer[c * kChunk + i] = static_cast<uint8_t>(i * 131 + c);
    }
  });
  const bool avx2 = HasAvx2();
  std::vector<uint32_t> sums(static_cast<size_t>(f.threads) * 16);  // a cache line per thread
  std::vector<double> read_gbps[2], copy_gbps;  // read: without, with software prefetch
  for (int pass = 0; pass < f.passes; ++pass) {
    Clock::time_point start;
    for (const bool prefetch : {false, true}) {
      start = Clock::now();
      pool.ParallelFor(bytes / kChunk, 1, [&](int64_t begin, int64_t end, int t) {
        sums[t * 16] += Sum(buffer + begin * kChunk, (end - begin) * kChunk, prefetch);
      });
      read_gbps[prefetch].push_back(
          bytes / 1e9 / std::chrono::duration<double>(Clock::now() - start).count());
    }
    const int64_t half_chunks = bytes / kChunk / 2;
    start = Clock::now();
    pool.ParallelFor(half_chunks, 1, [&](int64_t begin, int64_t end, int) {
      std::memcpy(buffer + (half_chunks + begin) * kChunk, buffer + begin * kChunk,
                  (end - begin) * kChunk);
    });
    copy_gbps.push_back(bytes / 1e9 / std::chrono::duration<double>(Clock::now() - start).count());
  }
  uint32_t checksum = 0;
  for (uint32_t s : sums) checksum += s;
  auto best = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  std::printf(
      "{\"threads\":%d,\"bytes\":%lld,\"read_kernel\":\"%s\",\"read_gbps\":%.3f,"
      "\"read_plain_gbps\":%.3f,\"read_prefetch_gbps\":%.3f,\"copy_gbps\":%.3f,"
      "\"read_plain_passes\":[%s],\"read_prefetch_passes\":[%s],\"copy_passes\":[%s],"
      "\"pages\":\"%s\",\"huge_page_kib\":%lld,\"checksum\":%u}\n",
      f.threads, static_cast<long long>(bytes), avx2 ? "avx2" : "sse2 or scalar",
      std::max(best(read_gbps[0]), best(read_gbps[1])), best(read_gbps[0]), best(read_gbps[1]),
      best(copy_gbps), absl::StrJoin(read_gbps[0], ",").c_str(),
      absl::StrJoin(read_gbps[1], ",").c_str(), absl::StrJoin(copy_gbps, ",").c_str(),
      f.huge_pages ? "huge" : "small", static_cast<long long>(AnonHugePagesKib()), checksum);
  return 0;
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) { return smollm::runtime::Main(argc, argv); }

// Instruction-set levels of the CPU the process runs on, detected once at run time.
#pragma once

#include <string_view>

namespace smollm::runtime::cpu {

// Kernel variants, lowest first. Each is compiled in its own translation unit with that
// ISA's flags; the highest one the CPU supports is used.
enum class CpuIsa {
  kGeneric,  // x86-64 baseline (SSE2) or any other architecture
  kAvx2,     // AVX2 + FMA + F16C (Haswell and later, Zen)
  kAvx512,   // kAvx2 + AVX-512 F/BW/VL/VNNI (Ice Lake, Sapphire Rapids, Zen 4 and later)
};

std::string_view CpuIsaName(CpuIsa isa);

// True when this CPU can run `isa`'s kernels.
bool CpuSupports(CpuIsa isa);

// The best variant for this CPU.
CpuIsa BestCpuIsa();

}  // namespace smollm::runtime::cpu

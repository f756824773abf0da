// MatMul through the int8 kernels: activations are quantized once per call, then each
// thread streams its share of the weight rows once per group of up to kMaxMatVecCols
// tokens (quant_matvec.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/backend/backend.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/core/thread_pool.h"

namespace smollm::runtime::cpu {

// One product of QuantMatMul::MatMulMany: out = w · x, w's first x16_rows rows
// interleaved (as QuantMatMul::MatMul's arguments).
struct QuantMatMulPart {
  const Weight* w = nullptr;
  Activations out;
  int64_t x16_rows = 0;
};

class QuantMatMul {
 public:
  // Tokens quantized per pass over the weights: bounds the scratch; larger batches take
  // several passes, each reading every weight row once.
  static constexpr int64_t kTokensPerPass = 64;

  // `pool` must outlive this object; `max_cols` bounds the weights' row width. All
  // scratch is allocated here, none per call.
  QuantMatMul(ThreadPool& pool, int64_t max_cols, const CpuKernels& kernels);

  // Whether MatMul computes weights of `type`.
  bool Supports(GgmlType type) const { return kernels_.quant_matvec(type) != nullptr; }

  // out[t][r] = dot(w row r, quantized x[t]), as Backend::MatMul. w.type must be
  // supported and w.cols <= max_cols. A token's result does not depend on the others in
  // x (batch invariance). Not thread-safe: one caller at a time, like the pool.
  // `x16_rows` (a multiple of 16; only where kernels.x16_matvec(w.type) exists): w.data
  // starts with that many rows interleaved (x16_layout.h), the rest follow in the GGUF
  // layout.
  void MatMul(const Weight& w, const Activations& x, const Activations& out,
              int64_t x16_rows = 0);

  // Most parts of one MatMulMany call.
  static constexpr int kMaxParts = 4;

  // MatMul of every part, bit for bit, with the activations quantized once and every
  // part's row chunks in one parallel loop (a decode step's Q, K, V: one loop, not
  // three). 1 <= parts.size() <= kMaxParts; every part's weight type is supported and
  // quantizes activations to the same type (ActivationTypeFor), and w.cols == x.cols.
  void MatMulMany(std::span<const QuantMatMulPart> parts, const Activations& x);

 private:
  ThreadPool& pool_;
  const CpuKernels& kernels_;
  const uint64_t max_act_row_bytes_;
  const int64_t max_act_scales_;
  std::vector<uint8_t> act_;  // [kTokensPerPass][max_act_row_bytes_] quantized tokens
  std::vector<float> act_scales_;  // [kTokensPerPass][max_act_scales_] (ActivationScales)
};

}  // namespace smollm::runtime::cpu

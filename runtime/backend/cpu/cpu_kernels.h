// The CPU backend's inner loops as a table of function pointers, one table per ISA.
#pragma once

#include <cstdint>

#include "runtime/backend/cpu/cpu_features.h"
#include "runtime/backend/cpu/quant_matvec.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cpu {

// Writes `n` floats (a whole number of blocks) dequantized from `src` to `dst`.
using DequantizeRowFn = void (*)(const uint8_t* src, float* dst, int64_t n);

// Keys per dot_keys call (the attention's chunk of positions).
inline constexpr int kKeyChunk = 16;
// Lanes of exp_shifted's sum.
inline constexpr int kExpSumLanes = 16;

struct CpuKernels {
  CpuIsa isa;
  // nullptr for types the CPU backend cannot compute with.
  DequantizeRowFn (*row_dequantizer)(GgmlType type);
  float (*dot)(const float* a, const float* b, int64_t n);         // sum a[i] * b[i]
  void (*scale)(float a, float* y, int64_t n);                     // y *= a
  // out[g * out_stride + i] = sum over d < head_dim of q[g * q_stride + d] * key i's
  // element d, for g < n_q (query heads) and i < kKeyChunk: a chunk of n <= kKeyChunk f16
  // key vectors (head_dim apart at `keys`), 0 for n <= i. The attention's scores.
  void (*dot_keys)(const float* q, int n_q, int64_t q_stride, const uint16_t* keys, int n,
                   int64_t head_dim, float* out, int64_t out_stride);
  // y[g * y_stride + i] += sum over j < n_rows of a[g * a_stride + j] * rows[j * n + i]
  // (f16), for g < n_a and i < n, added in j order: the attention's weighted values.
  void (*axpy_f16_rows)(const float* a, int n_a, int64_t a_stride, const uint16_t* rows, int n_rows,
                        int64_t n, float* y, int64_t y_stride);
  // out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)): the SwiGLU feed-forward's
  // gate. exp is a polynomial within 2 float ulp of std::exp, so that the loop vectorises
  // (a call into libm per element made this a few percent of a decode step and more of a
  // prompt's). `out` may be `gate` or `up`.
  void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);
  // x[i] = exp(x[i] - shift) with the same exp as silu_mul; returns their sum, added in
  // kExpSumLanes lanes (lane l: x[l], x[l + kExpSumLanes], ... in index order), then lane
  // l + 8 into l, l + 4 into l, l + 2, l + 1 (the attention's softmax weights of a block).
  float (*exp_shifted)(float* x, float shift, int64_t n);
  void (*f32_to_f16)(const float* src, uint16_t* dst, int64_t n);  // KV writes
  // Int8 matvec of `type` weights against activations quantized by quantize_activations
  // to ActivationTypeFor(type); nullptr for types without one (quant_matvec.h).
  QuantMatVecFn (*quant_matvec)(GgmlType type);
  QuantizeActivationsFn quantize_activations;
  // Int8 matvec over Q4_K, Q6_K, Q4_0, Q4_1, Q5_0 or Q8_0 weights interleaved 16 rows at
  // a time (q4k_x16.h, q6k_x16.h, block32_x16.h): args.rows a multiple of 16, args.weights
  // the first group. nullptr where the ISA has none for the type, and then the backend keeps
  // the GGUF layout.
  QuantMatVecFn (*x16_matvec)(GgmlType type);
};

// The kernels compiled for `isa` (which the CPU must support).
const CpuKernels& KernelsFor(CpuIsa isa);

// The kernels of BestCpuIsa(), chosen once.
const CpuKernels& BestKernels();

}  // namespace smollm::runtime::cpu

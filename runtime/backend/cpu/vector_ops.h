// Small f32 vector kernels shared by the CPU ops, written for the auto-vectoriser.
#pragma once

#include <cstdint>

namespace smollm::runtime::cpu {

// Sum of a[i] * b[i]. Sixteen independent partial sums let the compiler vectorise
// without reassociating a single accumulator (results are deterministic per binary).
float Dot(const float* a, const float* b, int64_t n);

// y[i] += a * x[i].
void Axpy(float a, const float* x, float* y, int64_t n);

// y[i] *= a.
void Scale(float a, float* y, int64_t n);

}  // namespace smollm::runtime::cpu

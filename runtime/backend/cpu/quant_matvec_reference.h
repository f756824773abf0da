// Scalar reference int8 dot products, the oracle for every SIMD matvec kernel and the
// kernels of the generic ISA. Plain C++ over the quant module's block structs.
#pragma once

#include <cstdint>

#include "runtime/backend/cpu/quant_matvec.h"

namespace smollm::runtime::cpu {

// dot(weight row, activation row) of k elements: `w` holds k / block-size blocks of
// `weight_type`, `act` the same count of ActivationTypeFor(weight_type) blocks. Each
// block's integer sum is exact; the float steps after it run in block order (the SIMD
// kernels reassociate them across float lanes).
// Returns 0 for a weight type without an int8 kernel.
float ReferenceQuantDot(GgmlType weight_type, const uint8_t* w, const uint8_t* act,
                        int64_t k);

// The matvec over ReferenceQuantDot; nullptr for a weight type without one.
QuantMatVecFn ReferenceQuantMatVec(GgmlType weight_type);

// The quant module's block quantizers (Q8_0, Q8_1, Q8_K) over a row.
void ReferenceQuantizeActivations(GgmlType act_type, const float* x, uint8_t* dst, int64_t n);

}  // namespace smollm::runtime::cpu

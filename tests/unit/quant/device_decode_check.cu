// Build-only check that the block decoders and fp16/bf16 conversions stay callable from
// CUDA device code (constexpr, no library calls), so CUDA kernels can share them.
#include "runtime/quant/half.h"
#include "runtime/quant/k_scales.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q5_k.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"
#include "runtime/quant/q8_k.h"

namespace smollm::runtime {

// One thread decodes one block of each format into y (the 32-element ones share y[0..31]).
__global__ void DecodeEveryFormat(const BlockQ4_0* q4_0, const BlockQ4_1* q4_1,
                                  const BlockQ5_0* q5_0, const BlockQ5_1* q5_1,
                                  const BlockQ8_0* q8_0, const BlockQ8_1* q8_1,
                                  const BlockQ4_K* q4_k, const BlockQ5_K* q5_k,
                                  const BlockQ6_K* q6_k, const BlockQ8_K* q8_k,
                                  const uint16_t* halves, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  float* out = y + static_cast<size_t>(i) * 1024;
  DequantizeBlock(q4_0[i], out);
  DequantizeBlock(q4_1[i], out);
  DequantizeBlock(q5_0[i], out);
  DequantizeBlock(q5_1[i], out);
  DequantizeBlock(q8_0[i], out);
  DequantizeBlock(q8_1[i], out);
  DequantizeBlock(q4_k[i], out);
  DequantizeBlock(q5_k[i], out + 256);
  DequantizeBlock(q6_k[i], out + 512);
  DequantizeBlock(q8_k[i], out + 768);
  out[0] += Fp16ToFp32(halves[i]) + Bf16ToFp32(halves[i]) +
            static_cast<float>(Fp32ToFp16(out[1]) + Fp32ToBf16(out[2])) +
            static_cast<float>(UnpackScaleMinK(q4_k[i].scales, 5).min);
}

}  // namespace smollm::runtime

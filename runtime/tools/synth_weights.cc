// Random rows for synthetic tensors: floats through our quantizers, or valid blocks directly.
#include "runtime/tools/synth_weights.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/quant/half.h"
#include "runtime/quant/quantize.h"
#include "runtime/tools/synth_random.h"

namespace smollm::runtime {
namespace {

constexpr float kNormStd = 0.05f;
constexpr uint64_t kOutlierOneIn = 512;
constexpr float kOutlierScale = 8.0f;

uint64_t RowCount(const PlannedTensor& t) {
  uint64_t rows = 1;
  for (size_t i = 1; i < t.tensor.dims.size(); ++i) rows *= t.tensor.dims[i];
  return rows;
}

// One independent stream per (tensor, row): rows can be made in any order.
SynthRng RowRng(uint64_t seed, uint64_t tensor_index, uint64_t row) {
  return SynthRng(seed, (tensor_index << 40) ^ row);
}

void FillRandom(SynthRng& rng, uint8_t* p, size_t n) {
  while (n >= 8) {
    const uint64_t r = rng.Next();
    std::memcpy(p, &r, 8);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    const uint64_t r = rng.Next();
    std::memcpy(p, &r, n);
  }
}

// An fp16 with biased exponent field `exponent` (0: subnormal) and a random mantissa in
// [min_mantissa, end_mantissa): a positive finite scale of a chosen magnitude.
uint16_t RandomHalf(SynthRng& rng, uint32_t exponent, uint32_t min_mantissa = 0,
                    uint32_t end_mantissa = 1024) {
  const uint32_t mantissa =
      min_mantissa + static_cast<uint32_t>(rng.Below(end_mantissa - min_mantissa));
  return static_cast<uint16_t>((exponent << 10) | mantissa);
}

void PutHalf(uint8_t* p, uint16_t h) { std::memcpy(p, &h, 2); }

// Scales are picked so that a random block dequantizes to values of standard deviation
// around kWeightStd, as a real quantized weight would (see each case).
absl::Status FillBlocks(GgmlType type, SynthRng& rng, uint8_t* p, uint64_t n_elements) {
  switch (type) {
    case GgmlType::kQ4_K:
      // w = d*sc*q - dmin*m with 6-bit sc, m and q in 0..15: d in [2^-14, 2^-13) gives a
      // spread near 0.025; dmin about 8x d centres the values.
      for (uint64_t b = 0; b < n_elements / 256; ++b, p += 144) {
        FillRandom(rng, p, 144);
        PutHalf(p, RandomHalf(rng, 1));
        PutHalf(p + 2, RandomHalf(rng, 4));
      }
      return absl::OkStatus();
    case GgmlType::kQ6_K:
      // w = d*sc*(q-32) with int8 sc: real Q6_K super-scales are this small (often fp16
      // subnormals), because the int8 sub-scales use their whole range.
      for (uint64_t b = 0; b < n_elements / 256; ++b, p += 210) {
        FillRandom(rng, p, 210);
        PutHalf(p + 208, RandomHalf(rng, 0, 64, 512));
      }
      return absl::OkStatus();
    case GgmlType::kQ5_0:
      // w = d*(q-16), q in 0..31.
      for (uint64_t b = 0; b < n_elements / 32; ++b, p += 22) {
        FillRandom(rng, p, 22);
        PutHalf(p, RandomHalf(rng, 6));
      }
      return absl::OkStatus();
    case GgmlType::kQ8_0:
      // w = d*q with q in -127..127 (ggml's quantizer never writes -128).
      for (uint64_t b = 0; b < n_elements / 32; ++b, p += 34) {
        FillRandom(rng, p, 34);
        PutHalf(p, RandomHalf(rng, 3));
        for (int i = 2; i < 34; ++i) {
          if (p[i] == 0x80) p[i] = 0x81;
        }
      }
      return absl::OkStatus();
    case GgmlType::kF16:
      for (uint64_t i = 0; i < n_elements; ++i, p += 2) {
        PutHalf(p, Fp32ToFp16(kWeightStd * rng.Normal()));
      }
      return absl::OkStatus();
    case GgmlType::kF32:
      for (uint64_t i = 0; i < n_elements; ++i, p += 4) {
        const float v = kWeightStd * rng.Normal();
        std::memcpy(p, &v, 4);
      }
      return absl::OkStatus();
    default:
      return absl::UnimplementedError(
          absl::StrCat("no random block recipe for type ", std::string(NameOf(type))));
  }
}

}  // namespace

void SynthFloatRow(const PlannedTensor& tensor, uint64_t seed, uint64_t tensor_index,
                   uint64_t row, std::span<float> out) {
  SynthRng rng = RowRng(seed, tensor_index, row);
  if (tensor.tensor.role == TensorRole::kNorm) {
    for (float& v : out) v = 1.0f + kNormStd * rng.Normal();
    return;
  }
  for (float& v : out) {
    v = kWeightStd * rng.Normal();
    if (rng.Below(kOutlierOneIn) == 0) v *= kOutlierScale;
  }
}

absl::Status SynthRows(const PlannedTensor& tensor, WeightMode mode, uint64_t seed,
                       uint64_t tensor_index, uint64_t first_row, std::span<uint8_t> out) {
  const uint64_t n_rows = RowCount(tensor);
  const uint64_t row_elements = tensor.tensor.dims[0];
  const uint64_t row_bytes = n_rows == 0 ? 0 : tensor.n_bytes / n_rows;
  if (row_bytes == 0 || out.size() % row_bytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", tensor.tensor.name, "': ",
                                                   out.size(), " bytes are not whole rows of ",
                                                   row_bytes, " bytes"));
  }
  const uint64_t count = out.size() / row_bytes;
  if (first_row > n_rows || count > n_rows - first_row) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", tensor.tensor.name, "': rows ",
                                                   first_row, "+", count, " exceed its ",
                                                   n_rows, " rows"));
  }
  const bool as_floats = mode == WeightMode::kQuantize || tensor.tensor.role == TensorRole::kNorm;
  std::vector<float> floats(as_floats ? row_elements : 0);
  for (uint64_t r = 0; r < count; ++r) {
    const uint64_t row = first_row + r;
    const std::span<uint8_t> dst = out.subspan(r * row_bytes, row_bytes);
    if (as_floats) {
      SynthFloatRow(tensor, seed, tensor_index, row, floats);
      if (absl::Status s = QuantizeRow(tensor.type, floats, dst); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("tensor '", tensor.tensor.name, "' row ",
                                                   row, ": ", s.message()));
      }
      continue;
    }
    SynthRng rng = RowRng(seed, tensor_index, row);
    if (absl::Status s = FillBlocks(tensor.type, rng, dst.data(), row_elements); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("tensor '", tensor.tensor.name, "': ",
                                                 s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime

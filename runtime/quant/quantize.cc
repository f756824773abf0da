// Row quantization: input and size checks, then one block encoder per type.
#include "runtime/quant/quantize.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/quant/half.h"

namespace smollm::runtime {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF blocks are little-endian");

template <typename Block, size_t N>
void EncodeBlocks(std::span<const float> src, std::span<uint8_t> dst,
                  Block (*quantize_block)(std::span<const float, N>)) {
  for (size_t i = 0; i < src.size() / N; ++i) {
    const Block block = quantize_block(src.subspan(i * N).template first<N>());
    std::memcpy(dst.data() + i * sizeof(Block), &block, sizeof(Block));
  }
}

void EncodeHalf(std::span<const float> src, std::span<uint8_t> dst, uint16_t (*convert)(float)) {
  for (size_t i = 0; i < src.size(); ++i) {
    const uint16_t h = convert(src[i]);
    dst[2 * i] = static_cast<uint8_t>(h & 0xff);
    dst[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
}

}  // namespace

bool CanQuantize(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ8_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K:
    case GgmlType::kQ8_K:
      return true;
    default:
      return false;
  }
}

absl::Status QuantizeRow(GgmlType type, std::span<const float> src, std::span<uint8_t> dst) {
  if (!CanQuantize(type)) {
    return absl::UnimplementedError(
        absl::StrCat("QuantizeRow: no quantizer for type ", std::string(NameOf(type))));
  }
  const GgmlTypeTraits traits = TraitsOf(type);
  const std::optional<uint64_t> row_bytes = RowBytes(type, src.size());
  if (!row_bytes.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("QuantizeRow(", std::string(traits.name), "): src has ", src.size(),
                     " elements, not a multiple of the block size ", traits.block_elements));
  }
  if (dst.size() != *row_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("QuantizeRow(", std::string(traits.name),
                                                   "): dst has ", dst.size(), " bytes but ",
                                                   src.size(), " elements take ", *row_bytes));
  }
  const bool plain = type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16;
  if (!plain) {
    for (size_t i = 0; i < src.size(); ++i) {
      if (!std::isfinite(src[i])) {
        return absl::InvalidArgumentError(absl::StrCat("QuantizeRow(", std::string(traits.name),
                                                       "): src[", i, "] = ", src[i],
                                                       " is not finite"));
      }
    }
  }
  switch (type) {
    case GgmlType::kF32:
      if (!dst.empty()) std::memcpy(dst.data(), src.data(), dst.size());
      break;
    case GgmlType::kF16:
      EncodeHalf(src, dst, Fp32ToFp16);
      break;
    case GgmlType::kBF16:
      EncodeHalf(src, dst, Fp32ToBf16);
      break;
    case GgmlType::kQ8_0:
      EncodeBlocks(src, dst, QuantizeBlockQ8_0);
      break;
    case GgmlType::kQ8_1:
      EncodeBlocks(src, dst, QuantizeBlockQ8_1);
      break;
    case GgmlType::kQ5_0:
      EncodeBlocks(src, dst, QuantizeBlockQ5_0);
      break;
    case GgmlType::kQ4_K:
      EncodeBlocks(src, dst, QuantizeBlockQ4_K);
      break;
    case GgmlType::kQ6_K:
      EncodeBlocks(src, dst, QuantizeBlockQ6_K);
      break;
    case GgmlType::kQ8_K:
      EncodeBlocks(src, dst, QuantizeBlockQ8_K);
      break;
    default:
      break;  // excluded by CanQuantize
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime

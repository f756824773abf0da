// Row dequantization: size checks, then one block decoder per type.
#include "runtime/quant/dequantize.h"

#include <bit>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/quant/half.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q5_k.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"
#include "runtime/quant/q8_k.h"

namespace smollm::runtime {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF blocks are little-endian");

// Copies each block out of the byte span first: src carries no alignment guarantee.
template <typename Block>
void DecodeBlocks(std::span<const uint8_t> src, std::span<float> dst, size_t block_elements) {
  const size_t blocks = dst.size() / block_elements;
  for (size_t i = 0; i < blocks; ++i) {
    Block block;
    std::memcpy(&block, src.data() + i * sizeof(Block), sizeof(Block));
    DequantizeBlock(block, dst.data() + i * block_elements);
  }
}

void DecodeF16(std::span<const uint8_t> src, std::span<float> dst) {
  for (size_t i = 0; i < dst.size(); ++i) {
    const uint16_t h = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
    dst[i] = Fp16ToFp32(h);
  }
}

void DecodeBf16(std::span<const uint8_t> src, std::span<float> dst) {
  for (size_t i = 0; i < dst.size(); ++i) {
    const uint16_t h = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
    dst[i] = Bf16ToFp32(h);
  }
}

}  // namespace

bool CanDequantize(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
    case GgmlType::kQ8_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
    case GgmlType::kQ8_K:
      return true;
    default:
      return false;
  }
}

absl::Status DequantizeRow(GgmlType type, std::span<const uint8_t> src, std::span<float> dst) {
  if (!CanDequantize(type)) {
    return absl::UnimplementedError(
        absl::StrCat("DequantizeRow: no dequantizer for type ", std::string(NameOf(type))));
  }
  const GgmlTypeTraits traits = TraitsOf(type);
  const std::optional<uint64_t> row_bytes = RowBytes(type, dst.size());
  if (!row_bytes.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("DequantizeRow(", std::string(traits.name), "): dst has ", dst.size(),
                     " elements, not a multiple of the block size ", traits.block_elements));
  }
  if (src.size() != *row_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("DequantizeRow(", std::string(traits.name),
                                                   "): src has ", src.size(), " bytes but ",
                                                   dst.size(), " elements take ", *row_bytes));
  }
  switch (type) {
    case GgmlType::kF32:
      // Keeps NaN payloads bit for bit. (memcpy must not see the null of an empty span.)
      if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
      break;
    case GgmlType::kF16:
      DecodeF16(src, dst);
      break;
    case GgmlType::kBF16:
      DecodeBf16(src, dst);
      break;
    case GgmlType::kQ4_0:
      DecodeBlocks<BlockQ4_0>(src, dst, kQ4_0BlockElements);
      break;
    case GgmlType::kQ4_1:
      DecodeBlocks<BlockQ4_1>(src, dst, kQ4_1BlockElements);
      break;
    case GgmlType::kQ5_0:
      DecodeBlocks<BlockQ5_0>(src, dst, kQ5_0BlockElements);
      break;
    case GgmlType::kQ5_1:
      DecodeBlocks<BlockQ5_1>(src, dst, kQ5_1BlockElements);
      break;
    case GgmlType::kQ8_0:
      DecodeBlocks<BlockQ8_0>(src, dst, kQ8_0BlockElements);
      break;
    case GgmlType::kQ8_1:
      DecodeBlocks<BlockQ8_1>(src, dst, kQ8_1BlockElements);
      break;
    case GgmlType::kQ4_K:
      DecodeBlocks<BlockQ4_K>(src, dst, kQ4_KBlockElements);
      break;
    case GgmlType::kQ5_K:
      DecodeBlocks<BlockQ5_K>(src, dst, kQ5_KBlockElements);
      break;
    case GgmlType::kQ6_K:
      DecodeBlocks<BlockQ6_K>(src, dst, kQ6_KBlockElements);
      break;
    case GgmlType::kQ8_K:
      DecodeBlocks<BlockQ8_K>(src, dst, kQ8_KBlockElements);
      break;
    default:
      break;  // excluded by CanDequantize
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime

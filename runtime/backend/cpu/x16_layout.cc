// Dispatch of the x16 layout functions by weight type.
#include "runtime/backend/cpu/x16_layout.h"

namespace smollm::runtime::cpu {

bool HasX16Layout(GgmlType type) {
  return type == GgmlType::kQ4_K || type == GgmlType::kQ6_K || IsBlock32X16Type(type);
}

uint64_t X16GroupBytes(GgmlType type, int64_t k) {
  if (IsBlock32X16Type(type)) return Block32X16GroupBytes(type, k);
  return type == GgmlType::kQ4_K ? Q4KX16GroupBytes(k) : Q6KX16GroupBytes(k);
}

void InterleaveX16(GgmlType type, const uint8_t* rows, int64_t k, uint8_t* dst) {
  if (IsBlock32X16Type(type)) return InterleaveBlock32X16(type, rows, k, dst);
  if (type == GgmlType::kQ4_K) return InterleaveQ4KX16(rows, k, dst);
  InterleaveQ6KX16(rows, k, dst);
}

void DeinterleaveX16Row(GgmlType type, const uint8_t* group, int64_t k, int row, uint8_t* dst) {
  if (IsBlock32X16Type(type)) return DeinterleaveBlock32X16Row(type, group, k, row, dst);
  if (type == GgmlType::kQ4_K) return DeinterleaveQ4KX16Row(group, k, row, dst);
  DeinterleaveQ6KX16Row(group, k, row, dst);
}

}  // namespace smollm::runtime::cpu

// Block geometry of the GGUF tensor types.
#include "runtime/core/ggml_type.h"

#include "runtime/core/checked_math.h"

namespace smollm::runtime {

std::optional<GgmlTypeTraits> TraitsOf(uint32_t raw_type) {
  switch (static_cast<GgmlType>(raw_type)) {
    case GgmlType::kF32: return GgmlTypeTraits{"f32", 1, 4};
    case GgmlType::kF16: return GgmlTypeTraits{"f16", 1, 2};
    case GgmlType::kQ4_0: return GgmlTypeTraits{"q4_0", 32, 18};
    case GgmlType::kQ4_1: return GgmlTypeTraits{"q4_1", 32, 20};
    case GgmlType::kQ5_0: return GgmlTypeTraits{"q5_0", 32, 22};
    case GgmlType::kQ5_1: return GgmlTypeTraits{"q5_1", 32, 24};
    case GgmlType::kQ8_0: return GgmlTypeTraits{"q8_0", 32, 34};
    case GgmlType::kQ8_1: return GgmlTypeTraits{"q8_1", 32, 36};
    case GgmlType::kQ2_K: return GgmlTypeTraits{"q2_K", 256, 84};
    case GgmlType::kQ3_K: return GgmlTypeTraits{"q3_K", 256, 110};
    case GgmlType::kQ4_K: return GgmlTypeTraits{"q4_K", 256, 144};
    case GgmlType::kQ5_K: return GgmlTypeTraits{"q5_K", 256, 176};
    case GgmlType::kQ6_K: return GgmlTypeTraits{"q6_K", 256, 210};
    case GgmlType::kQ8_K: return GgmlTypeTraits{"q8_K", 256, 292};
    case GgmlType::kI8: return GgmlTypeTraits{"i8", 1, 1};
    case GgmlType::kI16: return GgmlTypeTraits{"i16", 1, 2};
    case GgmlType::kI32: return GgmlTypeTraits{"i32", 1, 4};
    case GgmlType::kI64: return GgmlTypeTraits{"i64", 1, 8};
    case GgmlType::kF64: return GgmlTypeTraits{"f64", 1, 8};
    case GgmlType::kBF16: return GgmlTypeTraits{"bf16", 1, 2};
  }
  return std::nullopt;
}

GgmlTypeTraits TraitsOf(GgmlType type) { return *TraitsOf(static_cast<uint32_t>(type)); }

std::string_view NameOf(GgmlType type) { return TraitsOf(type).name; }

std::optional<uint64_t> RowBytes(GgmlType type, uint64_t elements) {
  const GgmlTypeTraits t = TraitsOf(type);
  if (elements % t.block_elements != 0) return std::nullopt;
  return CheckedMul(elements / t.block_elements, t.block_bytes);
}

}  // namespace smollm::runtime

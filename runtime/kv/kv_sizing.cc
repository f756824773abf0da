// KV sizing: page cost from the geometry, page count from the budget.
#include "runtime/kv/kv_sizing.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "runtime/core/checked_math.h"
#include "runtime/core/status.h"

namespace smollm::runtime {

int KvDTypeBytes(KvDType dtype) {
  switch (dtype) {
    case KvDType::kF16:
    case KvDType::kBF16:
      return 2;
  }
  return 2;
}

absl::StatusOr<uint64_t> KvPageBytes(const KvGeometry& g) {
  const struct {
    const char* name;
    int value;
  } dims[] = {{"n_layers", g.n_layers},
              {"n_kv_heads", g.n_kv_heads},
              {"head_dim", g.head_dim},
              {"page_size", g.page_size}};
  uint64_t bytes = 2 * static_cast<uint64_t>(KvDTypeBytes(g.dtype));  // K and V
  for (const auto& dim : dims) {
    if (dim.value <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("KvGeometry.", dim.name, " = ", dim.value, ": must be > 0"));
    }
    const std::optional<uint64_t> product = CheckedMul(bytes, static_cast<uint64_t>(dim.value));
    if (!product) {
      return absl::InvalidArgumentError(
          absl::StrCat("KvGeometry.", dim.name, " = ", dim.value, ": page size overflows"));
    }
    bytes = *product;
  }
  return bytes;
}

absl::StatusOr<int32_t> KvPagesForBudget(uint64_t kv_cache_bytes, const KvGeometry& geometry,
                                         int32_t min_pages) {
  ASSIGN_OR_RETURN(const uint64_t page_bytes, KvPageBytes(geometry));
  const uint64_t pages = kv_cache_bytes / page_bytes;
  const uint64_t least = static_cast<uint64_t>(std::max(min_pages, 1));
  if (pages < least) {
    const uint64_t needed =
        CheckedMul(page_bytes, least).value_or(std::numeric_limits<uint64_t>::max());
    return absl::InvalidArgumentError(absl::StrCat(
        "kv_cache_bytes = ", kv_cache_bytes, " holds ", pages, " KV pages of ", page_bytes,
        " bytes (", geometry.page_size, " tokens x ", geometry.n_layers, " layers x ",
        geometry.n_kv_heads, " kv_heads x ", geometry.head_dim, " head_dim x K and V); at least ",
        least, " are needed, i.e. ", needed, " bytes"));
  }
  return static_cast<int32_t>(std::min<uint64_t>(pages, std::numeric_limits<int32_t>::max()));
}

absl::StatusOr<KvCacheShape> KvCacheShapeForBudget(uint64_t kv_cache_bytes,
                                                   const KvGeometry& geometry) {
  if (geometry.dtype != KvDType::kF16) {
    return absl::UnimplementedError("KvGeometry.dtype = bf16: backends store f16 KV only");
  }
  ASSIGN_OR_RETURN(const int32_t n_pages, KvPagesForBudget(kv_cache_bytes, geometry));
  return KvCacheShape{geometry.n_layers, geometry.n_kv_heads, geometry.head_dim, geometry.page_size,
                      n_pages};
}

}  // namespace smollm::runtime

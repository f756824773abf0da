// Turns a KV memory budget in bytes into a page count for a model's KV geometry.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/kv/page_pool.h"

namespace smollm::runtime {

// Element type of stored K and V. Both are 2 bytes; backends store f16 today, so bf16 is
// accepted by the sizing maths only (KvCacheShapeForBudget refuses it).
enum class KvDType { kF16, kBF16 };

int KvDTypeBytes(KvDType dtype);  // 2 for both

// What one page of KV costs: K and V of page_size positions for every layer and KV head.
struct KvGeometry {
  int n_layers = 0;                  // ModelConfig::n_layers
  int n_kv_heads = 0;                // ModelConfig::n_kv_heads
  int head_dim = 0;                  // ModelConfig::head_dim
  int page_size = kDefaultPageSize;  // tokens per page
  KvDType dtype = KvDType::kF16;
};

inline constexpr int32_t kMinKvPages = 2;

// Bytes of one page: 2 (K and V) * n_layers * n_kv_heads * page_size * head_dim * element.
// InvalidArgument naming the field when a dimension is not positive or the product
// overflows.
absl::StatusOr<uint64_t> KvPageBytes(const KvGeometry& geometry);

// floor(kv_cache_bytes / KvPageBytes), capped at INT32_MAX page ids. InvalidArgument when
// fewer than `min_pages` fit, with the page cost and the budget needed in the message.
absl::StatusOr<int32_t> KvPagesForBudget(uint64_t kv_cache_bytes, const KvGeometry& geometry,
                                         int32_t min_pages = kMinKvPages);

// The backend shape for that many pages (AllocateKvCache's input). Unimplemented for
// KvDType::kBF16: backends store f16 only.
absl::StatusOr<KvCacheShape> KvCacheShapeForBudget(uint64_t kv_cache_bytes,
                                                   const KvGeometry& geometry);

}  // namespace smollm::runtime

// Backend helpers shared by every implementation.
#include "runtime/backend/backend.h"

#include "runtime/core/status.h"

namespace smollm::runtime {

absl::StatusOr<KvCache> AllocateKvCache(Backend& backend, const KvCacheShape& shape) {
  KvCache cache;
  cache.shape = shape;
  ASSIGN_OR_RETURN(cache.k, backend.Allocate(shape.BytesPerTensor()));
  ASSIGN_OR_RETURN(cache.v, backend.Allocate(shape.BytesPerTensor()));
  return cache;
}

}  // namespace smollm::runtime

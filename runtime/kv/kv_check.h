// Engine-bug checks for runtime/kv: broken invariants that no input can reach.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace smollm::runtime::kv_internal {

// Aborts with `what` when `ok` is false. Only for misuse by the engine itself (a double
// release, a page id out of range); anything input can cause returns a status instead.
inline void KvCheck(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "smollm kv invariant broken: %s\n", what);
  std::abort();
}

}  // namespace smollm::runtime::kv_internal

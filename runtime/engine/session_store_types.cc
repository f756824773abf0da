// Names of session states.
#include "runtime/engine/session_store_types.h"

namespace smollm::runtime {

absl::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kIdle:
      return "idle";
    case SessionState::kGenerating:
      return "generating";
  }
  return "unknown";
}

}  // namespace smollm::runtime

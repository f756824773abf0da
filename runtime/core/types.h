// Small vocabulary types shared by every runtime module.
#pragma once

#include <cstdint>

namespace smollm::runtime {

using TokenId = int32_t;  // index into the model vocabulary
using Pos = int32_t;      // position of a token within its sequence

}  // namespace smollm::runtime

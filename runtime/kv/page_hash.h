// 64-bit hashes that chain KV pages into prefixes: page hash = H(parent hash, token ids).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "runtime/core/types.h"

namespace smollm::runtime {

// The namespace of a prefix cache: KV computed by one model must never serve another, so
// the chain of every prompt starts from a seed derived from the model's identity (e.g. the
// GGUF file's sha256, or its architecture + name + quantization), optionally with a salt
// (e.g. per tenant, to keep one tenant's cached prefixes invisible to another, or a
// deployment secret so that colliding prompts are hard to craft).
uint64_t PrefixCacheSeed(std::string_view model_identity, std::string_view salt = {});

// The "parent hash" of a sequence's first page. Distinct seeds give distinct roots.
uint64_t RootPageHash(uint64_t seed);

// Hash of one page's token ids chained onto the hash of everything before it. A fast,
// well-mixed, non-cryptographic 64-bit hash (multiply-fold over 128-bit products): the
// prefix cache never trusts it alone, it verifies every hit against stored token ids.
uint64_t PageHash(uint64_t parent_hash, std::span<const TokenId> tokens);

}  // namespace smollm::runtime

// Human-readable descriptions of a model and of a tokenization, for the command-line tools.
#pragma once

#include <span>
#include <string>

#include "runtime/core/types.h"
#include "runtime/model/model.h"

namespace smollm::runtime {

// Shape, positional encoding, vocabulary, chat template, tensor types and sizes, and the
// KV cache cost per token.
std::string DescribeModel(const Model& model);

// One line per token: index, id, and its text with control characters escaped.
std::string DescribeTokens(const BpeTokenizer& tokenizer, std::span<const TokenId> tokens);

}  // namespace smollm::runtime

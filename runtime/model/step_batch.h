// One forward step's input: the tokens of several sequences, flattened.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/backend/backend.h"
#include "runtime/core/types.h"

namespace smollm::runtime {

// Built by the caller each step (prefill chunks and single decode tokens alike), then
// read by Forward. Vectors keep their capacity across Clear() so that a steady state
// allocates nothing.
class StepBatch {
 public:
  void Clear();

  // Appends `tokens` of one sequence at positions first_pos, first_pos + 1, ...; `pages`
  // is the sequence's whole page table (it must cover first_pos + tokens.size() - 1).
  // With want_logits, the last token's logits are produced (in the order of the calls
  // that asked for them). Returns the sequence's index in this batch.
  int AddSequence(std::span<const TokenId> tokens, Pos first_pos,
                  std::span<const int32_t> pages, bool want_logits);

  int n_tokens() const { return static_cast<int>(tokens_.size()); }
  int n_seqs() const { return static_cast<int>(page_table_begin_.size()) - 1; }
  int n_logits() const { return static_cast<int>(logit_rows_.size()); }
  std::span<const TokenId> tokens() const { return tokens_; }
  std::span<const Pos> positions() const { return positions_; }
  std::span<const int32_t> logit_rows() const { return logit_rows_; }
  AttentionBatch attention() const {
    return {positions_, token_seq_, page_table_begin_, page_ids_};
  }

 private:
  std::vector<TokenId> tokens_;             // [n_tokens]
  std::vector<Pos> positions_;              // [n_tokens]
  std::vector<int32_t> token_seq_;          // [n_tokens]
  std::vector<int32_t> page_table_begin_{0};  // [n_seqs + 1]
  std::vector<int32_t> page_ids_;           // concatenated page tables
  std::vector<int32_t> logit_rows_;         // token indices whose logits are wanted
};

}  // namespace smollm::runtime

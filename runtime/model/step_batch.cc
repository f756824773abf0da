// Flattening sequences into a StepBatch.
#include "runtime/model/step_batch.h"

namespace smollm::runtime {

void StepBatch::Clear() {
  tokens_.clear();
  positions_.clear();
  token_seq_.clear();
  page_table_begin_.assign(1, 0);
  page_ids_.clear();
  logit_rows_.clear();
}

int StepBatch::AddSequence(std::span<const TokenId> tokens, Pos first_pos,
                           std::span<const int32_t> pages, bool want_logits) {
  const int seq = n_seqs();
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens_.push_back(tokens[i]);
    positions_.push_back(first_pos + static_cast<Pos>(i));
    token_seq_.push_back(seq);
  }
  page_ids_.insert(page_ids_.end(), pages.begin(), pages.end());
  page_table_begin_.push_back(static_cast<int32_t>(page_ids_.size()));
  if (want_logits && !tokens.empty()) logit_rows_.push_back(n_tokens() - 1);
  return seq;
}

}  // namespace smollm::runtime

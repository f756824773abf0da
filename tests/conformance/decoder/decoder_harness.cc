// DecoderRunner: model, backend, KV cache and forward pass wired for whole-sequence runs.
#include "tests/conformance/decoder/decoder_harness.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "tests/conformance/decoder/logit_reference.h"

namespace smollm::testing {

using runtime::TokenId;

absl::StatusOr<std::unique_ptr<DecoderRunner>> DecoderRunner::Open(const std::string& path,
                                                                   DecoderRunnerOptions options) {
  std::unique_ptr<DecoderRunner> r(new DecoderRunner());
  r->options_ = options;
  ASSIGN_OR_RETURN(r->model_, runtime::Model::Open(path));
  r->config_ = r->model_->config();
  if (options.edit_config) options.edit_config(r->config_);
  const runtime::ModelConfig& c = r->config_;

  r->pool_ = std::make_unique<runtime::ThreadPool>(options.threads);
  const int64_t max_cols = std::max({c.d_model, c.d_ffn, c.q_dim()});
  r->cpu_ = std::make_unique<runtime::CpuBackend>(
      *r->pool_, max_cols,
      options.isa ? runtime::cpu::KernelsFor(*options.isa) : runtime::cpu::BestKernels());
  r->cpu_->SetQuantizedActivations(options.quantized_activations);
  r->backend_ = r->cpu_.get();
  if (options.wrap_backend) {
    r->wrapped_ = options.wrap_backend(*r->cpu_);
    r->backend_ = r->wrapped_.get();
  }
  ASSIGN_OR_RETURN(r->weights_, runtime::UploadWeights(c, r->model_->gguf(), *r->backend_));
  // Enough logit rows for a teacher-forced step of max_tokens tokens.
  ASSIGN_OR_RETURN(runtime::Forward forward,
                   runtime::Forward::Create(c, r->weights_, *r->backend_,
                                            {options.max_tokens, options.max_tokens}));
  r->forward_ = std::make_unique<runtime::Forward>(std::move(forward));

  r->pages_per_seq_ = (options.max_positions + options.page_size - 1) / options.page_size;
  const int n_pages = r->pages_per_seq_ * options.max_seqs;
  runtime::KvCacheShape shape{c.n_layers, c.n_kv_heads, c.head_dim, options.page_size, n_pages};
  ASSIGN_OR_RETURN(r->cache_, runtime::AllocateKvCache(*r->backend_, shape));
  // Pages in no particular order, so that a wrong page-table lookup reads foreign data.
  r->page_ids_.resize(n_pages);
  for (int i = 0; i < n_pages; ++i) r->page_ids_[i] = i;
  std::mt19937 rng(20240611);
  std::shuffle(r->page_ids_.begin(), r->page_ids_.end(), rng);
  return r;
}

std::span<const int32_t> DecoderRunner::Pages(int seq) const {
  return std::span<const int32_t>(page_ids_).subspan(seq * pages_per_seq_, pages_per_seq_);
}

absl::Status DecoderRunner::RunStep(std::vector<float>& logits) {
  logits.resize(static_cast<size_t>(batch_.n_logits()) * vocab());
  return forward_->Run(batch_, cache_, logits);
}

absl::StatusOr<std::vector<float>> DecoderRunner::TeacherForced(std::span<const TokenId> tokens) {
  if (tokens.size() > static_cast<size_t>(options_.max_positions)) {
    return absl::InvalidArgumentError(absl::StrCat(tokens.size(), " tokens exceed max_positions ",
                                                   options_.max_positions));
  }
  std::vector<float> all(tokens.size() * vocab());
  std::vector<float> step_logits;
  for (size_t begin = 0; begin < tokens.size(); begin += options_.max_tokens) {
    const size_t end = std::min(tokens.size(), begin + options_.max_tokens);
    batch_.Clear();
    for (size_t p = begin; p < end; ++p) {
      batch_.AddSequence(tokens.subspan(p, 1), static_cast<runtime::Pos>(p), Pages(0), true);
    }
    RETURN_IF_ERROR(RunStep(step_logits));
    std::copy(step_logits.begin(), step_logits.end(), all.begin() + begin * vocab());
  }
  return all;
}

absl::StatusOr<GreedyResult> DecoderRunner::Greedy(
    const std::vector<std::vector<TokenId>>& prompts, int n_new, Schedule schedule) {
  const int n_seqs = static_cast<int>(prompts.size());
  if (n_seqs > options_.max_seqs) {
    return absl::InvalidArgumentError(absl::StrCat(n_seqs, " prompts exceed max_seqs"));
  }
  if (n_new < 1) return absl::InvalidArgumentError("n_new must be positive");
  for (const auto& p : prompts) {
    if (p.empty() || p.size() + n_new > static_cast<size_t>(options_.max_positions)) {
      return absl::InvalidArgumentError("a prompt is empty or too long for the runner");
    }
  }
  // Groups of sequences that share steps, each sequence starting at its step in the group.
  std::vector<std::vector<int>> groups;
  std::vector<int> start(n_seqs, 0);
  if (schedule == Schedule::kSolo) {
    for (int s = 0; s < n_seqs; ++s) groups.push_back({s});
  } else {
    groups.emplace_back();
    for (int s = 0; s < n_seqs; ++s) {
      groups.back().push_back(s);
      if (schedule == Schedule::kStaggered) start[s] = s;
    }
  }
  GreedyResult result;
  result.tokens.resize(n_seqs);
  result.logits.resize(n_seqs);
  std::vector<float> logits;
  std::vector<int> row_seq;  // which sequence each logit row of the step belongs to
  for (const std::vector<int>& group : groups) {
    for (int step = 0;; ++step) {
      batch_.Clear();
      row_seq.clear();
      for (const int s : group) {
        const int generated = static_cast<int>(result.tokens[s].size());
        if (step < start[s] || generated == n_new) continue;
        if (generated == 0) {
          batch_.AddSequence(prompts[s], 0, Pages(s), true);
        } else {
          const TokenId last = result.tokens[s].back();
          const auto pos = static_cast<runtime::Pos>(prompts[s].size() + generated - 1);
          batch_.AddSequence(std::span<const TokenId>(&last, 1), pos, Pages(s), true);
        }
        row_seq.push_back(s);
      }
      if (row_seq.empty()) break;
      if (batch_.n_tokens() > options_.max_tokens) {
        return absl::InvalidArgumentError("a step holds more tokens than max_tokens");
      }
      RETURN_IF_ERROR(RunStep(logits));
      for (size_t r = 0; r < row_seq.size(); ++r) {
        const int s = row_seq[r];
        std::span<const float> row(logits.data() + r * vocab(), vocab());
        result.logits[s].insert(result.logits[s].end(), row.begin(), row.end());
        result.tokens[s].push_back(ArgMax(row));
      }
    }
  }
  return result;
}

}  // namespace smollm::testing

// Decoder forward: embed, N x (attention block, SwiGLU block), final norm, logits.
#include "runtime/model/forward.h"

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"

namespace smollm::runtime {

absl::StatusOr<Activations> Forward::Buffer(int64_t rows, int64_t cols) {
  ASSIGN_OR_RETURN(DeviceBuffer buffer, backend_->Allocate(rows * cols * sizeof(float)));
  Activations a{static_cast<float*>(buffer.data()), rows, cols, cols};
  buffers_.push_back(std::move(buffer));
  return a;
}

absl::StatusOr<Forward> Forward::Create(const ModelConfig& config, const ModelWeights& weights,
                                        Backend& backend, const ForwardOptions& options) {
  if (options.max_tokens < 1 || options.max_logits < 1) {
    return absl::InvalidArgumentError("max_tokens and max_logits must be positive");
  }
  Forward f(config, weights, backend, options);
  const int64_t n = options.max_tokens;
  ASSIGN_OR_RETURN(f.x_, f.Buffer(n, config.d_model));
  ASSIGN_OR_RETURN(f.norm_, f.Buffer(n, config.d_model));
  ASSIGN_OR_RETURN(f.q_, f.Buffer(n, config.q_dim()));
  ASSIGN_OR_RETURN(f.k_, f.Buffer(n, config.kv_dim()));
  ASSIGN_OR_RETURN(f.v_, f.Buffer(n, config.kv_dim()));
  ASSIGN_OR_RETURN(f.attn_, f.Buffer(n, config.q_dim()));
  ASSIGN_OR_RETURN(f.proj_, f.Buffer(n, config.d_model));
  ASSIGN_OR_RETURN(f.gate_, f.Buffer(n, config.d_ffn));
  ASSIGN_OR_RETURN(f.up_, f.Buffer(n, config.d_ffn));
  ASSIGN_OR_RETURN(f.last_, f.Buffer(options.max_logits, config.d_model));
  ASSIGN_OR_RETURN(f.logits_, f.Buffer(options.max_logits, config.vocab_size));
  return f;
}

absl::Status Forward::Validate(const StepBatch& batch, const KvCache& cache,
                               std::span<float> logits) const {
  if (batch.n_tokens() < 1 || batch.n_tokens() > options_.max_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("a step has ", batch.n_tokens(),
                                                   " tokens; the limit is ",
                                                   options_.max_tokens));
  }
  if (batch.n_logits() > options_.max_logits) {
    return absl::InvalidArgumentError(absl::StrCat("a step asks for ", batch.n_logits(),
                                                   " logit rows; the limit is ",
                                                   options_.max_logits));
  }
  if (logits.size() != static_cast<size_t>(batch.n_logits()) * config_->vocab_size) {
    return absl::InvalidArgumentError("logits buffer size does not match the batch");
  }
  const KvCacheShape& s = cache.shape;
  if (s.n_layers != config_->n_layers || s.n_kv_heads != config_->n_kv_heads ||
      s.head_dim != config_->head_dim) {
    return absl::InvalidArgumentError("KV cache shape does not match the model");
  }
  const AttentionBatch a = batch.attention();
  for (int t = 0; t < batch.n_tokens(); ++t) {
    const int seq = a.token_seq[t];
    const int64_t page_index = a.positions[t] / s.page_size;
    const int64_t n_pages = a.page_table_begin[seq + 1] - a.page_table_begin[seq];
    if (a.positions[t] < 0 || a.positions[t] >= config_->context_length ||
        page_index >= n_pages) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token ", t, " at position ", a.positions[t], " lies outside its page table (",
          n_pages, " pages) or the context (", config_->context_length, ")"));
    }
    const int32_t page = a.page_ids[a.page_table_begin[seq] + page_index];
    if (page < 0 || page >= s.n_pages) {
      return absl::InvalidArgumentError(absl::StrCat("page id ", page, " is outside the cache"));
    }
    if (batch.tokens()[t] < 0 || batch.tokens()[t] >= config_->vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", batch.tokens()[t], " is outside the vocabulary"));
    }
  }
  return absl::OkStatus();
}

absl::Status Forward::Run(const StepBatch& batch, KvCache& cache, std::span<float> logits) {
  RETURN_IF_ERROR(Validate(batch, cache, logits));
  const ModelConfig& c = *config_;
  Backend& b = *backend_;
  const int64_t n = batch.n_tokens();
  const AttentionBatch attention = batch.attention();
  // This step's views: the first n rows of each buffer.
  const Activations x = x_.FirstRows(n), norm = norm_.FirstRows(n), q = q_.FirstRows(n),
                    k = k_.FirstRows(n), v = v_.FirstRows(n), attn = attn_.FirstRows(n),
                    proj = proj_.FirstRows(n), gate = gate_.FirstRows(n), up = up_.FirstRows(n);
  const RopeParams q_rope{c.n_heads, c.head_dim, c.rope_theta};
  const RopeParams k_rope{c.n_kv_heads, c.head_dim, c.rope_theta};

  b.Embed(weights_->token_embd, batch.tokens(), x);  // x: [n, d_model]
  for (int il = 0; il < c.n_layers; ++il) {
    const LayerWeights& l = weights_->layers[il];
    // Attention block: x += W_o · attention(rope(W_q · norm(x)), rope(W_k · norm(x)), W_v · norm(x))
    b.RmsNorm(x, l.attn_norm, c.rms_norm_eps, norm);
    // q: [n, n_heads * head_dim], k and v: [n, n_kv_heads * head_dim]
    const MatMulTarget qkv[] = {{&l.attn_q, q}, {&l.attn_k, k}, {&l.attn_v, v}};
    b.MatMulMany(qkv, norm);
    if (c.UsesRope(il)) {         // SmolLM3's NoPE layers skip it
      b.Rope(q, q_rope, attention.positions);
      b.Rope(k, k_rope, attention.positions);
    }
    b.StoreKv(cache, il, k, v, attention);
    b.Attention(cache, il, c.n_heads, q, attention, attn);  // attn: [n, q_dim]
    b.MatMulAdd(l.attn_output, attn, proj, x);              // proj: [n, d_model] scratch
    // Feed-forward block: x += W_down · (silu(W_gate · norm(x)) * W_up · norm(x))
    b.RmsNorm(x, l.ffn_norm, c.rms_norm_eps, norm);
    b.SwiGlu(l.ffn_gate, l.ffn_up, norm, gate, up);  // gate: [n, d_ffn], up: scratch
    b.MatMulAdd(l.ffn_down, gate, proj, x);
  }
  if (batch.n_logits() == 0) return b.Synchronize();
  // Only the rows that sample need the final norm and the vocabulary projection.
  const Activations last = last_.FirstRows(batch.n_logits());
  const Activations out = logits_.FirstRows(batch.n_logits());
  b.GatherRows(x, batch.logit_rows(), last);
  b.RmsNorm(last, weights_->output_norm, c.rms_norm_eps, last);
  b.MatMul(weights_->output, last, out);  // out: [n_logits, vocab]
  return b.CopyToHost(out, logits);
}

}  // namespace smollm::runtime

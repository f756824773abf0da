// DecodeGraph: fixed buffers, per-bucket capture, replay; the op sequence mirrors the
// model's forward pass (runtime/model/forward.cc) for one token per sequence.
#include "runtime/backend/cuda/decode_graph.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/core/status.h"

namespace smollm::runtime {
namespace {

constexpr int kMaxBatch = 64;

// Offsets (in int32 elements) of the step data for a max batch of b with p pages each.
struct StepLayout {
  int b, p;
  int tokens() const { return 0; }
  int positions() const { return b; }
  int token_seq() const { return 2 * b; }
  int page_table_begin() const { return 3 * b; }
  int page_ids() const { return 4 * b + 1; }
  int total() const { return 4 * b + 1 + b * p; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<DecodeGraph>> DecodeGraph::Create(
    CudaBackend& backend, const DecodeModel& model, KvCache& cache,
    const DecodeGraphOptions& options) {
  if (options.max_batch < 1 || options.max_batch > kMaxBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch ", options.max_batch, " is outside 1..", kMaxBatch));
  }
  if (options.top_k < 1 || options.top_k > cuda::kMaxTopK || options.top_k > model.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("top_k ", options.top_k, " is outside 1..",
                                                   cuda::kMaxTopK, " or the vocabulary"));
  }
  if (options.max_pages_per_seq < 1 || options.attention_splits < 1 ||
      options.attention_splits > cuda::kMaxAttentionSplits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_pages_per_seq must be positive and attention_splits within 1..",
        cuda::kMaxAttentionSplits));
  }
  const KvCacheShape& s = cache.shape;
  if (s.n_layers != static_cast<int>(model.layers.size()) || s.n_kv_heads != model.n_kv_heads ||
      s.head_dim != model.head_dim) {
    return absl::InvalidArgumentError("KV cache shape does not match the model");
  }
  std::unique_ptr<DecodeGraph> graph(new DecodeGraph(backend, model, cache, options));
  RETURN_IF_ERROR(graph->Allocate());
  return graph;
}

absl::Status DecodeGraph::Allocate() {
  const DecodeModel& m = model_;
  const int b = options_.max_batch;
  const auto buffer = [&](int64_t rows, int64_t cols) -> absl::StatusOr<Activations> {
    ASSIGN_OR_RETURN(DeviceBuffer memory, backend_.Allocate(rows * cols * sizeof(float)));
    const Activations a{static_cast<float*>(memory.data()), rows, cols, cols};
    buffers_.push_back(std::move(memory));
    return a;
  };
  const int q_dim = m.n_heads * m.head_dim, kv_dim = m.n_kv_heads * m.head_dim;
  ASSIGN_OR_RETURN(x_, buffer(b, m.d_model));
  ASSIGN_OR_RETURN(norm_, buffer(b, m.d_model));
  ASSIGN_OR_RETURN(q_, buffer(b, q_dim));
  ASSIGN_OR_RETURN(k_, buffer(b, kv_dim));
  ASSIGN_OR_RETURN(v_, buffer(b, kv_dim));
  ASSIGN_OR_RETURN(attn_, buffer(b, q_dim));
  ASSIGN_OR_RETURN(proj_, buffer(b, m.d_model));
  ASSIGN_OR_RETURN(gate_, buffer(b, m.d_ffn));
  ASSIGN_OR_RETURN(up_, buffer(b, m.d_ffn));
  ASSIGN_OR_RETURN(logits_, buffer(b, m.vocab_size));
  ASSIGN_OR_RETURN(Activations partials,
                   buffer(static_cast<int64_t>(b) * m.n_heads * options_.attention_splits,
                          m.head_dim + 2));
  partials_ = partials.data;
  const StepLayout layout{b, options_.max_pages_per_seq};
  const uint64_t step_bytes = layout.total() * sizeof(int32_t);
  ASSIGN_OR_RETURN(step_host_, cuda::AllocatePinned(step_bytes));
  ASSIGN_OR_RETURN(step_device_, cuda::AllocateDevice(step_bytes));
  const uint64_t result_bytes = static_cast<uint64_t>(b) * options_.top_k * 8;
  ASSIGN_OR_RETURN(result_host_, cuda::AllocatePinned(result_bytes));
  ASSIGN_OR_RETURN(result_device_, cuda::AllocateDevice(result_bytes));
  // Fixed page-table slots: sequence i's pages start at i * max_pages_per_seq.
  int32_t* host = step_host_.as<int32_t>();
  for (int i = 0; i < b; ++i) host[layout.token_seq() + i] = i;
  for (int i = 0; i <= b; ++i) host[layout.page_table_begin() + i] = i * layout.p;
  return absl::OkStatus();
}

absl::Status DecodeGraph::Validate(std::span<const DecodeInput> inputs) const {
  if (inputs.empty() || static_cast<int>(inputs.size()) > options_.max_batch) {
    return absl::InvalidArgumentError(absl::StrCat("a decode step has ", inputs.size(),
                                                   " sequences; the limit is 1..",
                                                   options_.max_batch));
  }
  const KvCacheShape& s = cache_.shape;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DecodeInput& in = inputs[i];
    if (in.token < 0 || in.token >= model_.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", i, ": token ", in.token, " is outside the vocabulary"));
    }
    if (static_cast<int>(in.pages.size()) > options_.max_pages_per_seq) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", i, " has ", in.pages.size(),
                                                     " pages; max_pages_per_seq is ",
                                                     options_.max_pages_per_seq));
    }
    if (in.pos < 0 || in.pos / s.page_size >= static_cast<int64_t>(in.pages.size())) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", i, ": position ", in.pos,
                                                     " lies outside its page table"));
    }
    for (const int32_t page : in.pages) {
      if (page < 0 || page >= s.n_pages) {
        return absl::InvalidArgumentError(
            absl::StrCat("sequence ", i, ": page id ", page, " is outside the cache"));
      }
    }
  }
  return absl::OkStatus();
}

int DecodeGraph::Bucket(int n) const {
  int bucket = 1;
  while (bucket < n) bucket *= 2;
  return std::min(bucket, options_.max_batch);
}

void DecodeGraph::WriteStepData(std::span<const DecodeInput> inputs, int bucket) {
  const StepLayout layout{options_.max_batch, options_.max_pages_per_seq};
  int32_t* host = step_host_.as<int32_t>();
  for (int i = 0; i < bucket; ++i) {
    const bool live = i < static_cast<int>(inputs.size());
    host[layout.tokens() + i] = live ? inputs[i].token : 0;
    host[layout.positions() + i] = live ? inputs[i].pos : -1;  // -1: padding row
    if (live) {
      std::memcpy(host + layout.page_ids() + i * layout.p, inputs[i].pages.data(),
                  inputs[i].pages.size_bytes());
    }
  }
}

void DecodeGraph::Enqueue(int bucket) {
  CudaBackend& b = backend_;
  const DecodeModel& m = model_;
  const StepLayout layout{options_.max_batch, options_.max_pages_per_seq};
  const cudaStream_t stream = b.stream();
  const int32_t* step = step_device_.as<int32_t>();
  b.Check(cudaMemcpyAsync(step_device_.data(), step_host_.data(), step_device_.bytes,
                          cudaMemcpyHostToDevice, stream),
          "cudaMemcpyAsync (step data)");
  const cuda::DeviceStep device_step{step + layout.positions(), step + layout.token_seq(),
                                     step + layout.page_table_begin(), step + layout.page_ids()};
  const Activations x = x_.FirstRows(bucket), norm = norm_.FirstRows(bucket),
                    q = q_.FirstRows(bucket), k = k_.FirstRows(bucket), v = v_.FirstRows(bucket),
                    attn = attn_.FirstRows(bucket), proj = proj_.FirstRows(bucket),
                    gate = gate_.FirstRows(bucket), up = up_.FirstRows(bucket),
                    logits = logits_.FirstRows(bucket);
  const RopeParams q_rope{m.n_heads, m.head_dim, m.rope_theta};
  const RopeParams k_rope{m.n_kv_heads, m.head_dim, m.rope_theta};

  b.EmbedDevice(m.token_embd, step + layout.tokens(), bucket, x);
  for (int il = 0; il < static_cast<int>(m.layers.size()); ++il) {
    const DecodeLayer& l = m.layers[il];
    b.RmsNorm(x, l.attn_norm, m.rms_norm_eps, norm);
    const MatMulTarget qkv[] = {{&l.attn_q, q}, {&l.attn_k, k}, {&l.attn_v, v}};
    b.MatMulMany(qkv, norm);
    if (l.rope) {
      b.RopeDevice(q, q_rope, device_step.positions);
      b.RopeDevice(k, k_rope, device_step.positions);
    }
    b.StoreKvDevice(cache_, il, k, v, device_step);
    b.AttentionDevice(cache_, il, m.n_heads, q, device_step, options_.attention_splits,
                      partials_, attn);
    b.MatMulAdd(l.attn_output, attn, proj, x);
    b.RmsNorm(x, l.ffn_norm, m.rms_norm_eps, norm);
    b.SwiGlu(l.ffn_gate, l.ffn_up, norm, gate, up);
    b.MatMulAdd(l.ffn_down, gate, proj, x);
  }
  b.RmsNorm(x, m.output_norm, m.rms_norm_eps, norm);
  b.MatMul(m.output, norm, logits);
  const int top_k = options_.top_k;
  auto* ids = result_device_.as<int32_t>();
  auto* values = reinterpret_cast<float*>(ids + options_.max_batch * top_k);
  b.TopK(logits, top_k, ids, values);
  b.Check(cudaMemcpyAsync(result_host_.data(), result_device_.data(), result_device_.bytes,
                          cudaMemcpyDeviceToHost, stream),
          "cudaMemcpyAsync (top-k results)");
}

absl::Status DecodeGraph::Replay(int bucket) {
  const cudaStream_t stream = backend_.stream();
  cuda::GraphExec& exec = graphs_[bucket];
  if (!exec) {
    // One uncaptured run first: ops that size scratch or plans on first use (cuBLASLt for
    // buckets at its crossover) do so now, since a capture may not synchronize. It
    // computes what the replay below computes again (same inputs, same KV writes).
    Enqueue(bucket);
    RETURN_IF_ERROR(backend_.Synchronize());
    RETURN_IF_ERROR(cuda::CudaStatus(
        cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture"));
    Enqueue(bucket);
    cudaGraph_t raw = nullptr;
    const absl::Status ended = cuda::CudaStatus(cudaStreamEndCapture(stream, &raw),
                                                "cudaStreamEndCapture");
    cuda::Graph graph(raw);
    RETURN_IF_ERROR(backend_.TakeError());  // a launch that failed during capture
    RETURN_IF_ERROR(ended);
    cudaGraphExec_t instance = nullptr;
    RETURN_IF_ERROR(cuda::CudaStatus(cudaGraphInstantiate(&instance, graph.get(), 0),
                                     "cudaGraphInstantiate"));
    exec = cuda::GraphExec(instance);
    ++graphs_captured_;
  }
  return cuda::CudaStatus(cudaGraphLaunch(exec.get(), stream), "cudaGraphLaunch");
}

absl::Status DecodeGraph::Step(std::span<const DecodeInput> inputs, std::span<TokenId> ids,
                               std::span<float> logits) {
  RETURN_IF_ERROR(Validate(inputs));
  const size_t wanted = inputs.size() * options_.top_k;
  if (ids.size() != wanted || logits.size() != wanted) {
    return absl::InvalidArgumentError(
        absl::StrCat("ids and logits must hold ", wanted, " entries (sequences x top_k)"));
  }
  const int bucket = Bucket(static_cast<int>(inputs.size()));
  backend_.MakeCurrent();
  WriteStepData(inputs, bucket);
  if (options_.use_graphs) {
    RETURN_IF_ERROR(Replay(bucket));
  } else {
    Enqueue(bucket);
  }
  RETURN_IF_ERROR(backend_.Synchronize());
  const auto* result_ids = result_host_.as<int32_t>();
  const auto* result_values =
      reinterpret_cast<const float*>(result_ids + options_.max_batch * options_.top_k);
  std::memcpy(ids.data(), result_ids, wanted * sizeof(int32_t));
  std::memcpy(logits.data(), result_values, wanted * sizeof(float));
  return absl::OkStatus();
}

}  // namespace smollm::runtime

// The narrow interface every compute backend (CPU, CUDA) implements; the decoder is
// written once against it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/ggml_type.h"
#include "runtime/core/types.h"

namespace smollm::runtime {

class Backend;

// Backend memory (host or device), freed by its backend. Move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend* owner, void* data, uint64_t bytes)
      : owner_(owner), data_(data), bytes_(bytes) {}
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { Release(); }

  void* data() const { return data_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void Release();

  Backend* owner_ = nullptr;
  void* data_ = nullptr;
  uint64_t bytes_ = 0;
};

// A row-major f32 matrix view in backend memory: rows x cols, `stride` floats between
// rows. Activations are f32 on every backend; weights stay in their block format.
struct Activations {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;

  float* row(int64_t r) const { return data + r * stride; }
  // The first `count` rows (a smaller batch reusing the same buffer).
  Activations FirstRows(int64_t count) const { return {data, count, cols, stride}; }
};

// A weight as the file stores it: `rows` output features of `cols` input features each,
// rows of whole blocks of `type`. Host memory (the model's mapping); a backend uploads it.
struct HostWeight {
  GgmlType type = GgmlType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  std::span<const uint8_t> bytes;  // rows * RowBytes(type, cols)
};

// A weight resident in a backend. `data` is backend memory in the backend's layout.
struct Weight {
  GgmlType type = GgmlType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  uint64_t row_bytes = 0;
  const void* data = nullptr;
};

// Geometry of the paged KV cache. K and V are f16, each laid out as
// [layer][page][kv_head][slot][head_dim] with `page_size` slots (token positions) per page.
struct KvCacheShape {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int page_size = 0;  // tokens per page
  int n_pages = 0;

  uint64_t PageElements() const {  // one layer's K (or V) elements of one page
    return static_cast<uint64_t>(n_kv_heads) * page_size * head_dim;
  }
  uint64_t BytesPerTensor() const {  // all of K (or V)
    return PageElements() * n_pages * n_layers * sizeof(uint16_t);
  }
};

struct KvCache {
  KvCacheShape shape;
  DeviceBuffer k;  // f16 [layer][page][kv_head][slot][head_dim]
  DeviceBuffer v;  // same layout as k
};

// Which sequence each token of a step belongs to and where that sequence's KV lives.
// Host memory; a device backend copies it (a few KB per step).
struct AttentionBatch {
  std::span<const Pos> positions;             // [n_tokens] position of each token
  std::span<const int32_t> token_seq;         // [n_tokens] index of the token's sequence
  std::span<const int32_t> page_table_begin;  // [n_seqs + 1] offsets into page_ids
  std::span<const int32_t> page_ids;          // every sequence's pages, in position order
};

// Parameters of rotary position embedding as GGUF stores Q/K: adjacent pairs
// (x[2i], x[2i+1]) rotate by pos * theta^(-2i / head_dim).
struct RopeParams {
  int n_heads = 0;
  int head_dim = 0;
  float theta = 10000.0f;
};

// One product of Backend::MatMulMany: out = w · x.
struct MatMulTarget {
  const Weight* w = nullptr;
  Activations out;
};

// All ops are asynchronous with respect to the host on device backends; shapes are
// validated by the caller (the model), so ops return nothing. Errors of the device
// surface at Synchronize / CopyToHost. A backend is used from one thread at a time.
class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;
  virtual bool SupportsWeightType(GgmlType type) const = 0;

  // ---- memory ----
  // ResourceExhausted when the memory is not there.
  virtual absl::StatusOr<DeviceBuffer> Allocate(uint64_t bytes) = 0;
  // Makes a weight usable by the ops. The host bytes must outlive the backend when the
  // backend chooses to use them in place (the CPU backend does: no copy of an mmap).
  virtual absl::StatusOr<Weight> UploadWeight(const HostWeight& weight) = 0;
  virtual absl::Status CopyToHost(const Activations& src, std::span<float> dst) = 0;
  virtual absl::Status Synchronize() = 0;

  // ---- ops ----
  // out[t] = dequantized row tokens[t] of table.   out: [n_tokens, table.cols]
  virtual void Embed(const Weight& table, std::span<const TokenId> tokens,
                     const Activations& out) = 0;
  // out[t] = x[t] / rms(x[t]) * gain.   gain: F32 [1, cols]
  virtual void RmsNorm(const Activations& x, const Weight& gain, float eps,
                       const Activations& out) = 0;
  // out[t][r] = dot(w row r, x[t]).   x: [n, w.cols], out: [n, w.rows]
  virtual void MatMul(const Weight& w, const Activations& x, const Activations& out) = 0;
  // MatMul(*t.w, x, t.out) for every target (weights of x.cols columns, outputs not
  // overlapping x or each other), with the same results; a backend may compute them
  // together (the CPU backend: one activation quantization, one parallel loop).
  virtual void MatMulMany(std::span<const MatMulTarget> targets, const Activations& x) {
    for (const MatMulTarget& t : targets) MatMul(*t.w, x, t.out);
  }
  // acc += x · wᵀ (acc: [n, w.rows]). `scratch` (acc's shape) may receive the product; a
  // backend that adds in place (the CUDA mat-vec's epilogue) saves a pass and a launch.
  virtual void MatMulAdd(const Weight& w, const Activations& x, const Activations& scratch,
                         const Activations& acc) {
    MatMul(w, x, scratch);
    Add(acc, scratch);
  }
  // gate = silu(x · w_gateᵀ) * (x · w_upᵀ) (gate, up: [n, w_gate.rows]); `up` may receive
  // the second product. The CUDA mat-vec computes both rows and the product in one kernel.
  virtual void SwiGlu(const Weight& w_gate, const Weight& w_up, const Activations& x,
                      const Activations& gate, const Activations& up) {
    const MatMulTarget targets[] = {{&w_gate, gate}, {&w_up, up}};
    MatMulMany(targets, x);
    SiluMul(gate, up, gate);
  }
  // Rotates each head of x[t] (x: [n, n_heads * head_dim]) in place by positions[t].
  virtual void Rope(const Activations& x, const RopeParams& rope,
                    std::span<const Pos> positions) = 0;
  // out = silu(gate) * up, element-wise.
  virtual void SiluMul(const Activations& gate, const Activations& up,
                       const Activations& out) = 0;
  // x += y, element-wise.
  virtual void Add(const Activations& x, const Activations& y) = 0;
  // out[i] = x[rows[i]].
  virtual void GatherRows(const Activations& x, std::span<const int32_t> rows,
                          const Activations& out) = 0;
  // Writes the step's keys and values (k, v: [n_tokens, n_kv_heads * head_dim]) into the
  // cache slots of their positions.
  virtual void StoreKv(KvCache& cache, int layer, const Activations& k, const Activations& v,
                       const AttentionBatch& batch) = 0;
  // Causal GQA attention of each token's query heads (q: [n_tokens, n_heads * head_dim])
  // over its sequence's cached positions 0..pos; out has q's shape.
  virtual void Attention(const KvCache& cache, int layer, int n_heads, const Activations& q,
                         const AttentionBatch& batch, const Activations& out) = 0;

 protected:
  friend class DeviceBuffer;
  virtual void Free(void* data) = 0;
};

inline DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    data_ = other.data_;
    bytes_ = other.bytes_;
    other.owner_ = nullptr;
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

inline void DeviceBuffer::Release() {
  if (owner_ != nullptr && data_ != nullptr) owner_->Free(data_);
  owner_ = nullptr;
  data_ = nullptr;
  bytes_ = 0;
}

// Allocates both halves of a KV cache of `shape` on `backend`.
absl::StatusOr<KvCache> AllocateKvCache(Backend& backend, const KvCacheShape& shape);

}  // namespace smollm::runtime

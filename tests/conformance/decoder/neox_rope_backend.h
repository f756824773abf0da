// A test-only Backend that runs every op on a wrapped backend except RoPE, which it
// rotates with the other pairing: NeoX halves (x[i], x[i + head_dim / 2]) instead of the
// adjacent pairs GGUF's permuted Q/K need. The negative control that shows the reference
// comparison notices a wrong pairing.
#pragma once

#include "runtime/backend/backend.h"

namespace smollm::testing {

class NeoxRopeBackend final : public runtime::Backend {
 public:
  // `inner` must outlive this and keep activations in host memory (the CPU backend).
  explicit NeoxRopeBackend(runtime::Backend& inner) : inner_(inner) {}

  std::string_view name() const override { return "neox-rope-over-cpu"; }
  bool SupportsWeightType(runtime::GgmlType type) const override {
    return inner_.SupportsWeightType(type);
  }
  absl::StatusOr<runtime::DeviceBuffer> Allocate(uint64_t bytes) override {
    return inner_.Allocate(bytes);  // owned (and freed) by the inner backend
  }
  absl::StatusOr<runtime::Weight> UploadWeight(const runtime::HostWeight& weight) override {
    return inner_.UploadWeight(weight);
  }
  absl::Status CopyToHost(const runtime::Activations& src, std::span<float> dst) override {
    return inner_.CopyToHost(src, dst);
  }
  absl::Status Synchronize() override { return inner_.Synchronize(); }

  void Embed(const runtime::Weight& table, std::span<const runtime::TokenId> tokens,
             const runtime::Activations& out) override {
    inner_.Embed(table, tokens, out);
  }
  void RmsNorm(const runtime::Activations& x, const runtime::Weight& gain, float eps,
               const runtime::Activations& out) override {
    inner_.RmsNorm(x, gain, eps, out);
  }
  void MatMul(const runtime::Weight& w, const runtime::Activations& x,
              const runtime::Activations& out) override {
    inner_.MatMul(w, x, out);
  }
  void Rope(const runtime::Activations& x, const runtime::RopeParams& rope,
            std::span<const runtime::Pos> positions) override;
  void SiluMul(const runtime::Activations& gate, const runtime::Activations& up,
               const runtime::Activations& out) override {
    inner_.SiluMul(gate, up, out);
  }
  void Add(const runtime::Activations& x, const runtime::Activations& y) override {
    inner_.Add(x, y);
  }
  void GatherRows(const runtime::Activations& x, std::span<const int32_t> rows,
                  const runtime::Activations& out) override {
    inner_.GatherRows(x, rows, out);
  }
  void StoreKv(runtime::KvCache& cache, int layer, const runtime::Activations& k,
               const runtime::Activations& v, const runtime::AttentionBatch& batch) override {
    inner_.StoreKv(cache, layer, k, v, batch);
  }
  void Attention(const runtime::KvCache& cache, int layer, int n_heads,
                 const runtime::Activations& q, const runtime::AttentionBatch& batch,
                 const runtime::Activations& out) override {
    inner_.Attention(cache, layer, n_heads, q, batch, out);
  }

 protected:
  // Never reached: every buffer handed out is the inner backend's.
  void Free(void* data) override { runtime::DeviceBuffer(&inner_, data, 0); }

 private:
  runtime::Backend& inner_;
};

}  // namespace smollm::testing

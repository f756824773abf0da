// Implementation of the GPU tests' helpers.
#include "tests/gpu/gpu_test_support.h"

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

namespace smollm::gpu_test {

int& Failures() {
  static int failures = 0;
  return failures;
}

void Require(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::printf("FATAL %s: %s\n", what, std::string(status.ToString()).c_str());
  std::exit(2);
}

runtime::Activations MakeActivations(runtime::Backend& backend,
                                     std::vector<runtime::DeviceBuffer>& keep, int64_t rows,
                                     int64_t cols, const std::vector<float>* values) {
  const uint64_t bytes = rows * cols * sizeof(float);
  runtime::DeviceBuffer buffer = Require(backend.Allocate(bytes), "Allocate");
  const bool device = backend.name() == "cuda";
  if (values != nullptr) {
    if (device) {
      cudaMemcpy(buffer.data(), values->data(), bytes, cudaMemcpyHostToDevice);
    } else {
      std::memcpy(buffer.data(), values->data(), bytes);
    }
  } else if (device) {
    cudaMemset(buffer.data(), 0xff, bytes);  // NaN in every float
  } else {
    std::memset(buffer.data(), 0xff, bytes);
  }
  const runtime::Activations a{static_cast<float*>(buffer.data()), rows, cols, cols};
  keep.push_back(std::move(buffer));
  return a;
}

std::vector<float> ToHost(runtime::Backend& backend, const runtime::Activations& a) {
  std::vector<float> out(a.rows * a.cols);
  Require(backend.CopyToHost(a, out), "CopyToHost");
  return out;
}

double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double max_diff = 0, max_want = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) != std::isnan(want[i])) return INFINITY;
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    max_want = std::max(max_want, std::fabs(static_cast<double>(want[i])));
  }
  return max_want == 0 ? max_diff : max_diff / max_want;
}

std::unique_ptr<runtime::Model> ModelFromArgs(int argc, char** argv, const char* program) {
  if (argc != 2) {
    std::printf("usage: %s MODEL.gguf\n", program);
    std::exit(2);
  }
  return Require(runtime::Model::Open(argv[1]), argv[1]);
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  const double c = dot / std::sqrt(na * nb);
  return std::isnan(c) ? 0 : c;
}

std::vector<runtime::TokenId> RandomTokens(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  const int low = vocab > 600 ? 300 : 0;
  std::uniform_int_distribution<runtime::TokenId> dist(low, vocab - 1);
  std::vector<runtime::TokenId> tokens(n);
  for (auto& t : tokens) t = dist(rng);
  return tokens;
}

runtime::DecodeModel DecodeModelFrom(const runtime::ModelConfig& c,
                                     const runtime::ModelWeights& w) {
  runtime::DecodeModel m;
  m.d_model = c.d_model;
  m.d_ffn = c.d_ffn;
  m.n_heads = c.n_heads;
  m.n_kv_heads = c.n_kv_heads;
  m.head_dim = c.head_dim;
  m.vocab_size = c.vocab_size;
  m.rms_norm_eps = c.rms_norm_eps;
  m.rope_theta = c.rope_theta;
  m.token_embd = w.token_embd;
  m.output_norm = w.output_norm;
  m.output = w.output;
  for (int il = 0; il < c.n_layers; ++il) {
    const runtime::LayerWeights& l = w.layers[il];
    m.layers.push_back({l.attn_norm, l.attn_q, l.attn_k, l.attn_v, l.attn_output, l.ffn_norm,
                        l.ffn_gate, l.ffn_up, l.ffn_down, c.UsesRope(il)});
  }
  return m;
}

}  // namespace smollm::gpu_test

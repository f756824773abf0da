// Builds small in-memory GGUF models whose metadata and tensors tests can perturb.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_meta_value.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/model/model_config.h"
#include "runtime/model/tensor_names.h"

namespace smollm::runtime::testing {

// A model description that tests edit before serialising it.
struct TinyModel {
  std::map<std::string, GgufMetaValue> metadata;  // key -> value
  struct Tensor {
    std::vector<uint64_t> dims;
    GgmlType type;
  };
  std::map<std::string, Tensor> tensors;  // name -> shape and type

  // Serialises to GGUF bytes (tensor data is random bytes of the right size).
  std::vector<uint8_t> Bytes() const {
    auto writer = GgufWriter::Create();
    EXPECT_TRUE(writer.ok());
    for (const auto& [key, value] : metadata) EXPECT_TRUE(writer->AddMetadata(key, value).ok());
    std::mt19937 rng(7);
    for (const auto& [name, t] : tensors) {
      uint64_t rows = 1;
      for (size_t i = 1; i < t.dims.size(); ++i) rows *= t.dims[i];
      std::vector<uint8_t> data(*RowBytes(t.type, t.dims[0]) * rows);
      for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
      EXPECT_TRUE(writer->AddTensor(name, t.dims, t.type, data).ok()) << name;
    }
    auto bytes = writer->ToBytes();
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : std::vector<uint8_t>{};
  }
};

// Replaces the model's tensors with those of `c`: norms in F32, matrices in `matrix_type`.
inline void SetTensorsFor(TinyModel& m, const ModelConfig& c, GgmlType matrix_type) {
  m.tensors.clear();
  for (const ExpectedTensor& t : ExpectedTensors(c)) {
    m.tensors[t.name] = {t.dims, t.role == TensorRole::kNorm ? GgmlType::kF32 : matrix_type};
  }
}

// The config a MakeTinyModel model describes, with another width if asked.
inline ModelConfig TinyConfig(int d_model = 128, bool tied = true) {
  ModelConfig c;
  c.n_layers = 4;
  c.d_model = d_model;
  c.d_ffn = 256;
  c.n_heads = 8;
  c.n_kv_heads = 2;
  c.head_dim = d_model / 8;
  c.vocab_size = 64;
  c.tied_output = tied;
  return c;
}

// A 4-layer model of `arch` with GQA (8 heads, 2 KV heads, head_dim 16), vocab 64.
inline TinyModel MakeTinyModel(std::string_view arch, bool tied = true) {
  const std::string a(arch);
  TinyModel m;
  m.metadata.emplace("general.architecture", GgufMetaValue::String(a));
  m.metadata.emplace(a + ".block_count", GgufMetaValue::Uint32(4));
  m.metadata.emplace(a + ".embedding_length", GgufMetaValue::Uint32(128));
  m.metadata.emplace(a + ".feed_forward_length", GgufMetaValue::Uint32(256));
  m.metadata.emplace(a + ".attention.head_count", GgufMetaValue::Uint32(8));
  m.metadata.emplace(a + ".attention.head_count_kv", GgufMetaValue::Uint32(2));
  m.metadata.emplace(a + ".context_length", GgufMetaValue::Uint32(2048));
  m.metadata.emplace(a + ".rope.freq_base", GgufMetaValue::Float32(5e6f));
  m.metadata.emplace(a + ".attention.layer_norm_rms_epsilon", GgufMetaValue::Float32(1e-6f));
  std::vector<std::string> tokens;
  for (int i = 0; i < 64; ++i) tokens.push_back("t" + std::to_string(i));
  m.metadata.emplace("tokenizer.ggml.tokens", GgufMetaValue::StringArray(tokens));
  m.metadata.emplace("tokenizer.ggml.bos_token_id", GgufMetaValue::Uint32(1));
  m.metadata.emplace("tokenizer.ggml.eos_token_id", GgufMetaValue::Uint32(2));

  SetTensorsFor(m, TinyConfig(128, tied), GgmlType::kQ8_0);
  return m;
}

}  // namespace smollm::runtime::testing

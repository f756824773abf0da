// Model and tokenizer metadata for synthetic GGUF files.
#include "runtime/tools/synth_metadata.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"

namespace smollm::runtime {
namespace {

constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";

uint32_t U32(int v) { return static_cast<uint32_t>(v); }

}  // namespace

MetadataList ModelMetadata(const ModelConfig& c) {
  const std::string a(ArchitectureName(c.arch));
  MetadataList m;
  auto add = [&m](std::string key, GgufMetaValue v) { m.emplace_back(std::move(key), std::move(v)); };
  add("general.architecture", GgufMetaValue::String(a));
  add("general.type", GgufMetaValue::String("model"));
  if (!c.name.empty()) add("general.name", GgufMetaValue::String(c.name));
  add(a + ".block_count", GgufMetaValue::Uint32(U32(c.n_layers)));
  add(a + ".context_length", GgufMetaValue::Uint32(U32(c.context_length)));
  add(a + ".embedding_length", GgufMetaValue::Uint32(U32(c.d_model)));
  add(a + ".feed_forward_length", GgufMetaValue::Uint32(U32(c.d_ffn)));
  add(a + ".attention.head_count", GgufMetaValue::Uint32(U32(c.n_heads)));
  add(a + ".attention.head_count_kv", GgufMetaValue::Uint32(U32(c.n_kv_heads)));
  add(a + ".rope.freq_base", GgufMetaValue::Float32(c.rope_theta));
  add(a + ".attention.layer_norm_rms_epsilon", GgufMetaValue::Float32(c.rms_norm_eps));
  add(a + ".vocab_size", GgufMetaValue::Uint32(U32(c.vocab_size)));
  add(a + ".rope.dimension_count", GgufMetaValue::Uint32(U32(c.rope_dim)));
  return m;
}

MetadataList QuantizationMetadata(uint32_t file_type) {
  MetadataList m;
  m.emplace_back("general.quantization_version", GgufMetaValue::Uint32(kQuantizationVersion));
  m.emplace_back("general.file_type", GgufMetaValue::Uint32(file_type));
  return m;
}

MetadataList TokenizerMetadata(const SynthVocab& v) {
  MetadataList m;
  if (v.add_space_prefix.has_value()) {
    m.emplace_back("tokenizer.ggml.add_space_prefix", GgufMetaValue::Bool(*v.add_space_prefix));
  }
  m.emplace_back("tokenizer.ggml.add_bos_token", GgufMetaValue::Bool(v.add_bos));
  m.emplace_back("tokenizer.ggml.model", GgufMetaValue::String("gpt2"));
  m.emplace_back("tokenizer.ggml.pre", GgufMetaValue::String(v.pre));
  m.emplace_back(std::string(kTokensKey), GgufMetaValue::StringArray(v.tokens));
  m.emplace_back("tokenizer.ggml.token_type", GgufMetaValue::Int32Array(v.token_types));
  m.emplace_back("tokenizer.ggml.merges", GgufMetaValue::StringArray(v.merges));
  auto add_id = [&m](const char* key, TokenId id) {
    if (id >= 0) m.emplace_back(key, GgufMetaValue::Uint32(static_cast<uint32_t>(id)));
  };
  add_id("tokenizer.ggml.bos_token_id", v.bos);
  add_id("tokenizer.ggml.eos_token_id", v.eos);
  add_id("tokenizer.ggml.unknown_token_id", v.unk);
  add_id("tokenizer.ggml.padding_token_id", v.pad);
  return m;
}

absl::StatusOr<GgufMetaValue> ToMetaValue(const GgufValue& value) {
  switch (value.type()) {
    case GgufValueType::kUint8: {
      ASSIGN_OR_RETURN(uint8_t v, value.AsUint8());
      return GgufMetaValue::Uint8(v);
    }
    case GgufValueType::kInt8: {
      ASSIGN_OR_RETURN(int8_t v, value.AsInt8());
      return GgufMetaValue::Int8(v);
    }
    case GgufValueType::kUint16: {
      ASSIGN_OR_RETURN(uint16_t v, value.AsUint16());
      return GgufMetaValue::Uint16(v);
    }
    case GgufValueType::kInt16: {
      ASSIGN_OR_RETURN(int16_t v, value.AsInt16());
      return GgufMetaValue::Int16(v);
    }
    case GgufValueType::kUint32: {
      ASSIGN_OR_RETURN(uint32_t v, value.AsUint32());
      return GgufMetaValue::Uint32(v);
    }
    case GgufValueType::kInt32: {
      ASSIGN_OR_RETURN(int32_t v, value.AsInt32());
      return GgufMetaValue::Int32(v);
    }
    case GgufValueType::kUint64: {
      ASSIGN_OR_RETURN(uint64_t v, value.AsUint64());
      return GgufMetaValue::Uint64(v);
    }
    case GgufValueType::kInt64: {
      ASSIGN_OR_RETURN(int64_t v, value.AsInt64());
      return GgufMetaValue::Int64(v);
    }
    case GgufValueType::kFloat32: {
      ASSIGN_OR_RETURN(float v, value.AsFloat32());
      return GgufMetaValue::Float32(v);
    }
    case GgufValueType::kFloat64: {
      ASSIGN_OR_RETURN(double v, value.AsFloat64());
      return GgufMetaValue::Float64(v);
    }
    case GgufValueType::kBool: {
      ASSIGN_OR_RETURN(bool v, value.AsBool());
      return GgufMetaValue::Bool(v);
    }
    case GgufValueType::kString: {
      ASSIGN_OR_RETURN(std::string_view v, value.AsString());
      return GgufMetaValue::String(v);
    }
    case GgufValueType::kArray: {
      ASSIGN_OR_RETURN(GgufArray array, value.AsArray());
      // Vocabularies are big: strings and int32s go through the typed encoders.
      if (array.element_type() == GgufValueType::kString) {
        ASSIGN_OR_RETURN(std::vector<std::string_view> strings, array.Strings());
        return GgufMetaValue::StringArray(std::span<const std::string_view>(strings));
      }
      if (array.element_type() == GgufValueType::kInt32) {
        ASSIGN_OR_RETURN(std::vector<int32_t> ints, array.Int32s());
        return GgufMetaValue::Int32Array(ints);
      }
      if (array.element_type() == GgufValueType::kFloat32) {
        ASSIGN_OR_RETURN(std::vector<float> floats, array.Float32s());
        return GgufMetaValue::Float32Array(floats);
      }
      std::vector<GgufMetaValue> elements;
      elements.reserve(array.size());
      for (const GgufValue& e : array.Elements()) {
        ASSIGN_OR_RETURN(GgufMetaValue m, ToMetaValue(e));
        elements.push_back(std::move(m));
      }
      return GgufMetaValue::Array(array.element_type(), elements);
    }
  }
  return absl::InvalidArgumentError("unknown metadata value type");
}

absl::StatusOr<MetadataList> CopyTokenizerMetadata(const GgufFile& source) {
  MetadataList m;
  for (const GgufKeyValue& kv : source.metadata()) {
    if (!kv.key.starts_with("tokenizer.")) continue;
    absl::StatusOr<GgufMetaValue> value = ToMetaValue(kv.value);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("copying metadata key '",
                                                     std::string(kv.key), "': ",
                                                     value.status().message()));
    }
    m.emplace_back(std::string(kv.key), *std::move(value));
  }
  if (absl::StatusOr<int> n = VocabSizeOf(m); !n.ok()) return n.status();
  return m;
}

absl::StatusOr<int> VocabSizeOf(const MetadataList& tokenizer) {
  for (const auto& [key, value] : tokenizer) {
    if (key != kTokensKey) continue;
    // Encoding of an array: element type (u32), count (u64), elements.
    if (value.type() != GgufValueType::kArray || value.encoded().size() < 12) break;
    uint32_t element_type;
    uint64_t count;
    std::memcpy(&element_type, value.encoded().data(), 4);
    std::memcpy(&count, value.encoded().data() + 4, 8);
    if (element_type != static_cast<uint32_t>(GgufValueType::kString) || count < 1 ||
        count > (1u << 30)) {
      break;
    }
    return static_cast<int>(count);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no usable '", std::string(kTokensKey), "' string array in the tokenizer"));
}

void SetMetadata(MetadataList& list, const std::string& key, GgufMetaValue value) {
  for (auto& [k, v] : list) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  list.emplace_back(key, std::move(value));
}

}  // namespace smollm::runtime

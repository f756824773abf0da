// The metadata of a synthetic GGUF: model keys as llama.cpp's converter writes them, and
// tokenizer keys made here or copied from another GGUF.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_meta_value.h"
#include "runtime/gguf/gguf_value.h"
#include "runtime/model/model_config.h"
#include "runtime/tools/synth_tokenizer.h"

namespace smollm::runtime {

class GgufFile;

using MetadataList = std::vector<std::pair<std::string, GgufMetaValue>>;

// general.quantization_version of files quantized by current ggml (GGML_QNT_VERSION).
inline constexpr uint32_t kQuantizationVersion = 2;

// The model keys, in the order llama.cpp's converter writes them: general.architecture,
// general.type, general.name (when config.name is set), then <arch>.block_count,
// context_length, embedding_length, feed_forward_length, attention.head_count,
// attention.head_count_kv, rope.freq_base, attention.layer_norm_rms_epsilon, vocab_size,
// rope.dimension_count. `config` must have passed CompleteShape.
MetadataList ModelMetadata(const ModelConfig& config);

// The keys the quantizer appends last: general.quantization_version and general.file_type.
MetadataList QuantizationMetadata(uint32_t file_type);

// tokenizer.* keys for `vocab` (model "gpt2"), in the converter's order.
MetadataList TokenizerMetadata(const SynthVocab& vocab);

// Every tokenizer.* key of `source`, in its file order, with its value and type as
// stored. InvalidArgument if there is no tokenizer.ggml.tokens string array.
absl::StatusOr<MetadataList> CopyTokenizerMetadata(const GgufFile& source);

// Number of entries of the tokenizer.ggml.tokens array in `tokenizer`; InvalidArgument
// when the key is missing or is not an array.
absl::StatusOr<int> VocabSizeOf(const MetadataList& tokenizer);

// A reader's value as a value to write, with the same type and encoding (arrays of any
// depth included).
absl::StatusOr<GgufMetaValue> ToMetaValue(const GgufValue& value);

// Replaces `key`'s value in `list`, or appends it when absent.
void SetMetadata(MetadataList& list, const std::string& key, GgufMetaValue value);

}  // namespace smollm::runtime

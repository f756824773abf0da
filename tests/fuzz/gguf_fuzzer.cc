// Fuzzes the model loader's input path on arbitrary bytes: GGUF parsing, then (for files
// that parse) the model config, the tensor checks, the tokenizer and the chat template,
// in the order Model::Open runs them. Errors are fine; crashes, sanitizer reports,
// views outside the buffer and errors without a message are not.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fuzz_check.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/model/model_config.h"
#include "runtime/model/tensor_names.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/chat_template.h"

namespace smollm::fuzz {
namespace {

using runtime::GgufFile;

bool Inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Reads every value and tensor byte a parsed file exposes, so that ASan sees a bad view.
uint64_t TouchEverything(const GgufFile& file) {
  uint64_t sum = 0;
  for (const runtime::GgufKeyValue& kv : file.metadata()) {
    sum += kv.key.size() + kv.value.ToString(4).size();
    if (kv.value.type() != runtime::GgufValueType::kArray) continue;
    const runtime::GgufArray array = *kv.value.AsArray();
    FUZZ_CHECK(Inside(array.raw_bytes(), file.bytes()), "array payload outside the file");
    if (array.size() <= 4096) {
      for (const runtime::GgufValue& e : array.Elements()) sum += e.ToString(2).size();
    }
    if (auto s = array.Strings(); s.ok()) {
      for (std::string_view v : *s) sum += v.empty() ? 0 : static_cast<uint8_t>(v.back());
    }
    if (auto v = array.Int64s(); v.ok()) sum += v->size();
    if (auto v = array.Float64s(); v.ok()) sum += v->size();
  }
  for (const runtime::GgufTensorInfo& t : file.tensors()) {
    FUZZ_CHECK(Inside(t.data, file.bytes()), "tensor data outside the file");
    FUZZ_CHECK(t.data.size() == t.n_bytes, "tensor data size differs from n_bytes");
    for (uint8_t b : t.data) sum += b;
  }
  return sum;
}

void LoadModelParts(const GgufFile& file) {
  absl::StatusOr<runtime::ModelConfig> config = runtime::ModelConfigFromGguf(file);
  FUZZ_CHECK(HasMessage(config.status()), "config error without a message");
  if (config.ok()) {
    const absl::Status tensors = runtime::ValidateTensors(*config, file);
    FUZZ_CHECK(HasMessage(tensors), "tensor check error without a message");
  }
  absl::StatusOr<runtime::BpeTokenizer> tokenizer = runtime::BpeTokenizer::FromGguf(file);
  FUZZ_CHECK(HasMessage(tokenizer.status()), "tokenizer error without a message");
  if (tokenizer.ok()) {
    const runtime::EncodeOptions options{.add_special = true, .parse_special = true};
    const std::vector<runtime::TokenId> ids =
        tokenizer->Encode("<|im_start|>user\nHello, w\xC3\xB6rld 123!<|im_end|>", options);
    for (runtime::TokenId id : ids) FUZZ_CHECK(tokenizer->IsValidId(id), "invalid id");
    FUZZ_CHECK(tokenizer->Decode(ids, {.render_special = true}).ok(), "decode failed");
  }
  if (absl::StatusOr<std::string_view> text = file.GetString("tokenizer.chat_template");
      text.ok()) {
    runtime::DetectChatTemplate(*text);
  }
}

}  // namespace
}  // namespace smollm::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smollm;
  absl::StatusOr<runtime::GgufFile> file =
      runtime::GgufFile::Parse(std::span<const uint8_t>(data, size));
  if (!file.ok()) {
    FUZZ_CHECK(file.status().code() == absl::StatusCode::kInvalidArgument ||
                   file.status().code() == absl::StatusCode::kDataLoss,
               "GGUF parse error that is neither InvalidArgument nor DataLoss");
    FUZZ_CHECK(fuzz::HasMessage(file.status()), "GGUF parse error without a message");
    return 0;
  }
  fuzz::TouchEverything(*file);
  fuzz::LoadModelParts(*file);
  return 0;
}

// Opening and validating a model file.
#include "runtime/model/model.h"

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/model/tensor_names.h"

namespace smollm::runtime {
namespace {

// Prefixes a status message with the file it concerns, keeping the code.
absl::Status InFile(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> Model::Open(const std::string& path) {
  auto gguf = GgufFile::Open(path);
  if (!gguf.ok()) return gguf.status();  // already names the file
  auto config = ModelConfigFromGguf(*gguf);
  if (!config.ok()) return InFile(path, config.status());
  if (absl::Status s = ValidateTensors(*config, *gguf); !s.ok()) return InFile(path, s);
  auto tokenizer = BpeTokenizer::FromGguf(*gguf);
  if (!tokenizer.ok()) return InFile(path, tokenizer.status());
  if (tokenizer->vocab_size() != config->vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the tokenizer has ",
                                                   tokenizer->vocab_size(), " tokens, the model ",
                                                   config->vocab_size));
  }
  std::string_view template_text;
  if (gguf->HasKey("tokenizer.chat_template")) {
    auto text = gguf->GetString("tokenizer.chat_template");
    if (!text.ok()) return InFile(path, text.status());
    template_text = *text;
  }
  ChatTemplateDetection chat_template = DetectChatTemplate(template_text);
  return std::unique_ptr<Model>(new Model(path, std::move(*gguf), std::move(*config),
                                          std::move(*tokenizer), std::move(chat_template)));
}

}  // namespace smollm::runtime

// An opened model file: its config, tokenizer and chat template, validated once.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/model/model_config.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/chat_template.h"

namespace smollm::runtime {

// Immutable after Open; shared by every sequence and safe to read from any thread.
// Weights are uploaded to a backend separately (UploadWeights), from gguf().
class Model {
 public:
  // Maps and validates `path`: a GGUF of a supported architecture (llama, smollm3) whose
  // tensors match its config and whose tokenizer loads. Errors name the file and what is
  // wrong: NotFound for a missing file, InvalidArgument / DataLoss for a malformed or
  // unsupported one.
  static absl::StatusOr<std::unique_ptr<Model>> Open(const std::string& path);

  const std::string& path() const { return path_; }
  const GgufFile& gguf() const { return gguf_; }
  const ModelConfig& config() const { return config_; }
  const BpeTokenizer& tokenizer() const { return tokenizer_; }
  // The family the chat template was recognised as, and a warning when it fell back.
  const ChatTemplateDetection& chat_template() const { return chat_template_; }

 private:
  Model(std::string path, GgufFile gguf, ModelConfig config, BpeTokenizer tokenizer,
        ChatTemplateDetection chat_template)
      : path_(std::move(path)),
        gguf_(std::move(gguf)),
        config_(std::move(config)),
        tokenizer_(std::move(tokenizer)),
        chat_template_(std::move(chat_template)) {}

  std::string path_;
  GgufFile gguf_;
  ModelConfig config_;
  BpeTokenizer tokenizer_;
  ChatTemplateDetection chat_template_;
};

}  // namespace smollm::runtime

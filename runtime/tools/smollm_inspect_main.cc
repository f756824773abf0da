// smollm-inspect: loads a model, validates it, prints its description and the
// tokenization of a sample chat rendered with the model's template.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "runtime/model/model.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tools/model_description.h"

ABSL_FLAG(std::string, model, "", "GGUF model file (llama or smollm3 architecture)");
ABSL_FLAG(std::string, system, "You are a helpful assistant.", "system message of the chat");
ABSL_FLAG(std::string, user, "What is the capital of France? Answer in one word.",
          "user message of the chat");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Prints a model's description and the tokenization of a sample chat.\n"
      "Usage: smollm-inspect --model FILE.gguf [--system TEXT] [--user TEXT]");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) {
    std::fprintf(stderr, "smollm-inspect: --model is required\n");
    return 2;
  }
  auto model = smollm::runtime::Model::Open(path);
  if (!model.ok()) {
    std::fprintf(stderr, "smollm-inspect: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", smollm::runtime::DescribeModel(**model).c_str());

  using smollm::runtime::ChatMessage;
  std::vector<ChatMessage> chat;
  chat.push_back({"system", absl::GetFlag(FLAGS_system), "", ""});
  chat.push_back({"user", absl::GetFlag(FLAGS_user), "", ""});
  smollm::runtime::ChatRenderOptions options;
  options.date = smollm::runtime::TodayChatDate();
  auto text = smollm::runtime::RenderChat((*model)->chat_template().family, chat, options);
  if (!text.ok()) {
    std::fprintf(stderr, "smollm-inspect: %s\n", std::string(text.status().message()).c_str());
    return 1;
  }
  const std::vector<smollm::runtime::TokenId> tokens =
      (*model)->tokenizer().Encode(*text, {.add_special = true, .parse_special = true});
  std::printf("sample chat (%s template):\n%s\n",
              std::string(ChatTemplateFamilyName((*model)->chat_template().family)).c_str(),
              text->c_str());
  std::printf("tokens (%zu):\n%s", tokens.size(),
              smollm::runtime::DescribeTokens((*model)->tokenizer(), tokens).c_str());
  return 0;
}

// ModelInfo: the static description of the served model and the server's limits.
#include "service/serving_context.h"

#include <map>

#include "runtime/core/ggml_type.h"
#include "runtime/sampling/sampling_params.h"

namespace smollm::service {
namespace {

// llama.cpp's general.file_type values for the common mixes.
std::string FileTypeName(uint32_t file_type) {
  switch (file_type) {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K";
    case 12: return "Q3_K_M";
    case 14: return "Q4_K_S";
    case 15: return "Q4_K_M";
    case 16: return "Q5_K_S";
    case 17: return "Q5_K_M";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return "";
  }
}

}  // namespace

v1::ModelInfo BuildModelInfo(const runtime::Model& model, const RequestLimits& limits,
                             const std::string& device, int max_queued_requests,
                             int max_sessions, absl::Duration session_idle_ttl) {
  const runtime::ModelConfig& c = model.config();
  v1::ModelInfo info;
  info.set_name(c.name);
  info.set_architecture(std::string(runtime::ArchitectureName(c.arch)));
  info.set_context_length(limits.context_length);
  info.set_vocab_size(c.vocab_size);
  int64_t parameters = 0;
  std::map<std::string, uint64_t> bytes_by_type;
  for (const runtime::GgufTensorInfo& t : model.gguf().tensors()) {
    parameters += static_cast<int64_t>(t.n_elements);
    bytes_by_type[std::string(runtime::NameOf(t.type))] += t.n_bytes;
  }
  info.set_parameters(parameters);
  std::string quantization;
  if (absl::StatusOr<uint32_t> ft = model.gguf().GetUint32("general.file_type"); ft.ok()) {
    quantization = FileTypeName(*ft);
  }
  if (quantization.empty()) {  // the format holding the most bytes
    uint64_t best = 0;
    for (const auto& [name, bytes] : bytes_by_type) {
      if (bytes > best) best = bytes, quantization = name;
    }
  }
  info.set_quantization(quantization);
  info.set_chat_template(
      std::string(runtime::ChatTemplateFamilyName(model.chat_template().family)));
  info.set_device(device);
  info.set_bos_token_id(model.tokenizer().bos_id());
  info.set_eos_token_id(model.tokenizer().eos_id());
  v1::ServerLimits* l = info.mutable_limits();
  l->set_max_prompt_bytes(limits.max_prompt_bytes);
  l->set_max_messages(limits.max_messages);
  l->set_max_context_tokens(limits.context_length);
  l->set_max_queued_requests(max_queued_requests);
  l->set_max_sessions(max_sessions);
  DurationToProto(session_idle_ttl, l->mutable_session_idle_ttl());
  l->set_max_top_logprobs(runtime::kMaxTopLogprobs);
  l->set_max_stop_strings(runtime::kMaxStopStrings);
  l->set_max_logit_bias_entries(runtime::kMaxLogitBiasEntries);
  return info;
}

}  // namespace smollm::service

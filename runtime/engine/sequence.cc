// Sequence creation and its final event.
#include "runtime/engine/sequence.h"

#include <utility>

#include "runtime/core/status.h"

namespace smollm::runtime {

absl::StatusOr<std::unique_ptr<Sequence>> Sequence::Create(
    int64_t id, std::vector<TokenId> tokens, int prompt_tokens, const SamplingParams& params,
    int32_t vocab_size, std::span<const TokenId> model_stop_tokens,
    const BpeTokenizer& tokenizer, std::shared_ptr<TokenSink> sink, absl::Time now) {
  ASSIGN_OR_RETURN(Sampler sampler, Sampler::Create(params, vocab_size));
  ASSIGN_OR_RETURN(StopCriteria stop, StopCriteria::Create(params, vocab_size, model_stop_tokens));
  RETURN_IF_ERROR(sampler.AcceptPrompt(tokens));
  std::unique_ptr<Sequence> seq(
      new Sequence(std::move(sampler), std::move(stop), StreamDecoder(tokenizer)));
  seq->id = id;
  seq->tokens = std::move(tokens);
  seq->prompt_tokens = prompt_tokens;
  seq->sink = std::move(sink);
  seq->want_logprobs = params.logprobs || params.top_logprobs > 0;
  seq->want_top_logprobs = params.top_logprobs > 0;
  seq->submitted = now;
  return seq;
}

void Sequence::SendFinal(absl::Status status, FinishReason reason) {
  if (final_sent) return;
  final_sent = true;
  FinalEvent event;
  event.status = std::move(status);
  Usage& u = event.usage;
  u.prompt_tokens = prompt_tokens;
  u.cached_tokens = cached_tokens;
  u.completion_tokens = generated;
  if (admitted) u.queue_time = *admitted - submitted;
  if (first_token) u.time_to_first_token = *first_token - submitted;
  u.finish_reason = reason;
  sink->Finish(std::move(event));
}

}  // namespace smollm::runtime

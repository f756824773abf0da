// The single-sequence generation loop.
#include "runtime/tools/text_generation.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/model/forward.h"
#include "runtime/model/step_batch.h"
#include "runtime/sampling/sampler.h"
#include "runtime/tokenizer/stream_decoder.h"

namespace smollm::runtime {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

absl::StatusOr<GenerationStats> GenerateText(const Model& model, const ModelWeights& weights,
                                             Backend& backend,
                                             std::span<const TokenId> prompt,
                                             const GenerationOptions& options,
                                             const std::function<void(std::string_view)>& on_text) {
  const ModelConfig& c = model.config();
  if (prompt.empty()) return absl::InvalidArgumentError("the prompt is empty");
  const int64_t context = c.context_length;
  if (static_cast<int64_t>(prompt.size()) >= context) {
    return absl::OutOfRangeError(absl::StrCat("the prompt has ", prompt.size(),
                                              " tokens; the context holds ", context));
  }
  // Room for the prompt and every token we may generate, capped by the context.
  const int64_t positions =
      std::min<int64_t>(context, static_cast<int64_t>(prompt.size()) + options.sampling.max_tokens);
  const int n_pages = static_cast<int>((positions + options.page_size - 1) / options.page_size);
  ASSIGN_OR_RETURN(KvCache cache, AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim,
                                                             options.page_size, n_pages}));
  std::vector<int32_t> pages(n_pages);
  std::iota(pages.begin(), pages.end(), 0);

  const int chunk = std::max(1, options.prefill_chunk);
  ASSIGN_OR_RETURN(Forward forward, Forward::Create(c, weights, backend, {chunk, 1}));
  ASSIGN_OR_RETURN(Sampler sampler, Sampler::Create(options.sampling, c.vocab_size));
  RETURN_IF_ERROR(sampler.AcceptPrompt(prompt));
  std::vector<TokenId> model_stops;
  for (TokenId t : {model.tokenizer().eos_id(), model.tokenizer().eot_id()}) {
    if (t >= 0) model_stops.push_back(t);
  }
  ASSIGN_OR_RETURN(StopCriteria stop,
                   StopCriteria::Create(options.sampling, c.vocab_size, model_stops));
  StreamDecoder decoder(model.tokenizer());

  GenerationStats stats;
  stats.prompt_tokens = static_cast<int>(prompt.size());
  std::vector<float> logits(c.vocab_size);
  StepBatch batch;
  const auto prefill_start = std::chrono::steady_clock::now();
  for (size_t begin = 0; begin < prompt.size(); begin += chunk) {
    const size_t end = std::min(prompt.size(), begin + chunk);
    batch.Clear();
    batch.AddSequence(prompt.subspan(begin, end - begin), static_cast<Pos>(begin), pages,
                      /*want_logits=*/end == prompt.size());
    RETURN_IF_ERROR(forward.Run(batch, cache, std::span<float>(logits.data(),
                                                             end == prompt.size() ? logits.size() : 0)));
  }
  stats.prefill_seconds = SecondsSince(prefill_start);

  const auto decode_start = std::chrono::steady_clock::now();
  Pos pos = static_cast<Pos>(prompt.size());
  std::string piece;
  for (;;) {
    ASSIGN_OR_RETURN(SampleResult sample, sampler.Sample(logits));
    RETURN_IF_ERROR(sampler.Accept(sample.token));
    ++stats.generated_tokens;
    piece.clear();
    RETURN_IF_ERROR(decoder.Push(sample.token, &piece));
    StopUpdate update = stop.Feed(sample.token, piece);
    if (!update.text.empty()) on_text(update.text);
    if (update.finished) {
      stats.finish_reason = update.reason;
      break;
    }
    if (pos >= positions) {
      stats.finish_reason = FinishReason::kLength;
      break;
    }
    const TokenId next[] = {sample.token};
    batch.Clear();
    batch.AddSequence(next, pos++, pages, /*want_logits=*/true);
    RETURN_IF_ERROR(forward.Run(batch, cache, logits));
  }
  // Text held back as a possible stop-string prefix, then bytes of an unfinished
  // character, are released at the end unless a stop string ended the text.
  if (stats.finish_reason != FinishReason::kStopString) {
    const std::string held = stop.Flush() + decoder.Flush();
    if (!held.empty()) on_text(held);
  }
  stats.decode_seconds = SecondsSince(decode_start);
  return stats;
}

}  // namespace smollm::runtime

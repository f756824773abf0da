// One request's state on the engine thread: tokens, page table, sampler, stop criteria, sink.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/engine/session_id.h"
#include "runtime/engine/session_store_types.h"
#include "runtime/engine/token_sink.h"
#include "runtime/kv/page_table.h"
#include "runtime/sampling/sampler.h"
#include "runtime/sampling/stop_criteria.h"
#include "runtime/tokenizer/stream_decoder.h"

namespace smollm::runtime {

// Owned by EngineCore; not thread-safe. `tokens` is prompt + generated: the scheduler's
// known_tokens. The page table exists while the sequence is admitted (a preempted one
// loses it and recomputes from its tokens).
struct Sequence {
  int64_t id = 0;
  std::vector<TokenId> tokens;
  int prompt_tokens = 0;
  std::shared_ptr<TokenSink> sink;
  Sampler sampler;
  StopCriteria stop;
  StreamDecoder decoder;
  bool want_logprobs = false;
  bool want_top_logprobs = false;  // params.top_logprobs > 0
  std::optional<PageTable> table;

  // A session turn: the session it belongs to, and its retained KV, kept until admission
  // so that its pages stay cached for the prefix match.
  std::optional<SessionId> session;
  std::unique_ptr<SessionKv> held_session_kv;

  absl::Time submitted;
  absl::Time deadline = absl::InfiniteFuture();
  std::optional<absl::Time> admitted;     // first admission
  std::optional<absl::Time> first_token;
  int cached_tokens = 0;  // at first admission
  int generated = 0;
  FinishReason finish = FinishReason::kNone;  // set once StopCriteria (or Update) ends it
  absl::Status error;                         // an engine-side failure of this sequence
  bool final_sent = false;

  // InvalidArgument for bad params (Validate); the tokenizer must outlive the sequence.
  static absl::StatusOr<std::unique_ptr<Sequence>> Create(
      int64_t id, std::vector<TokenId> tokens, int prompt_tokens, const SamplingParams& params,
      int32_t vocab_size, std::span<const TokenId> model_stop_tokens,
      const BpeTokenizer& tokenizer, std::shared_ptr<TokenSink> sink, absl::Time now);

  // Sends the final event once: usage from the counters, `status` and `reason`.
  void SendFinal(absl::Status status, FinishReason reason);

 private:
  Sequence(Sampler sampler, StopCriteria stop, StreamDecoder decoder)
      : sampler(std::move(sampler)), stop(std::move(stop)), decoder(decoder) {}
};

// The retained KV of a session between turns: its page table (destroying it releases the
// pages, on the engine thread). Its full pages are in the prefix cache like any others;
// its partly filled last page is private, and the session's next turn adopts the whole
// table and writes on into that page (EngineCore::Attach), so nothing is recomputed.
class EngineSessionKv final : public SessionKv {
 public:
  explicit EngineSessionKv(PageTable table) : table_(std::move(table)) {}
  PageTable& table() { return table_; }
  int64_t KeepLeading(int64_t tokens) override {
    return table_.Truncate(static_cast<int32_t>(std::min<int64_t>(tokens, table_.n_tokens())));
  }

 private:
  PageTable table_;
};

}  // namespace smollm::runtime

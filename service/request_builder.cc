// Building engine requests from Generate calls and session turns.
#include "service/request_builder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/chat_turns.h"
#include "service/convert.h"
#include "service/session_history.h"
#include "service/status_map.h"

namespace smollm::service {
namespace {

// Sampling for a request: runtime defaults, then `base` (a session's defaults), then
// the request's overrides; a random seed unless one was given somewhere.
absl::StatusOr<runtime::SamplingParams> LayerSampling(
    const runtime::SamplingParams& base, std::optional<uint64_t> base_seed,
    const v1::SamplingParams& overrides, const v1::LogprobOptions& logprobs,
    absl::string_view path, absl::string_view logprobs_path, int32_t vocab_size) {
  runtime::SamplingParams params = base;
  params.seed = base_seed.has_value() ? *base_seed : RandomSeed();
  RETURN_IF_ERROR(ApplySampling(overrides, path, vocab_size, &params));
  RETURN_IF_ERROR(ApplyLogprobs(logprobs, logprobs_path, &params));
  return params;
}

absl::StatusOr<PreparedRequest> SessionTurn(const ServingContext& serving, SessionBook& book,
                                            const runtime::SessionId& id,
                                            const std::string& principal,
                                            absl::string_view content,
                                            const v1::SamplingParams& sampling,
                                            const v1::LogprobOptions& logprobs,
                                            absl::string_view prefix) {
  const std::string content_field = prefix.empty() ? "prompt" : absl::StrCat(prefix, ".content");
  RETURN_IF_ERROR(CheckText(content, content_field, serving.limits.max_prompt_bytes,
                            /*allow_empty=*/false));
  absl::StatusOr<runtime::SessionInfo> info = serving.engine->GetSession(id, principal);
  if (!info.ok()) return SessionStatus(info.status());
  if (info->state == runtime::SessionState::kGenerating) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "session ", id.ToString(),
                          " is generating a turn; wait for its end or cancel it")),
                      "SESSION_BUSY");
  }
  const auto path = [&](absl::string_view field) {
    return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
  };
  ASSIGN_OR_RETURN(runtime::SamplingParams params,
                   LayerSampling(info->options.sampling, book.DefaultSeed(id), sampling, logprobs,
                                 path("sampling"), path("logprobs"),
                                 serving.limits.vocab_size));
  absl::StatusOr<std::string> text = runtime::RenderChatTurn(
      TurnOptionsFor(serving, info->options), info->turns, std::string_view(content.data(), content.size()),
      book.LastReplyClosed(id));
  if (!text.ok()) return FieldError(content_field, text.status().message());
  PreparedRequest out;
  out.request.prompt = serving.model->tokenizer().Encode(
      *text, {.add_special = false, .parse_special = true});
  out.request.sampling = std::move(params);
  out.request.session = runtime::SessionTurn{id, principal};
  out.session = id;
  return out;
}

}  // namespace

absl::Status SessionStatus(absl::Status status) {
  if (status.code() == absl::StatusCode::kPermissionDenied ||
      status.code() == absl::StatusCode::kNotFound) {
    return WithReason(absl::NotFoundError(
                          "session not found: unknown, expired, deleted, or owned by another "
                          "API key; open a new one (or rebuild it from its history)"),
                      "SESSION_NOT_FOUND");
  }
  return status;
}

absl::StatusOr<PreparedRequest> BuildGenerateRequest(const ServingContext& serving,
                                                     SessionBook& book,
                                                     const v1::GenerateRequest& request,
                                                     absl::string_view metadata_session_id,
                                                     const std::string& principal,
                                                     std::optional<absl::Time> deadline) {
  const RequestLimits& limits = serving.limits;
  RETURN_IF_ERROR(CheckPriority(request.priority()));
  std::string session_text = request.session_id();
  std::string session_field = "session_id";
  if (session_text.empty() && request.input_case() == v1::GenerateRequest::kPrompt &&
      !metadata_session_id.empty()) {
    session_text = std::string(metadata_session_id);
    session_field = "x-session-id";
  }
  absl::StatusOr<PreparedRequest> out;
  if (!session_text.empty()) {
    ASSIGN_OR_RETURN(runtime::SessionId id, ParseSessionIdField(session_text, session_field));
    if (request.input_case() != v1::GenerateRequest::kPrompt) {
      return FieldError("prompt", "a session turn takes `prompt` (the user's message), not "
                                  "`messages`");
    }
    out = SessionTurn(serving, book, id, principal, request.prompt(), request.sampling(),
                      request.logprobs(), "");
  } else {
    ASSIGN_OR_RETURN(runtime::SamplingParams params,
                     LayerSampling(runtime::SamplingParams(), std::nullopt, request.sampling(),
                                   request.logprobs(), "sampling", "logprobs",
                                   limits.vocab_size));
    PreparedRequest prepared;
    const runtime::BpeTokenizer& tokenizer = serving.model->tokenizer();
    if (request.input_case() == v1::GenerateRequest::kPrompt) {
      RETURN_IF_ERROR(
          CheckText(request.prompt(), "prompt", limits.max_prompt_bytes, /*allow_empty=*/false));
      prepared.request.prompt =
          tokenizer.Encode(request.prompt(), {.add_special = true, .parse_special = false});
    } else if (request.input_case() == v1::GenerateRequest::kMessages) {
      ASSIGN_OR_RETURN(std::vector<runtime::ChatMessage> messages,
                       MessagesFromProto(request.messages(), limits));
      runtime::ChatRenderOptions options;
      if (request.has_enable_thinking()) options.enable_thinking = request.enable_thinking();
      options.date = runtime::TodayChatDate();
      absl::StatusOr<std::string> text =
          runtime::RenderChat(serving.model->chat_template().family, messages, options);
      if (!text.ok()) return FieldError("messages", text.status().message());
      prepared.request.prompt =
          tokenizer.Encode(*text, {.add_special = true, .parse_special = true});
    } else {
      return FieldError("input", "set `prompt` or `messages`");
    }
    prepared.request.sampling = std::move(params);
    out = std::move(prepared);
  }
  if (!out.ok()) return out.status();
  out->request.priority = request.priority();
  out->request.deadline = deadline;
  return out;
}

absl::StatusOr<PreparedRequest> BuildTurnRequest(const ServingContext& serving,
                                                 SessionBook& book, const runtime::SessionId& id,
                                                 const std::string& principal,
                                                 const v1::UserTurn& turn,
                                                 std::optional<absl::Time> deadline) {
  ASSIGN_OR_RETURN(PreparedRequest out, SessionTurn(serving, book, id, principal, turn.content(),
                                                    turn.sampling(), turn.logprobs(), "turn"));
  out.request.deadline = deadline;
  return out;
}

void TurnTracker::Finished(const ServingContext& serving, SessionBook& book,
                           const std::optional<runtime::SessionId>& session,
                           const runtime::FinalEvent& final_event) const {
  if (!session.has_value() || !final_event.status.ok()) return;
  const runtime::BpeTokenizer& tokenizer = serving.model->tokenizer();
  const bool closed = final_event.usage.finish_reason == runtime::FinishReason::kStopToken &&
                      last_token_ >= 0 &&
                      tokenizer.token_text(last_token_) == runtime::kChatEndOfTurn;
  book.TurnFinished(*session, closed);
}

}  // namespace smollm::service

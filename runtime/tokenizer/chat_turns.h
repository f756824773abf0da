// Session turns: the text one user turn appends to a session's token history, so that the
// history grows by new tokens only and never re-renders what the model already saw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/tokenizer/chat_template.h"

namespace smollm::runtime {

// A session's rendering choices, fixed for its life (SessionOptions keeps the same fields).
struct ChatTurnOptions {
  ChatTemplateFamily family = ChatTemplateFamily::kChatML;
  // Rendered as the conversation's first (system) message; empty = the template's default
  // system part (SmolLM3's metadata header with its default instructions, SmolLM2's default
  // prompt, nothing for plain ChatML). SmolLM3 reads its "/think", "/no_think" and
  // "/system_override" flags as its template does.
  std::string system_prompt;
  // SmolLM3's reasoning mode; unset = the template's default (on). Other families ignore it.
  std::optional<bool> enable_thinking;
  // SmolLM3's date text (FormatChatDate / TodayChatDate); required for that family. Only
  // turn 0 prints it, so a session keeps the date it started with.
  std::string date;
};

// The end-of-turn text that closes every message in these templates: the `<|im_end|>`
// special token. The newline after it belongs to the next turn's text.
inline constexpr std::string_view kChatEndOfTurn = "<|im_end|>";

// The text to append to a session's history for user turn `turn_index` (0 = the first; it
// includes the system part). Tokenize it with special tokens parsed (EncodeOptions
// parse_special = true, add_special = false: the templates print no BOS).
//
// `previous_reply_closed` (read for turn_index > 0 only): whether the history already ends
// with kChatEndOfTurn, i.e. the previous reply ended by sampling the `<|im_end|>` token.
// The engine appends every sampled token to the session's history, the stop token that
// ended the reply included (EngineCore::SampleOne pushes it before the stop check and
// EndTurn stores all generated tokens). So pass true exactly when the previous turn's
// FinalEvent says kStopToken and its last streamed token is `<|im_end|>`. Pass false when
// the reply ended otherwise (max_tokens, a stop string, another stop token such as
// `<|endoftext|>`): kChatEndOfTurn is then prepended to close the reply; whatever the reply
// ended with stays in the history before it.
//
// The result ends with the assistant header (the generation prompt; in SmolLM3's
// /no_think mode that includes the empty think block).
//
// What concatenation gives: turn texts, each followed by the tokens generated for it,
// make exactly the text RenderChat renders for the whole conversation (system prompt,
// user turns, the replies as assistant messages) as far as the template renders past
// assistant turns as they were generated. It does for ChatML and SmolLM2, and for SmolLM3
// with one exception: the template strips leading newlines from past assistant turns
// (`content.lstrip("\n")`), so a reply that began with newlines renders without them.
// Think blocks are NOT stripped by SmolLM3's template; in /no_think mode its empty think
// block comes before each past reply exactly as the generation prompt put it there. We
// keep the tokens that were generated, newlines included, as llama.cpp's server and vLLM
// do for cached conversations: re-rendering would change a prefix whose KV is already
// computed. A client that rebuilds the session elsewhere from text must send the replies
// as generated (the history is the contract, not the template's re-rendering).
//
// Errors (InvalidArgument, naming the field): turn_index < 0; user_content or system_prompt
// not UTF-8; an empty options.date for SmolLM3.
absl::StatusOr<std::string> RenderChatTurn(const ChatTurnOptions& options, int32_t turn_index,
                                           std::string_view user_content,
                                           bool previous_reply_closed);

}  // namespace smollm::runtime

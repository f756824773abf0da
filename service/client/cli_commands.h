// The subcommands of the `smollm` command-line client, each returning a process exit code.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "service/client/client.h"

namespace smollm::service::client {

// Exit codes: 0 success, 1 a call failed (the gRPC code is printed), 2 bad usage,
// 3 health answered but not SERVING.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCallFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotServing = 3;

// What the flags say about the conversation and its sampling.
struct TurnFlags {
  std::string system_prompt;
  std::optional<bool> enable_thinking;
  v1::SamplingParams sampling;
  bool raw = false;          // generate: the prompt as plain text, no chat template
  bool show_usage = true;    // print usage lines on stderr
  std::string session_id;    // chat: resume this session instead of opening one
};

int RunGenerate(Client& client, const std::string& prompt, const TurnFlags& flags);
// Reads user turns from `in` one line at a time ("/rewind", "/cancel", "/quit" are
// commands); works on a terminal and on a pipe. SIGINT cancels the running turn, or
// exits (130) at the prompt.
int RunChat(Client& client, std::FILE* in, const TurnFlags& flags);
int RunTokenize(Client& client, const std::string& text);
int RunInfo(Client& client);
int RunHealth(Client& client, const std::string& service);

// "finish stop · prompt 12 (cached 0) · completion 30 · ttft 15.2 ms · total 80.1 ms"
std::string DescribeTurnEnd(const v1::TurnEnd& end);

}  // namespace smollm::service::client

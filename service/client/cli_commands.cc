// Implementation of the `smollm` subcommands: streaming output, the chat loop, errors.
#include "service/client/cli_commands.h"

#include <unistd.h>

#include <csignal>
#include <deque>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "service/client/chat_session.h"
#include "service/client/grpc_status.h"

namespace smollm::service::client {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "smollm: %s\n", Describe(status).c_str());
  if (std::optional<absl::Duration> delay = RetryDelay(status)) {
    std::fprintf(stderr, "smollm: the server asks to retry after %s\n",
                 absl::FormatDuration(*delay).c_str());
  }
  return kExitCallFailed;
}

double Millis(const google::protobuf::Duration& d) {
  return static_cast<double>(google::protobuf::util::TimeUtil::DurationToMicroseconds(d)) / 1e3;
}

bool PrintDelta(const v1::TokenDelta& delta) {
  std::fwrite(delta.text().data(), 1, delta.text().size(), stdout);
  std::fflush(stdout);
  return true;
}

// The line reader of `smollm chat`: a thread reads stdin so that "/cancel" can arrive
// while a turn streams.
class LineQueue {
 public:
  // The reader thread may stay blocked in a read until the process exits, so a LineQueue
  // is never destroyed (see RunChat).
  explicit LineQueue(std::FILE* in) : thread_([this, in] { ReadAll(in); }) { thread_.detach(); }
  // The next line; nullopt at end of input.
  std::optional<std::string> Next() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](LineQueue* q) { return !q->lines_.empty() || q->eof_; }, this));
    if (lines_.empty()) return std::nullopt;
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return line;
  }
  // Takes the next line if it is "/cancel": it was typed while the turn ran.
  bool TakeCancel() {
    absl::MutexLock lock(&mu_);
    if (lines_.empty() || lines_.front() != "/cancel") return false;
    lines_.pop_front();
    return true;
  }

 private:
  void ReadAll(std::FILE* in) {
    std::string line;
    for (int c; (c = std::fgetc(in)) != EOF;) {
      if (c != '\n') {
        line.push_back(static_cast<char>(c));
        continue;
      }
      absl::MutexLock lock(&mu_);
      lines_.push_back(std::move(line));
      line.clear();
    }
    absl::MutexLock lock(&mu_);
    if (!line.empty()) lines_.push_back(std::move(line));
    eof_ = true;
  }

  absl::Mutex mu_;
  std::deque<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Ctrl-C cancels the running turn; at the prompt it leaves, as a terminal user expects.
volatile std::sig_atomic_t interrupted = 0;
volatile std::sig_atomic_t turn_running = 0;
void OnInterrupt(int) {
  if (!turn_running) _exit(130);
  interrupted = 1;
}

}  // namespace

std::string DescribeTurnEnd(const v1::TurnEnd& end) {
  std::string reason = v1::FinishReason_Name(end.finish_reason());
  absl::string_view short_reason(reason);
  absl::ConsumePrefix(&short_reason, "FINISH_REASON_");
  const v1::Usage& u = end.usage();
  return absl::StrFormat(
      "finish %s · prompt %d (cached %d) · completion %d · ttft %.1f ms · total %.1f ms",
      absl::AsciiStrToLower(short_reason), u.prompt_tokens(), u.cached_tokens(),
      u.completion_tokens(), Millis(u.time_to_first_token()), Millis(u.total_time()));
}

int RunGenerate(Client& client, const std::string& prompt, const TurnFlags& flags) {
  v1::GenerateRequest request;
  if (flags.raw) {
    request.set_prompt(prompt);
  } else {
    if (!flags.system_prompt.empty()) {
      v1::ChatMessage* system = request.mutable_messages()->add_messages();
      system->set_role("system");
      system->set_content(flags.system_prompt);
    }
    v1::ChatMessage* user = request.mutable_messages()->add_messages();
    user->set_role("user");
    user->set_content(prompt);
  }
  if (flags.enable_thinking.has_value()) request.set_enable_thinking(*flags.enable_thinking);
  *request.mutable_sampling() = flags.sampling;
  absl::StatusOr<v1::TurnEnd> end = client.Generate(request, PrintDelta);
  std::printf("\n");
  if (!end.ok()) return Fail(end.status());
  if (flags.show_usage) std::fprintf(stderr, "[%s]\n", DescribeTurnEnd(*end).c_str());
  return kExitOk;
}

int RunChat(Client& client, std::FILE* in, const TurnFlags& flags) {
  absl::StatusOr<std::unique_ptr<ChatSession>> opened;
  if (!flags.session_id.empty()) {
    opened = ChatSession::Resume(client, flags.session_id);
  } else {
    opened = ChatSession::Open(client, {flags.system_prompt, flags.enable_thinking, flags.sampling});
  }
  if (!opened.ok()) return Fail(opened.status());
  ChatSession& session = **opened;
  const bool tty = isatty(fileno(in));
  std::fprintf(stderr, "[session %s%s]\n", session.id().c_str(),
               tty ? " · /rewind /cancel /quit" : "");
  std::signal(SIGINT, OnInterrupt);
  static LineQueue* const queue = new LineQueue(in);  // lives until exit (see LineQueue)
  LineQueue& lines = *queue;
  int exit_code = kExitOk;
  for (;;) {
    if (tty) std::fprintf(stderr, "> ");
    std::optional<std::string> line = lines.Next();
    if (!line.has_value() || *line == "/quit") break;
    if (line->empty()) continue;
    if (*line == "/cancel") {
      std::fprintf(stderr, "[no turn is running]\n");
      continue;
    }
    if (*line == "/rewind") {
      absl::Status status = session.Rewind();
      if (!status.ok()) {
        exit_code = Fail(status);
      } else {
        std::fprintf(stderr, "[rewound: %d turns left]\n", session.info().turns());
      }
      continue;
    }
    interrupted = 0;
    turn_running = 1;
    const std::string before = session.id();
    absl::StatusOr<v1::TurnEnd> end = session.Send(*line, [&](const v1::TokenDelta& delta) {
      PrintDelta(delta);
      return !interrupted && !lines.TakeCancel();
    });
    turn_running = 0;
    std::printf("\n");
    std::fflush(stdout);
    if (!end.ok()) {
      exit_code = Fail(end.status());
      continue;
    }
    if (session.id() != before) {
      std::fprintf(stderr, "[the replica did not know the session: rebuilt as %s]\n",
                   session.id().c_str());
    }
    if (flags.show_usage) std::fprintf(stderr, "[%s]\n", DescribeTurnEnd(*end).c_str());
  }
  std::signal(SIGINT, SIG_DFL);
  return exit_code;
}

int RunTokenize(Client& client, const std::string& text) {
  v1::TokenizeRequest request;
  request.set_text(text);
  absl::StatusOr<std::vector<int32_t>> ids = client.Tokenize(request);
  if (!ids.ok()) return Fail(ids.status());
  std::printf("%s\n", absl::StrJoin(*ids, " ").c_str());
  return kExitOk;
}

int RunInfo(Client& client) {
  absl::StatusOr<v1::ModelInfo> info = client.GetModelInfo();
  if (!info.ok()) return Fail(info.status());
  std::string text;
  google::protobuf::TextFormat::PrintToString(*info, &text);
  std::printf("%s", text.c_str());
  const std::string served_by = client.last_served_by();
  if (!served_by.empty()) std::printf("served_by: \"%s\"\n", served_by.c_str());
  return kExitOk;
}

int RunHealth(Client& client, const std::string& service) {
  absl::StatusOr<ServingStatus> status = client.Health(service);
  if (!status.ok()) return Fail(status.status());
  std::printf("%s\n", ServingStatusName(*status));
  return *status == ServingStatus::kServing ? kExitOk : kExitNotServing;
}

}  // namespace smollm::service::client

// `smollm`: the command-line client of smollm-serve (generate, chat, tokenize, info, health).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "service/client/cli_commands.h"
#include "service/client/grpc_status.h"

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

ABSL_FLAG(std::string, target, EnvOr("SMOLLM_TARGET", "localhost:50051"),
          "server address (env SMOLLM_TARGET)");
ABSL_FLAG(std::string, api_key, EnvOr("SMOLLM_API_KEY", ""),
          "API key, sent as `authorization: Bearer <key>` (env SMOLLM_API_KEY)");
ABSL_FLAG(bool, tls, false, "connect with TLS (system roots, or --tls_roots)");
ABSL_FLAG(std::string, tls_roots, "", "PEM file of the root certificates to trust");
ABSL_FLAG(double, timeout, 0, "deadline of each call in seconds; 0 = none (chat: none)");
ABSL_FLAG(int32_t, max_tokens, 0, "most tokens to generate; 0 = the server's default");
ABSL_FLAG(double, temperature, -1, "sampling temperature (0 = greedy); < 0 = the default");
ABSL_FLAG(double, top_p, -1, "nucleus mass; < 0 = the default");
ABSL_FLAG(int64_t, seed, -1, "sampler seed; < 0 = random");
ABSL_FLAG(std::vector<std::string>, stop, {}, "stop strings, comma separated");
ABSL_FLAG(std::string, system, "", "system prompt (generate, chat)");
ABSL_FLAG(bool, think, false, "SmolLM3 reasoning mode on");
ABSL_FLAG(bool, no_think, false, "SmolLM3 reasoning mode off");
ABSL_FLAG(bool, raw, false, "generate: send the prompt as plain text, without the chat template");
ABSL_FLAG(std::string, session, "", "chat: resume this session id");
ABSL_FLAG(bool, quiet, false, "do not print usage lines on stderr");
ABSL_FLAG(std::string, service, "", "health: the service name to check (\"\" = the server)");

namespace smollm::service::client {
namespace {

constexpr char kUsage[] =
    "smollm <command> [flags]\n"
    "  generate \"prompt\"   stream one completion\n"
    "  chat                 a session: one user turn per stdin line; /rewind /cancel /quit\n"
    "  tokenize \"text\"     print the token ids\n"
    "  info                 the served model and the server's limits\n"
    "  health               grpc.health.v1 status (exit 3 when not SERVING)";

int Usage(const std::string& why) {
  std::fprintf(stderr, "smollm: %s\n%s\n", why.c_str(), kUsage);
  return kExitUsage;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError("--tls_roots: cannot open " + path);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return Usage("no command");
  const std::string command = args[1];
  std::vector<std::string> operands(args.begin() + 2, args.end());

  if (absl::GetFlag(FLAGS_think) && absl::GetFlag(FLAGS_no_think)) {
    return Usage("--think and --no_think together");
  }
  TurnFlags flags;
  flags.system_prompt = absl::GetFlag(FLAGS_system);
  if (absl::GetFlag(FLAGS_think)) flags.enable_thinking = true;
  if (absl::GetFlag(FLAGS_no_think)) flags.enable_thinking = false;
  flags.raw = absl::GetFlag(FLAGS_raw);
  flags.show_usage = !absl::GetFlag(FLAGS_quiet);
  flags.session_id = absl::GetFlag(FLAGS_session);
  if (absl::GetFlag(FLAGS_max_tokens) > 0) {
    flags.sampling.set_max_tokens(absl::GetFlag(FLAGS_max_tokens));
  }
  if (absl::GetFlag(FLAGS_temperature) >= 0) {
    flags.sampling.set_temperature(static_cast<float>(absl::GetFlag(FLAGS_temperature)));
  }
  if (absl::GetFlag(FLAGS_top_p) >= 0) {
    flags.sampling.set_top_p(static_cast<float>(absl::GetFlag(FLAGS_top_p)));
  }
  if (absl::GetFlag(FLAGS_seed) >= 0) {
    flags.sampling.set_seed(static_cast<uint64_t>(absl::GetFlag(FLAGS_seed)));
  }
  for (const std::string& stop : absl::GetFlag(FLAGS_stop)) flags.sampling.add_stop(stop);

  ClientOptions options;
  options.api_key = absl::GetFlag(FLAGS_api_key);
  options.tls = absl::GetFlag(FLAGS_tls) || !absl::GetFlag(FLAGS_tls_roots).empty();
  if (!absl::GetFlag(FLAGS_tls_roots).empty()) {
    absl::StatusOr<std::string> roots = ReadFile(absl::GetFlag(FLAGS_tls_roots));
    if (!roots.ok()) return Usage(std::string(roots.status().message()));
    options.tls_root_certs = *std::move(roots);
  }
  if (absl::GetFlag(FLAGS_timeout) > 0) options.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout));
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(absl::GetFlag(FLAGS_target), options);
  if (!client.ok()) return Usage(Describe(client.status()));

  auto one_operand = [&]() -> const std::string* {
    return operands.size() == 1 ? &operands[0] : nullptr;
  };
  if (command == "generate") {
    const std::string* prompt = one_operand();
    if (prompt == nullptr) return Usage("generate takes one quoted prompt");
    return RunGenerate(**client, *prompt, flags);
  }
  if (command == "tokenize") {
    const std::string* text = one_operand();
    if (text == nullptr) return Usage("tokenize takes one quoted text");
    return RunTokenize(**client, *text);
  }
  if (!operands.empty()) {
    return Usage(command + " takes no operands, got: " + absl::StrJoin(operands, " "));
  }
  if (command == "chat") return RunChat(**client, stdin, flags);
  if (command == "info") return RunInfo(**client);
  if (command == "health") return RunHealth(**client, absl::GetFlag(FLAGS_service));
  return Usage("unknown command \"" + command + "\"");
}

}  // namespace
}  // namespace smollm::service::client

int main(int argc, char** argv) { return smollm::service::client::Main(argc, argv); }

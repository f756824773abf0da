// smollm-server's absl flags and their SMOLLM_* environment equivalents.
#include "service/flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, model, "", "GGUF model file (required)");
ABSL_FLAG(std::string, host, "0.0.0.0", "address to listen on");
ABSL_FLAG(int32_t, port, 50051, "gRPC port; 0 = pick a free port (logged in the 'serving' line)");
ABSL_FLAG(int32_t, metrics_port, 9464, "Prometheus /metrics HTTP port; -1 = off, 0 = pick one");
ABSL_FLAG(int32_t, threads, 0, "compute threads; 0 = the physical cores");
ABSL_FLAG(std::string, device, "cpu",
          "compute device: cpu, or cuda / cuda:N (a build with the CUDA backend)");
ABSL_FLAG(int64_t, kv_cache_mib, 1024, "KV cache budget in MiB");
ABSL_FLAG(int32_t, max_context, 0, "tokens per sequence (prompt + completion); 0 = the model's");
ABSL_FLAG(int32_t, max_queued_requests, 256,
          "requests waiting for capacity before RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_queued_prompt_tokens, int64_t{1} << 20,
          "prompt tokens waiting to be prefilled before RESOURCE_EXHAUSTED; at least "
          "--max_context");
ABSL_FLAG(int32_t, max_running, 64, "sequences generating at once (the batch)");
ABSL_FLAG(int32_t, max_sessions, 1024, "live sessions on this replica");
ABSL_FLAG(absl::Duration, session_idle_ttl, absl::Minutes(30),
          "an idle session is dropped after this long");
ABSL_FLAG(int32_t, max_prompt_bytes, 1 << 20, "bytes of prompt or message text per request");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20, "largest gRPC message received, in bytes");
ABSL_FLAG(int32_t, max_concurrent_streams, 256, "concurrent streams per HTTP/2 connection");
ABSL_FLAG(std::string, api_keys_file, "",
          "file of API keys, one per line (# comments); keys may also come from "
          "SMOLLM_API_KEYS (comma-separated); none = no authentication");
ABSL_FLAG(std::string, tls_cert, "", "TLS certificate chain (PEM); TLS needs --tls_key too");
ABSL_FLAG(std::string, tls_key, "", "TLS private key (PEM)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "on SIGTERM, how long running generations may finish before they are cancelled");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(bool, reflection, true, "serve gRPC server reflection (v1alpha)");
ABSL_FLAG(std::string, replica_name, "",
          "this replica's name in x-served-by and logs; default: the host name");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Seconds(60),
          "HTTP/2 keepalive ping interval on idle connections");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "a keepalive ping unanswered this long closes the connection");
ABSL_FLAG(int32_t, token_buffer, 64,
          "tokens buffered per stream for a slow reader before its sequence pauses");

namespace smollm::service {
namespace {

constexpr const char* kFlagNames[] = {
    "model", "host", "port", "metrics_port", "threads", "device", "kv_cache_mib",
    "max_context", "max_queued_requests", "max_queued_prompt_tokens", "max_running", "max_sessions", "session_idle_ttl",
    "max_prompt_bytes", "max_message_bytes", "max_concurrent_streams", "api_keys_file",
    "tls_cert", "tls_key", "drain_timeout", "log_level", "reflection", "replica_name",
    "keepalive_time", "keepalive_timeout", "token_buffer"};

// Environment values become the flags' values before argv is parsed, so that the
// command line overrides them.
absl::Status ApplyEnvironment() {
  for (const char* name : kFlagNames) {
    const char* value = std::getenv(EnvNameOf(name).c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat(EnvNameOf(name), "='", value, "': ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string EnvNameOf(const std::string& flag_name) {
  return absl::StrCat("SMOLLM_", absl::AsciiStrToUpper(flag_name));
}

absl::StatusOr<ServerOptions> ParseServerFlags(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "smollm-server --model FILE.gguf [flags]: the smollm.v1.Inference gRPC service. "
      "Every flag --name can also be set as the environment variable SMOLLM_<NAME>.");
  if (absl::Status st = ApplyEnvironment(); !st.ok()) return st;
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", rest[1], "' (flags take the form --name=value)"));
  }
  ServerOptions o;
  o.model_path = absl::GetFlag(FLAGS_model);
  o.host = absl::GetFlag(FLAGS_host);
  o.port = absl::GetFlag(FLAGS_port);
  o.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.device = absl::GetFlag(FLAGS_device);
  o.kv_cache_mib = absl::GetFlag(FLAGS_kv_cache_mib);
  o.max_context = absl::GetFlag(FLAGS_max_context);
  o.max_queued_requests = absl::GetFlag(FLAGS_max_queued_requests);
  o.max_queued_prompt_tokens = absl::GetFlag(FLAGS_max_queued_prompt_tokens);
  o.max_running = absl::GetFlag(FLAGS_max_running);
  o.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  o.session_idle_ttl = absl::GetFlag(FLAGS_session_idle_ttl);
  o.max_prompt_bytes = absl::GetFlag(FLAGS_max_prompt_bytes);
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  o.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  if (const char* keys = std::getenv("SMOLLM_API_KEYS")) o.api_keys = keys;
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  o.log_level = absl::GetFlag(FLAGS_log_level);
  o.reflection = absl::GetFlag(FLAGS_reflection);
  o.replica_name = absl::GetFlag(FLAGS_replica_name);
  if (o.replica_name.empty()) o.replica_name = HostName();
  o.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  o.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  o.token_buffer = absl::GetFlag(FLAGS_token_buffer);
  if (absl::Status st = ValidateServerOptions(o); !st.ok()) return st;
  return o;
}

}  // namespace smollm::service

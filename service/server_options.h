// Every setting of smollm-server, with its documented default (flags.cc fills it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/backend/backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/model/model_config.h"

namespace smollm::service {

struct ServerOptions {
  std::string model_path;                 // --model, required
  std::string host = "0.0.0.0";           // --host
  int port = 50051;                       // --port; 0 = pick a free port
  int metrics_port = 9464;                // --metrics_port; -1 = off, 0 = pick one
  int threads = 0;                        // --threads; 0 = physical cores
  std::string device = "cpu";             // --device: "cpu" or "cuda[:N]"
  int64_t kv_cache_mib = 1024;            // --kv_cache_mib: KV pool budget
  int max_context = 0;                    // --max_context: tokens per sequence; 0 = model's
  int max_queued_requests = 256;          // --max_queued_requests
  int64_t max_queued_prompt_tokens = int64_t{1} << 20;  // --max_queued_prompt_tokens
  int max_running = 64;                   // --max_running: sequences in a batch
  int max_sessions = 1024;                // --max_sessions
  absl::Duration session_idle_ttl = absl::Minutes(30);  // --session_idle_ttl
  int max_prompt_bytes = 1 << 20;         // --max_prompt_bytes
  int max_message_bytes = 4 << 20;        // --max_message_bytes: gRPC receive limit
  int max_concurrent_streams = 256;       // --max_concurrent_streams per connection
  std::string api_keys_file;              // --api_keys_file
  std::string api_keys;                   // SMOLLM_API_KEYS: comma-separated keys
  std::string tls_cert;                   // --tls_cert (PEM); TLS when both are given
  std::string tls_key;                    // --tls_key (PEM)
  absl::Duration drain_timeout = absl::Seconds(30);  // --drain_timeout
  std::string log_level = "info";         // --log_level: debug, info, warning, error
  bool reflection = true;                 // --reflection: grpc.reflection.v1alpha
  std::string replica_name;               // --replica_name; default: the host name
  absl::Duration keepalive_time = absl::Seconds(60);      // --keepalive_time
  absl::Duration keepalive_timeout = absl::Seconds(20);   // --keepalive_timeout
  int token_buffer = 64;                  // --token_buffer: tokens buffered per stream
};

// InvalidArgument naming the flag for a value out of range or a bad combination
// (e.g. only one of --tls_cert/--tls_key); FailedPrecondition for --device cuda[:N] when
// this build has no CUDA backend (SMOLLM_WITH_CUDA) or this machine no such device.
absl::Status ValidateServerOptions(const ServerOptions& options);

// The compute device of --device: "cpu", "cuda" (device 0) or "cuda:N".
struct DeviceChoice {
  bool cuda = false;
  int ordinal = 0;
};
// InvalidArgument naming --device for anything else.
absl::StatusOr<DeviceChoice> ParseDevice(absl::string_view device);

// The backend that --device names, for `config`'s model: the CPU backend on `pool` (which
// must outlive it), or the CUDA backend on the chosen device (FailedPrecondition when the
// build or the machine has none).
absl::StatusOr<std::unique_ptr<runtime::Backend>> CreateBackend(const ServerOptions& options,
                                                                const runtime::ModelConfig& config,
                                                                runtime::ThreadPool& pool);

// "host:port" for a host that may be an IPv6 literal.
std::string JoinHostPort(const std::string& host, int port);

// Physical CPU cores of this machine (from /sys), at least 1.
int PhysicalCores();

// This machine's host name, "localhost" when unknown.
std::string HostName();

}  // namespace smollm::service

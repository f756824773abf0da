// ServerOptions validation and host helpers.
#include "service/server_options.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "service/json_log.h"
#ifdef SMOLLM_HAVE_CUDA
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/cuda_device.h"
#endif

namespace smollm::service {
namespace {

absl::Status Range(absl::string_view flag, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be in [", lo, ", ", hi, "], got ", value));
  }
  return absl::OkStatus();
}

// OK when this build serves on CUDA and device `ordinal` is present.
absl::Status CheckCudaDevice(const std::string& flag, int ordinal) {
#ifdef SMOLLM_HAVE_CUDA
  absl::StatusOr<std::vector<runtime::cuda::CudaDeviceInfo>> devices =
      runtime::cuda::ListCudaDevices();
  if (!devices.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--device ", flag, ": no usable CUDA device (", devices.status().message(), ")"));
  }
  if (ordinal >= static_cast<int>(devices->size())) {
    return absl::FailedPreconditionError(absl::StrCat("--device ", flag, ": this machine has ",
                                                      devices->size(), " CUDA device(s)"));
  }
  return absl::OkStatus();
#else
  (void)ordinal;
  return absl::FailedPreconditionError(absl::StrCat(
      "--device ", flag,
      ": this smollm-server was built without the CUDA backend (SMOLLM_WITH_CUDA); "
      "use --device cpu or a CUDA build"));
#endif
}

}  // namespace

absl::StatusOr<DeviceChoice> ParseDevice(absl::string_view device) {
  if (device == "cpu") return DeviceChoice{};
  if (device == "cuda") return DeviceChoice{true, 0};
  int ordinal = -1;
  absl::string_view number = device;
  if (absl::ConsumePrefix(&number, "cuda:") && !number.empty() && number.size() <= 3 &&
      number.find_first_not_of("0123456789") == absl::string_view::npos &&
      absl::SimpleAtoi(number, &ordinal)) {
    return DeviceChoice{true, ordinal};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--device must be 'cpu', 'cuda' or 'cuda:N' (N a device number), got '", device, "'"));
}

absl::StatusOr<std::unique_ptr<runtime::Backend>> CreateBackend(const ServerOptions& options,
                                                                const runtime::ModelConfig& config,
                                                                runtime::ThreadPool& pool) {
  absl::StatusOr<DeviceChoice> choice = ParseDevice(options.device);
  if (!choice.ok()) return choice.status();
  if (!choice->cuda) {
    return std::make_unique<runtime::CpuBackend>(pool, std::max(config.d_model, config.d_ffn));
  }
  if (absl::Status s = CheckCudaDevice(options.device, choice->ordinal); !s.ok()) return s;
#ifdef SMOLLM_HAVE_CUDA
  runtime::CudaBackendOptions cuda;
  cuda.device = choice->ordinal;
  absl::StatusOr<std::unique_ptr<runtime::CudaBackend>> backend =
      runtime::CudaBackend::Create(cuda);
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<runtime::Backend>(std::move(*backend));
#else
  return absl::InternalError("unreachable: CheckCudaDevice refuses CUDA in this build");
#endif
}

absl::Status ValidateServerOptions(const ServerOptions& o) {
  if (o.model_path.empty()) {
    return absl::InvalidArgumentError("--model (or SMOLLM_MODEL) is required: a GGUF file");
  }
  absl::StatusOr<DeviceChoice> device = ParseDevice(o.device);
  if (!device.ok()) return device.status();
  if (device->cuda) {
    if (absl::Status s = CheckCudaDevice(o.device, device->ordinal); !s.ok()) return s;
  }
  if (absl::Status s = Range("port", o.port, 0, 65535); !s.ok()) return s;
  if (absl::Status s = Range("metrics_port", o.metrics_port, -1, 65535); !s.ok()) return s;
  if (absl::Status s = Range("threads", o.threads, 0, 1024); !s.ok()) return s;
  if (absl::Status s = Range("kv_cache_mib", o.kv_cache_mib, 1, int64_t{1} << 22); !s.ok()) {
    return s;
  }
  if (absl::Status s = Range("max_context", o.max_context, 0, 1 << 20); !s.ok()) return s;
  if (absl::Status s = Range("max_queued_requests", o.max_queued_requests, 1, 1 << 20);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Range("max_queued_prompt_tokens", o.max_queued_prompt_tokens, 1,
                             int64_t{1} << 40);
      !s.ok()) {
    return s;
  }
  // A queue that cannot hold one full-context prompt would refuse it forever (the model's
  // context, with max_context 0, is checked when the engine starts).
  if (o.max_context > 0 && o.max_queued_prompt_tokens < o.max_context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_queued_prompt_tokens is ", o.max_queued_prompt_tokens,
        "; it must be at least --max_context (", o.max_context, ")"));
  }
  if (absl::Status s = Range("max_running", o.max_running, 1, 4096); !s.ok()) return s;
  if (absl::Status s = Range("max_sessions", o.max_sessions, 1, 1 << 24); !s.ok()) return s;
  if (absl::Status s = Range("max_prompt_bytes", o.max_prompt_bytes, 1, 1 << 30); !s.ok()) {
    return s;
  }
  if (absl::Status s = Range("max_message_bytes", o.max_message_bytes, 1024, 1 << 30);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Range("max_concurrent_streams", o.max_concurrent_streams, 1, 1 << 20);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Range("token_buffer", o.token_buffer, 1, 1 << 16); !s.ok()) return s;
  if (o.session_idle_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--session_idle_ttl must be positive");
  }
  if (o.drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--drain_timeout must not be negative");
  }
  if (o.keepalive_time <= absl::ZeroDuration() || o.keepalive_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--keepalive_time and --keepalive_timeout must be positive");
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together: give both or none");
  }
  LogLevel level;
  if (!ParseLogLevel(o.log_level, &level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_level must be debug, info, warning or error, got '", o.log_level,
                     "'"));
  }
  return absl::OkStatus();
}

std::string JoinHostPort(const std::string& host, int port) {
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

int PhysicalCores() {
  // Distinct (package, core) pairs of the online CPUs; hyperthreads share a core.
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0; cpu < 4096; ++cpu) {
    const std::string dir = absl::StrCat("/sys/devices/system/cpu/cpu", cpu, "/topology/");
    std::ifstream core(dir + "core_id"), package(dir + "physical_package_id");
    if (!core) break;
    std::string c, p;
    std::getline(core, c);
    std::getline(package, p);
    cores.emplace(p, c);
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace smollm::service

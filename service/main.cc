// smollm-server: flags -> model -> engine -> gRPC server; SIGTERM/SIGINT -> drain, exit 0.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "google/protobuf/stubs/logging.h"
#include "runtime/core/thread_pool.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "service/auth.h"
#include "service/call_observer.h"
#include "service/flags.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/server.h"

namespace smollm::service {
namespace {

// Sent to the signal thread by main itself when startup fails.
constexpr int kStopSignalThread = SIGUSR1;

int Fail(absl::string_view event, const absl::Status& status) {
  LogLine(LogLevel::kError, event)
      .Str("code", absl::StatusCodeToString(status.code()))
      .Str("message", status.message())
      .Emit();
  return 1;
}

runtime::EngineOptions EngineOptionsFrom(const ServerOptions& o) {
  runtime::EngineOptions e;
  e.kv_cache_bytes = static_cast<uint64_t>(o.kv_cache_mib) << 20;
  e.max_running = o.max_running;
  e.max_queued_requests = o.max_queued_requests;
  e.max_queued_prompt_tokens = o.max_queued_prompt_tokens;
  e.context_length = o.max_context;
  e.sessions.idle_ttl = o.session_idle_ttl;
  e.sessions.max_sessions = o.max_sessions;
  return e;
}

// The engine's gauges and counters into the metrics: once at once (so that the first
// scrape after "serving" sees the KV capacity), then every second.
class StatsPump {
 public:
  StatsPump(ServiceMetrics& metrics, const runtime::Engine& engine) {
    Publish(metrics, engine);
    thread_ = std::thread([this, &metrics, &engine] {
      while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) Publish(metrics, engine);
    });
  }
  ~StatsPump() {
    stop_.Notify();
    thread_.join();
  }

 private:
  static void Publish(ServiceMetrics& metrics, const runtime::Engine& engine) {
    const runtime::EngineStats stats = engine.Stats();
    metrics.UpdateEngineStats(stats);
    metrics.SessionsActive(stats.sessions);
  }

  absl::Notification stop_;
  std::thread thread_;
};

// Protobuf reports some rejected requests (e.g. a string field that is not UTF-8) by
// printing to stderr itself; route those lines into the JSON log so that every stderr line
// stays one JSON object.
void ProtobufLogToJson(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  const LogLevel ours = level >= google::protobuf::LOGLEVEL_ERROR     ? LogLevel::kError
                        : level >= google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarning
                                                                      : LogLevel::kInfo;
  LogLine(ours, "protobuf").Str("file", filename).Int("line", line).Str("message", message).Emit();
}

int Run(int argc, char** argv) {
  google::protobuf::SetLogHandler(&ProtobufLogToJson);
  // Signals are taken by one thread with sigwait: blocked here, before any thread exists,
  // so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, kStopSignalThread);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<ServerOptions> parsed = ParseServerFlags(argc, argv);
  if (!parsed.ok()) return Fail("bad_flags", parsed.status());
  const ServerOptions& options = *parsed;
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(options.log_level, &level);
  SetMinLogLevel(level);

  absl::StatusOr<ApiKeys> keys = ApiKeys::Load(options.api_keys_file, options.api_keys);
  if (!keys.ok()) return Fail("bad_api_keys", keys.status());
  if (!keys->enabled()) {
    LogLine(LogLevel::kWarning, "no_api_keys")
        .Str("message", "no API keys configured: every caller is accepted (anonymous)")
        .Emit();
  }

  CallObserver observer(nullptr);  // metrics join once the model is known

  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, *keys, observer);
  if (!server.ok()) return Fail("listen_failed", server.status());
  LogLine(LogLevel::kInfo, "loading")
      .Int("port", (*server)->port())
      .Str("model", options.model_path)
      .Emit();

  // A signal during loading still drains (there is nothing to drain yet) and exits 0.
  absl::Notification stop;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == kStopSignalThread) return;  // startup failed: nothing to drain
    LogLine(LogLevel::kInfo, "signal").Int("signal", sig).Emit();
    (*server)->Shutdown(options.drain_timeout);
    stop.Notify();
  });

  const absl::Time load_start = absl::Now();
  absl::StatusOr<std::unique_ptr<runtime::Model>> model = runtime::Model::Open(options.model_path);
  if (!model.ok()) {
    pthread_kill(signal_thread.native_handle(), kStopSignalThread);
    signal_thread.join();
    return Fail("model_failed", model.status());
  }
  if (!(*model)->chat_template().warning.empty()) {
    LogLine(LogLevel::kWarning, "chat_template").Str("message", (*model)->chat_template().warning).Emit();
  }
  const runtime::ModelConfig& c = (*model)->config();
  const int threads = options.threads > 0 ? options.threads : PhysicalCores();
  runtime::ThreadPool pool(threads);
  absl::StatusOr<std::unique_ptr<runtime::Backend>> backend = CreateBackend(options, c, pool);
  if (!backend.ok()) {
    pthread_kill(signal_thread.native_handle(), kStopSignalThread);
    signal_thread.join();
    return Fail("device_failed", backend.status());
  }
  absl::StatusOr<std::unique_ptr<runtime::Engine>> engine =
      runtime::Engine::Create(**model, **backend, EngineOptionsFrom(options));
  if (!engine.ok()) {
    pthread_kill(signal_thread.native_handle(), kStopSignalThread);
    signal_thread.join();
    return Fail("engine_failed", engine.status());
  }
  const absl::Duration load_time = absl::Now() - load_start;
  if (stop.HasBeenNotified()) {  // told to stop while loading
    signal_thread.join();
    return 0;
  }

  std::unique_ptr<ServiceMetrics> metrics;
  if (options.metrics_port >= 0) {
    MetricsOptions m;
    m.listen_address = JoinHostPort(options.host, options.metrics_port);
    m.model_name = c.name;
    m.architecture = std::string(runtime::ArchitectureName(c.arch));
    m.device = options.device;
    m.version = "0.1.0";
    absl::StatusOr<std::unique_ptr<ServiceMetrics>> created = ServiceMetrics::Create(m);
    if (!created.ok()) {
      pthread_kill(signal_thread.native_handle(), kStopSignalThread);
      signal_thread.join();
      return Fail("metrics_failed", created.status());
    }
    metrics = *std::move(created);
    observer.SetMetrics(metrics.get());
  }

  auto serving = std::make_unique<ServingContext>();
  serving->model = model->get();
  serving->engine = engine->get();
  serving->limits.max_prompt_bytes = options.max_prompt_bytes;
  serving->limits.vocab_size = c.vocab_size;
  serving->limits.context_length = (*engine)->scheduler_config().context_length;
  serving->model_info =
      BuildModelInfo(**model, serving->limits, options.device, options.max_queued_requests,
                     options.max_sessions, options.session_idle_ttl);
  std::unique_ptr<StatsPump> stats_pump;
  if (metrics != nullptr) {
    metrics->SetModelLoadTime(load_time);
    stats_pump = std::make_unique<StatsPump>(*metrics, **engine);
  }
  (*server)->SetReady(std::move(serving));
  LogLine(LogLevel::kInfo, "serving")
      .Int("port", (*server)->port())
      .Int("metrics_port", metrics != nullptr ? metrics->metrics_port() : -1)
      .Str("replica", options.replica_name)
      .Str("model", c.name)
      .Int("threads", threads)
      .Int("context_length", (*engine)->scheduler_config().context_length)
      .Bool("tls", !options.tls_cert.empty())
      .Bool("auth", keys->enabled())
      .Millis("load_ms", load_time)
      .Emit();

  stop.WaitForNotification();
  signal_thread.join();
  (*server)->Wait();
  stats_pump.reset();
  server->reset();  // before the engine it serves and the metrics it reports to
  observer.SetMetrics(nullptr);
  engine->reset();
  LogLine(LogLevel::kInfo, "exit").Emit();
  return 0;
}

}  // namespace
}  // namespace smollm::service

int main(int argc, char** argv) { return smollm::service::Run(argc, argv); }

// Runs the real smollm-server binary as a child process for the end-to-end tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace smollm::testing {

// One server process on loopback. Start() spawns it with `--host 127.0.0.1` and the
// given flags (port 0 and metrics port 0 unless the flags name them) and waits for its
// "serving" log line; a thread keeps reading its stderr (JSON lines) so that the pipe
// never fills. The destructor kills a process still running.
class ServerProcess {
 public:
  struct Options {
    std::string binary;               // the smollm-server executable
    std::string model;                // --model
    std::vector<std::string> flags;   // more flags, e.g. "--max_running=1"
    std::vector<std::string> env;     // "NAME=value" added to the environment
    int port = 0;                     // 0: let the server pick
    absl::Duration start_timeout = absl::Seconds(60);
  };

  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Spawns and waits for "serving". Fails with the server's last log lines when it exits
  // first or the timeout passes.
  absl::Status Start(const Options& options);

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  std::string target() const;  // "127.0.0.1:<port>"

  // Sends `signal` (SIGTERM: drain) without waiting.
  void Signal(int signal);
  // Waits for the process to end; its exit code, or 128 + signal when killed.
  // DeadlineExceeded after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGKILL and reap.
  void Kill();

  // VmRSS from /proc/<pid>/status, in KiB.
  absl::StatusOr<int64_t> RssKib() const;
  // GET /metrics over plain HTTP/1.0 from the metrics port: the body.
  absl::StatusOr<std::string> ScrapeMetrics() const;
  // Every stderr line so far, newline-separated.
  std::string Log() const;
  // Whether some stderr line so far contains `needle`.
  bool LogContains(const std::string& needle) const;

 private:
  void ReadStderr(int fd);

  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

// The value of a Prometheus sample `name{labels}` (labels exactly as exposed, e.g.
// `state="used"`; "" for none) in a text exposition; NotFound when absent.
absl::StatusOr<double> MetricValue(const std::string& exposition, const std::string& name,
                                   const std::string& labels = "");

}  // namespace smollm::testing

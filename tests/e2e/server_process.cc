// Implementation of ServerProcess: spawn, log capture, signals, RSS and /metrics.
#include "tests/e2e/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace smollm::testing {
namespace {

// The value after `"key":` in a one-line JSON object, spaces skipped; "" when absent.
// (Enough for the server's flat log lines; std::regex trips GCC 12's -O1 warnings.)
std::string JsonValue(const std::string& line, const std::string& key) {
  const std::string quoted = "\"" + key + "\"";
  size_t at = line.find(quoted);
  if (at == std::string::npos) return "";
  at = line.find_first_not_of(' ', at + quoted.size());
  if (at == std::string::npos || line[at] != ':') return "";
  at = line.find_first_not_of(' ', at + 1);
  if (at == std::string::npos) return "";
  const size_t end = line.find_first_of(",}", at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

int JsonInt(const std::string& line, const std::string& key) {
  int value = -1;
  return absl::SimpleAtoi(JsonValue(line, key), &value) ? value : -1;
}

bool IsServingLine(const std::string& line) { return JsonValue(line, "event") == "\"serving\""; }

}  // namespace

ServerProcess::~ServerProcess() { Kill(); }

std::string ServerProcess::target() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status ServerProcess::Start(const Options& options) {
  if (pid_ > 0) return absl::FailedPreconditionError("ServerProcess: already started");
  std::vector<std::string> args = {options.binary, "--model=" + options.model,
                                   "--host=127.0.0.1", absl::StrCat("--port=", options.port),
                                   "--metrics_port=0"};
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return absl::InternalError(absl::StrCat("spawn ", options.binary, ": ", std::strerror(rc)));
  }
  pid_ = pid;
  {
    absl::MutexLock lock(&mu_);
    lines_.clear();
    eof_ = false;
  }
  reader_ = std::thread([this, fd = pipe_fds[0]] { ReadStderr(fd); });

  absl::MutexLock lock(&mu_);
  auto serving_or_eof = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (eof_) return true;
    for (const std::string& line : lines_) {
      if (IsServingLine(line)) return true;
    }
    return false;
  };
  mu_.AwaitWithTimeout(absl::Condition(&serving_or_eof), options.start_timeout);
  for (const std::string& line : lines_) {
    if (!IsServingLine(line)) continue;
    port_ = JsonInt(line, "port");
    metrics_port_ = JsonInt(line, "metrics_port");
    if (port_ > 0) return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat("smollm-server did not report serving; its log:\n",
                                             absl::StrJoin(lines_, "\n")));
}

void ServerProcess::ReadStderr(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<size_t>(n));
    size_t newline;
    while ((newline = partial.find('\n')) != std::string::npos) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(partial.substr(0, newline));
      partial.erase(0, newline + 1);
    }
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

absl::StatusOr<int> ServerProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("ServerProcess: not running");
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("smollm-server did not exit in time");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void ServerProcess::Kill() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<int64_t> ServerProcess::RssKib() const {
  std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    int64_t kib = 0;
    if (fields >> kib) return kib;
  }
  return absl::NotFoundError("no VmRSS for the server process");
}

absl::StatusOr<std::string> ServerProcess::ScrapeMetrics() const {
  if (metrics_port_ <= 0) return absl::FailedPreconditionError("no metrics port");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(metrics_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to metrics port ", metrics_port_));
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::InternalError("write to metrics port failed");
  }
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos ||
      response.find(" 200 ") == std::string::npos) {
    return absl::InternalError("bad /metrics response: " + response.substr(0, 200));
  }
  return response.substr(body + 4);
}

std::string ServerProcess::Log() const {
  absl::MutexLock lock(&mu_);
  return absl::StrJoin(lines_, "\n");
}

bool ServerProcess::LogContains(const std::string& needle) const {
  absl::MutexLock lock(&mu_);
  for (const std::string& line : lines_) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

absl::StatusOr<double> MetricValue(const std::string& exposition, const std::string& name,
                                   const std::string& labels) {
  const std::string key = labels.empty() ? name : absl::StrCat(name, "{", labels, "}");
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0 ||
        line[key.size()] != ' ') {
      continue;
    }
    double value = 0;
    std::string number = line.substr(key.size() + 1);
    if (size_t space = number.find(' '); space != std::string::npos) number.resize(space);
    if (!absl::SimpleAtod(number, &value)) {
      return absl::InvalidArgumentError("unparsable sample: " + line);
    }
    return value;
  }
  return absl::NotFoundError("no sample " + key);
}

}  // namespace smollm::testing

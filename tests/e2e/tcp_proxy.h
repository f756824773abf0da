// A loopback TCP proxy whose connections a test can cut, to break gRPC streams on demand.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace smollm::testing {

// Forwards every connection accepted on 127.0.0.1:port() to 127.0.0.1:upstream_port.
// CutAll() resets the connections open now; the proxy keeps accepting new ones, so a
// client sees its streams fail and can reconnect through the same address.
class TcpProxy {
 public:
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  void CutAll();

 private:
  TcpProxy(int listen_fd, int port, int upstream_port);
  void AcceptLoop();

  const int listen_fd_;
  const int port_;
  const int upstream_port_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);  // both ends of every connection
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace smollm::testing

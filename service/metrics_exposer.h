// The HTTP endpoint serving /metrics: prometheus-cpp's exposer behind statuses, with a
// prompt shutdown.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace prometheus {
class Collectable;
class Exposer;
}  // namespace prometheus

namespace smollm::service {

// Owns a civetweb listener (2 threads) that renders `collectable` on GET /metrics.
class MetricsExposer {
 public:
  // listen_address: "host:port", port 0..65535 (0 picks a free port); IPv6 hosts in
  // brackets. InvalidArgument for any other form; Unavailable when nothing can listen
  // there (address in use, not an address of this machine). The collectable is held
  // weakly: once it is gone the endpoint serves nothing.
  static absl::StatusOr<std::unique_ptr<MetricsExposer>> Start(
      const std::string& listen_address, std::weak_ptr<prometheus::Collectable> collectable);
  // Stops the listener within milliseconds (see metrics_exposer.cc).
  ~MetricsExposer();
  MetricsExposer(const MetricsExposer&) = delete;
  MetricsExposer& operator=(const MetricsExposer&) = delete;

  int port() const { return port_; }  // the bound port

 private:
  MetricsExposer() = default;

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;  // the host part of the listen address, brackets removed
  int port_ = 0;
};

// Checks the form of a listen address as Start does; InvalidArgument naming the field.
absl::Status ValidateListenAddress(const std::string& listen_address);

}  // namespace smollm::service

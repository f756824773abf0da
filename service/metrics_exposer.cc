// prometheus-cpp's HTTP exposer behind statuses, stopped without civetweb's 2 s stall.
#include "service/metrics_exposer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace smollm::service {
namespace {

// Splits "host:port" / "[v6]:port"; false when the form is wrong.
bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const absl::string_view port_text = absl::string_view(address).substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port_text, port) || *port > 65535) {
    return false;
  }
  *host = address.substr(0, colon);
  if (host->front() == '[') {
    if (host->size() < 3 || host->back() != ']') return false;
    *host = host->substr(1, host->size() - 2);
  }
  return true;
}

// Opens and closes one TCP connection to host:port (numeric host; the wildcard
// addresses mean loopback). Failures are ignored: this only wakes a listener.
void Knock(const std::string& host, int port) {
  sockaddr_storage storage{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return;  // a host name: no knock, the stop takes up to civetweb's quantum
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)::connect(fd, reinterpret_cast<const sockaddr*>(&storage), len);
  ::close(fd);
}

}  // namespace

absl::Status ValidateListenAddress(const std::string& listen_address) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen_address, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listen_address \"", listen_address,
                     "\" must be host:port (IPv6 host in brackets) with a port in 0..65535"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(
    const std::string& listen_address, std::weak_ptr<prometheus::Collectable> collectable) {
  if (absl::Status st = ValidateListenAddress(listen_address); !st.ok()) return st;
  std::unique_ptr<MetricsExposer> exposer(new MetricsExposer());
  SplitHostPort(listen_address, &exposer->host_, &exposer->port_);
  const auto unavailable = [&](absl::string_view why) {
    return absl::UnavailableError(
        absl::StrCat("metrics listen_address \"", listen_address, "\": ", why));
  };
  std::vector<int> ports;
  try {  // civetweb throws when it cannot listen; we return statuses
    exposer->exposer_ = std::make_unique<prometheus::Exposer>(listen_address, /*num_threads=*/2);
    exposer->exposer_->RegisterCollectable(collectable);
    ports = exposer->exposer_->GetListeningPorts();
  } catch (const std::exception& e) {
    exposer->exposer_.reset();
    return unavailable(absl::StrCat("cannot listen: ", e.what()));
  }
  if (ports.empty() || ports.front() <= 0) return unavailable("no listening port");
  exposer->port_ = ports.front();
  return exposer;
}

// civetweb's listener thread polls its sockets in 2 s quanta and sees the stop flag only
// between polls, so a bare ~Exposer takes up to 2 s (per server, per test). Connections
// made while it stops end the poll at once.
MetricsExposer::~MetricsExposer() {
  if (exposer_ == nullptr) return;
  std::atomic<bool> stopped{false};
  std::thread knocker([this, &stopped] {
    while (!stopped.load(std::memory_order_acquire)) {
      Knock(host_, port_);
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  exposer_.reset();
  stopped.store(true, std::memory_order_release);
  knocker.join();
}

}  // namespace smollm::service

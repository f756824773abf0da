// Prometheus text-format parser and a minimal HTTP/1.0 GET, for the service tests.
#include "tests/unit/service_metrics/prometheus_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace smollm::testing {
namespace {

absl::string_view Abs(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool NameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }

// Reads a metric or label name at s[*i].
std::string ReadName(std::string_view s, size_t* i) {
  const size_t start = *i;
  while (*i < s.size() && NameChar(s[*i])) ++*i;
  return std::string(s.substr(start, *i - start));
}

// Splits at `sep` into at most `max_parts` pieces (the last keeps the rest), dropping
// empty pieces when `skip_empty`. (absl::StrSplit takes no std::string_view here.)
std::vector<std::string_view> Split(std::string_view s, char sep, bool skip_empty,
                                    size_t max_parts = std::string_view::npos) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = s.find(sep);
    if (at == std::string_view::npos) break;
    if (!skip_empty || at > 0) parts.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  if (!skip_empty || !s.empty()) parts.push_back(s);
  return parts;
}

void SkipSpaces(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t')) ++*i;
}

// Unescapes \\, \" and \n (label values; help text has no \").
std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    switch (s[i]) {
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case 'n': out.push_back('\n'); break;
      default: return std::nullopt;
    }
  }
  return out;
}

// {name="value",...} starting at s[*i] == '{'; a trailing comma is allowed.
bool ReadLabels(std::string_view s, size_t* i, PromLabels* labels) {
  ++*i;
  for (;;) {
    SkipSpaces(s, i);
    if (*i < s.size() && s[*i] == '}') {
      ++*i;
      return true;
    }
    const std::string name = ReadName(s, i);
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    SkipSpaces(s, i);
    if (*i + 1 >= s.size() || s[*i] != '=' || s[*i + 1] != '"') return false;
    *i += 2;
    const size_t start = *i;
    while (*i < s.size() && s[*i] != '"') *i += s[*i] == '\\' ? 2 : 1;
    if (*i >= s.size()) return false;
    std::optional<std::string> value = Unescape(s.substr(start, *i - start));
    if (!value.has_value() || !labels->emplace(name, *std::move(value)).second) return false;
    ++*i;
    SkipSpaces(s, i);
    if (*i < s.size() && s[*i] == ',') ++*i;
    else if (*i >= s.size() || s[*i] != '}') return false;
  }
}

std::optional<double> ParseValue(std::string_view token) {
  if (token == "+Inf" || token == "Inf") return std::numeric_limits<double>::infinity();
  if (token == "-Inf") return -std::numeric_limits<double>::infinity();
  if (token == "NaN") return std::numeric_limits<double>::quiet_NaN();
  const std::string copy(token);
  if (copy.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

absl::Status LineError(size_t line_no, std::string_view line, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line_no, " \"", Abs(line), "\": ", Abs(what)));
}

// "# HELP name text" / "# TYPE name type"; other comments are ignored.
absl::Status ParseComment(std::string_view line, size_t line_no, PromExposition* out) {
  const std::vector<std::string_view> parts = Split(line, ' ', /*skip_empty=*/true, 4);
  if (parts.size() < 3 || (parts[1] != "HELP" && parts[1] != "TYPE")) return absl::OkStatus();
  const std::string family(parts[2]);
  const std::string_view rest = parts.size() > 3 ? parts[3] : std::string_view();
  if (parts[1] == "HELP") {
    std::optional<std::string> help = Unescape(rest);
    if (!help.has_value()) return LineError(line_no, line, "bad escape in HELP");
    out->help[family] = *std::move(help);
    return absl::OkStatus();
  }
  static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
  if (kTypes.count(rest) == 0) return LineError(line_no, line, "unknown TYPE");
  if (!out->type.emplace(family, std::string(rest)).second) {
    return LineError(line_no, line, "second TYPE line for the family");
  }
  return absl::OkStatus();
}

bool Includes(const PromLabels& have, const PromLabels& want) {
  return std::all_of(want.begin(), want.end(), [&](const auto& kv) {
    auto it = have.find(kv.first);
    return it != have.end() && it->second == kv.second;
  });
}

}  // namespace

absl::StatusOr<PromExposition> ParsePrometheusText(std::string_view text) {
  PromExposition out;
  std::set<std::pair<std::string, PromLabels>> seen;
  size_t line_no = 0;
  for (std::string_view line : Split(text, '\n', /*skip_empty=*/false)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t i = 0;
    SkipSpaces(line, &i);
    if (i == line.size()) continue;
    if (line[i] == '#') {
      if (absl::Status st = ParseComment(line.substr(i), line_no, &out); !st.ok()) return st;
      continue;
    }
    PromSample sample;
    sample.name = ReadName(line, &i);
    if (sample.name.empty() || std::isdigit(static_cast<unsigned char>(sample.name[0]))) {
      return LineError(line_no, line, "bad metric name");
    }
    if (i < line.size() && line[i] == '{' && !ReadLabels(line, &i, &sample.labels)) {
      return LineError(line_no, line, "bad label set");
    }
    SkipSpaces(line, &i);
    const std::vector<std::string_view> fields = Split(line.substr(i), ' ', /*skip_empty=*/true);
    if (fields.empty() || fields.size() > 2) return LineError(line_no, line, "want value [ts]");
    std::optional<double> value = ParseValue(fields[0]);
    int64_t timestamp = 0;
    if (!value.has_value()) return LineError(line_no, line, "bad value");
    if (fields.size() == 2 && !absl::SimpleAtoi(Abs(fields[1]), &timestamp)) {
      return LineError(line_no, line, "bad timestamp");
    }
    sample.value = *value;
    if (!seen.emplace(sample.name, sample.labels).second) {
      return LineError(line_no, line, "repeated sample");
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

std::vector<const PromSample*> PromExposition::Find(std::string_view name,
                                                    const PromLabels& labels) const {
  std::vector<const PromSample*> found;
  for (const PromSample& s : samples) {
    if (s.name == name && Includes(s.labels, labels)) found.push_back(&s);
  }
  return found;
}

std::optional<double> PromExposition::Value(std::string_view name,
                                            const PromLabels& labels) const {
  std::vector<const PromSample*> found = Find(name, labels);
  if (found.size() != 1) return std::nullopt;
  return found[0]->value;
}

double PromExposition::Total(std::string_view name, const PromLabels& labels) const {
  double total = 0;
  for (const PromSample* s : Find(name, labels)) total += s->value;
  return total;
}

absl::StatusOr<PromHistogram> PromExposition::Histogram(std::string_view name,
                                                        const PromLabels& labels) const {
  const std::string base(name);
  PromHistogram h;
  bool have_sum = false, have_count = false;
  for (const PromSample& s : samples) {
    PromLabels rest = s.labels;
    if (s.name == base + "_bucket") {
      auto le = rest.find("le");
      if (le == rest.end()) return absl::FailedPreconditionError(base + "_bucket without le");
      std::optional<double> bound = ParseValue(le->second);
      if (!bound.has_value()) return absl::FailedPreconditionError("bad le " + le->second);
      rest.erase(le);
      if (rest == labels) h.buckets.emplace_back(*bound, s.value);
    } else if (s.name == base + "_sum" && rest == labels) {
      h.sum = s.value;
      have_sum = true;
    } else if (s.name == base + "_count" && rest == labels) {
      h.count = s.value;
      have_count = true;
    }
  }
  if (h.buckets.empty() && !have_sum && !have_count) {
    return absl::NotFoundError("no histogram " + base);
  }
  std::sort(h.buckets.begin(), h.buckets.end());
  if (!have_sum || !have_count || h.buckets.empty() || !std::isinf(h.buckets.back().first)) {
    return absl::FailedPreconditionError(base + ": missing _sum, _count or the +Inf bucket");
  }
  for (size_t i = 1; i < h.buckets.size(); ++i) {
    if (h.buckets[i].second < h.buckets[i - 1].second) {
      return absl::FailedPreconditionError(base + ": buckets are not cumulative");
    }
  }
  if (h.buckets.back().second != h.count) {
    return absl::FailedPreconditionError(base + ": +Inf bucket differs from _count");
  }
  return h;
}

absl::StatusOr<std::string> HttpGet(int port, std::string_view path, absl::Duration timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const timeval tv = absl::ToTimeval(timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to 127.0.0.1:", port));
  }
  const std::string request =
      absl::StrCat("GET ", Abs(path), " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError("send failed");
    sent += static_cast<size_t>(n);
  }
  // HTTP/1.0 without keep-alive: the reply ends when the server closes the connection.
  std::string reply;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0 || absl::Now() > deadline) return absl::UnavailableError("no complete reply");
    reply.append(buf, static_cast<size_t>(n));
  }
  const size_t header_end = reply.find("\r\n\r\n");
  if (header_end == std::string::npos) return absl::InternalError("reply without headers");
  const std::string_view status_line = std::string_view(reply).substr(0, reply.find("\r\n"));
  const std::vector<std::string_view> status = Split(status_line, ' ', /*skip_empty=*/true);
  if (status.size() < 2 || status[0].substr(0, 5) != "HTTP/" || status[1] != "200") {
    return absl::InternalError(absl::StrCat("reply: ", Abs(status_line)));
  }
  return reply.substr(header_end + 4);
}

absl::StatusOr<PromExposition> Scrape(int port) {
  absl::StatusOr<std::string> body = HttpGet(port, "/metrics");
  if (!body.ok()) return body.status();
  return ParsePrometheusText(*body);
}

}  // namespace smollm::testing

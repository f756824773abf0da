// Structured JSON log lines on stderr.
#include "service/json_log.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace smollm::service {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
absl::Mutex g_sink_mu;
std::string* g_sink ABSL_GUARDED_BY(g_sink_mu) = nullptr;

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
size_t Utf8Length(absl::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "debug") *level = LogLevel::kDebug;
  else if (t == "info") *level = LogLevel::kInfo;
  else if (t == "warning" || t == "warn") *level = LogLevel::kWarning;
  else if (t == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

void SetMinLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
      ++i;
    } else if (c == '\n') {
      out += "\\n", ++i;
    } else if (c == '\t') {
      out += "\\t", ++i;
    } else if (c == '\r') {
      out += "\\r", ++i;
    } else if (u < 0x20 || u == 0x7F) {
      absl::StrAppendFormat(&out, "\\u%04x", u), ++i;
    } else if (size_t n = Utf8Length(text, i); n > 0) {
      out.append(text.data() + i, n);
      i += n;
    } else {
      absl::StrAppendFormat(&out, "\\u%04x", u), ++i;
    }
  }
  return out;
}

LogLine::LogLine(LogLevel level, absl::string_view event) : level_(level) {
  line_ = absl::StrCat("{\"level\":\"", LevelName(level), "\",\"ts\":\"",
                       absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                       "\",\"event\":\"", JsonEscape(event), "\"");
}

LogLine& LogLine::RequestId(absl::string_view id) { return Str("request_id", id); }

LogLine& LogLine::Str(absl::string_view key, absl::string_view value) {
  absl::StrAppend(&line_, ",\"", JsonEscape(key), "\":\"", JsonEscape(value), "\"");
  return *this;
}

LogLine& LogLine::Int(absl::string_view key, int64_t value) {
  absl::StrAppend(&line_, ",\"", JsonEscape(key), "\":", value);
  return *this;
}

LogLine& LogLine::Num(absl::string_view key, double value) {
  if (!std::isfinite(value)) return Str(key, absl::StrCat(value));
  absl::StrAppend(&line_, ",\"", JsonEscape(key), "\":", absl::StrFormat("%.6g", value));
  return *this;
}

LogLine& LogLine::Bool(absl::string_view key, bool value) {
  absl::StrAppend(&line_, ",\"", JsonEscape(key), "\":", value ? "true" : "false");
  return *this;
}

LogLine& LogLine::Millis(absl::string_view key, absl::Duration value) {
  return Num(key, absl::ToDoubleMilliseconds(value));
}

void LogLine::Emit() {
  if (!LogEnabled(level_)) return;
  line_ += "}\n";
  absl::MutexLock lock(&g_sink_mu);
  if (g_sink != nullptr) {
    g_sink->append(line_.data(), line_.size() - 1);
    g_sink->push_back('\n');
    return;
  }
  // One write per line, so lines from concurrent threads never interleave.
  size_t done = 0;
  while (done < line_.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line_.data() + done, line_.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

void SetLogSinkForTest(std::string* sink) {
  absl::MutexLock lock(&g_sink_mu);
  g_sink = sink;
}

}  // namespace smollm::service

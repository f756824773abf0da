// Structured logs: one JSON object per line on stderr (level, ts, event, request_id, fields).
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smollm::service {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning"/"warn", "error" (case-insensitive); false for anything else.
bool ParseLogLevel(absl::string_view text, LogLevel* level);
// Lines below `level` are dropped. Default kInfo. Thread-safe.
void SetMinLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// Escapes `text` as the inside of a JSON string (control characters as \uXXXX; invalid
// UTF-8 bytes as \u00XX so that a log line is always valid JSON).
std::string JsonEscape(absl::string_view text);

// Builds one log line; Emit() writes it atomically (one write(2) per line) to stderr, or
// to the sink set by SetLogSinkForTest. Usage:
//   LogLine(LogLevel::kInfo, "serving").Int("port", 50051).Emit();
// Never pass secrets (API keys) as fields.
class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view event);
  LogLine& RequestId(absl::string_view id);
  LogLine& Str(absl::string_view key, absl::string_view value);
  LogLine& Int(absl::string_view key, int64_t value);
  LogLine& Num(absl::string_view key, double value);
  LogLine& Bool(absl::string_view key, bool value);
  LogLine& Millis(absl::string_view key, absl::Duration value);  // a number, "<key>" in ms
  void Emit();

 private:
  LogLevel level_;
  std::string line_;
};

// Tests capture lines: every emitted line (without its newline) is appended to `*sink`
// instead of going to stderr; nullptr restores stderr.
void SetLogSinkForTest(std::string* sink);

}  // namespace smollm::service

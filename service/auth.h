// API keys: `authorization: Bearer <key>` metadata -> a principal (a stable, non-secret name).
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smollm::service {

// The principal of every call when no keys are configured.
inline constexpr absl::string_view kAnonymousPrincipal = "anonymous";

// Immutable after Load; thread-safe. Keys are kept only as SHA-256 digests, and a
// principal is "key-" + the first 8 hex digits of its key's digest: stable across
// restarts and replicas, safe to log, and sessions are owned by it.
class ApiKeys {
 public:
  // Keys from `file` (one per line; blank lines and lines starting with # are skipped;
  // surrounding whitespace trimmed) and from `inline_keys` (comma-separated, e.g. the
  // SMOLLM_API_KEYS environment variable). Both empty = no authentication.
  // NotFound / PermissionDenied when the file cannot be read; InvalidArgument for a key
  // with whitespace inside or shorter than 8 characters (the message gives the line,
  // never the key).
  static absl::StatusOr<ApiKeys> Load(const std::string& file, absl::string_view inline_keys);
  static ApiKeys FromKeys(const std::vector<std::string>& keys);

  bool enabled() const { return !principals_.empty(); }
  size_t size() const { return principals_.size(); }

  // The principal for the value of the `authorization` header (absent: nullptr).
  // Without keys configured: kAnonymousPrincipal whatever is sent. UNAUTHENTICATED when
  // keys are configured and the header is missing, not "Bearer <key>", or the key is
  // unknown.
  absl::StatusOr<std::string> Authenticate(const std::string* authorization) const;

  // "key-" + 8 hex digits of SHA-256(key).
  static std::string PrincipalOf(absl::string_view key);

 private:
  absl::flat_hash_map<std::string, std::string> principals_;  // sha256(key) -> principal
};

}  // namespace smollm::service

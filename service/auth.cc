// API key loading and bearer-token authentication.
#include "service/auth.h"

#include <openssl/sha.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace smollm::service {
namespace {

std::string Sha256(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::Status CheckKey(absl::string_view key, absl::string_view where) {
  if (key.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("API key ", where, " is shorter than 8 characters"));
  }
  for (char c : key) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("API key ", where, " holds whitespace or a non-printable character"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ApiKeys::PrincipalOf(absl::string_view key) {
  return absl::StrCat("key-", absl::BytesToHexString(Sha256(key)).substr(0, 8));
}

ApiKeys ApiKeys::FromKeys(const std::vector<std::string>& keys) {
  ApiKeys out;
  for (const std::string& key : keys) out.principals_[Sha256(key)] = PrincipalOf(key);
  return out;
}

absl::StatusOr<ApiKeys> ApiKeys::Load(const std::string& file, absl::string_view inline_keys) {
  std::vector<std::string> keys;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot read the API keys file '", file, "'"));
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      absl::string_view key = absl::StripAsciiWhitespace(line);
      if (key.empty() || absl::StartsWith(key, "#")) continue;
      if (absl::Status st = CheckKey(key, absl::StrCat("on line ", number, " of '", file, "'"));
          !st.ok()) {
        return st;
      }
      keys.emplace_back(key);
    }
  }
  int index = 0;
  for (absl::string_view part : absl::StrSplit(inline_keys, ',', absl::SkipWhitespace())) {
    absl::string_view key = absl::StripAsciiWhitespace(part);
    if (absl::Status st = CheckKey(key, absl::StrCat("#", index++, " of SMOLLM_API_KEYS"));
        !st.ok()) {
      return st;
    }
    keys.emplace_back(key);
  }
  return FromKeys(keys);
}

absl::StatusOr<std::string> ApiKeys::Authenticate(const std::string* authorization) const {
  if (!enabled()) return std::string(kAnonymousPrincipal);
  if (authorization == nullptr) {
    return absl::UnauthenticatedError(
        "this server requires an API key: send the metadata 'authorization: Bearer <key>'");
  }
  absl::string_view value = absl::StripAsciiWhitespace(*authorization);
  constexpr absl::string_view kBearer = "bearer ";
  if (value.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError(
        "the 'authorization' metadata must be 'Bearer <key>'");
  }
  const absl::string_view key = absl::StripAsciiWhitespace(value.substr(kBearer.size()));
  // Comparing digests in a hash table leaks nothing useful through timing: an attacker
  // would have to find preimages of the digest prefix being probed.
  auto it = principals_.find(Sha256(key));
  if (it == principals_.end()) return absl::UnauthenticatedError("unknown API key");
  return it->second;
}

}  // namespace smollm::service

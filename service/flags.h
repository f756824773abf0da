// Command-line flags of smollm-server, each with an environment-variable equivalent.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "service/server_options.h"

namespace smollm::service {

// Every flag --name may also come from the environment as SMOLLM_<NAME> (upper case);
// a flag given on the command line wins. SMOLLM_API_KEYS (comma-separated keys) has no
// flag, so keys never show in a process listing. Parses argv (exits on --help or an
// unknown flag, as absl does), then validates (ValidateServerOptions). Returns the
// positional arguments' count check as InvalidArgument.
absl::StatusOr<ServerOptions> ParseServerFlags(int argc, char** argv);

// The environment variable of flag `name` ("port" -> "SMOLLM_PORT").
std::string EnvNameOf(const std::string& flag_name);

}  // namespace smollm::service

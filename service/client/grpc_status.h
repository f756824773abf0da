// Conversion of gRPC call results into absl::Status, keeping the google.rpc details.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace smollm::service::client {

// The payload URL under which FromGrpc stores the serialized google.rpc.Status that the
// server sent in the trailers (grpc-status-details-bin), when it sent one.
inline constexpr char kRpcStatusPayloadUrl[] = "type.googleapis.com/google.rpc.Status";

// Same code and message; the rich details, if any, become a payload.
absl::Status FromGrpc(const grpc::Status& status);

// The google.rpc.Status details a failed call carried; nullopt when there are none.
std::optional<google::rpc::Status> RpcStatusDetails(const absl::Status& status);

// The RetryInfo delay of a RESOURCE_EXHAUSTED (or any) status; nullopt without one.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// The field paths of a google.rpc.BadRequest in the details, in order (empty without).
std::vector<std::string> BadRequestFields(const absl::Status& status);

// "INVALID_ARGUMENT: <message>", what the command-line client prints.
std::string Describe(const absl::Status& status);

}  // namespace smollm::service::client

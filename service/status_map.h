// The one map from absl::Status to grpc::Status, with google.rpc error details attached.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"
#include "grpcpp/support/status.h"

namespace smollm::service {

// Every error detail carries google.rpc.ErrorInfo with this domain.
inline constexpr absl::string_view kErrorDomain = "smollm.v1";

// Payloads that service code attaches to an absl::Status to steer the details:
// the request field a status is about (→ google.rpc.BadRequest), and an ErrorInfo reason
// more specific than the code's name (e.g. "SESSION_NOT_FOUND", "DRAINING").
inline constexpr absl::string_view kFieldPayloadUrl = "type.smollm.dev/field";
inline constexpr absl::string_view kReasonPayloadUrl = "type.smollm.dev/reason";

// InvalidArgument "<field>: <message>" carrying `field` (a proto field path such as
// "sampling.top_p") as its field payload.
absl::Status FieldError(absl::string_view field, absl::string_view message);

// `status` with `reason` as its ErrorInfo reason (UPPER_SNAKE_CASE). OK stays OK.
absl::Status WithReason(absl::Status status, absl::string_view reason);

// The gRPC code of an absl code (the numbering is the same; the map is explicit so that
// no other file depends on that).
grpc::StatusCode ToGrpcCode(absl::StatusCode code);

// The gRPC status for `status`: same message, and binary details holding a serialized
// google.rpc.Status with: ErrorInfo{reason (the reason payload or the code's name),
// domain kErrorDomain} always; BadRequest{field_violations[field, message]} for an
// InvalidArgument / OutOfRange with a field payload; RetryInfo{retry_delay} for every
// ResourceExhausted (the engine's hint, runtime RetryAfter, else 1 s). OK maps to
// grpc::Status::OK without details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// For a ResourceExhausted `status`, sets `delay` to its retry delay (the engine's hint,
// runtime RetryAfter, else 1 s; the RetryInfo that ToGrpcStatus attaches) and returns
// true; otherwise leaves `delay` as it is and returns false.
bool SetRetryDelay(const absl::Status& status, google::protobuf::Duration* delay);

// The google.rpc.Code number of `status` (for in-stream ChatError).
int32_t RpcCodeNumber(const absl::Status& status);

}  // namespace smollm::service

// absl::Status -> grpc::Status with google.rpc.Status details (ErrorInfo, BadRequest, RetryInfo).
#include "service/status_map.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "runtime/engine/admission.h"

namespace smollm::service {
namespace {

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);  // e.g. "INVALID_ARGUMENT"
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
  status.SetPayload(kFieldPayloadUrl, absl::Cord(field));
  return status;
}

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  if (!status.ok()) status.SetPayload(kReasonPayloadUrl, absl::Cord(reason));
  return status;
}

grpc::StatusCode ToGrpcCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return grpc::StatusCode::OK;
    case absl::StatusCode::kCancelled: return grpc::StatusCode::CANCELLED;
    case absl::StatusCode::kUnknown: return grpc::StatusCode::UNKNOWN;
    case absl::StatusCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case absl::StatusCode::kDeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case absl::StatusCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case absl::StatusCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case absl::StatusCode::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case absl::StatusCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case absl::StatusCode::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case absl::StatusCode::kAborted: return grpc::StatusCode::ABORTED;
    case absl::StatusCode::kOutOfRange: return grpc::StatusCode::OUT_OF_RANGE;
    case absl::StatusCode::kUnimplemented: return grpc::StatusCode::UNIMPLEMENTED;
    case absl::StatusCode::kInternal: return grpc::StatusCode::INTERNAL;
    case absl::StatusCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case absl::StatusCode::kDataLoss: return grpc::StatusCode::DATA_LOSS;
    case absl::StatusCode::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    default: break;
  }
  return grpc::StatusCode::UNKNOWN;
}

bool SetRetryDelay(const absl::Status& status, google::protobuf::Duration* delay) {
  if (status.code() != absl::StatusCode::kResourceExhausted) return false;
  const absl::Duration after = runtime::RetryAfter(status).value_or(absl::Seconds(1));
  const int64_t ms = absl::ToInt64Milliseconds(after);
  delay->set_seconds(ms / 1000);
  delay->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return true;
}

int32_t RpcCodeNumber(const absl::Status& status) {
  return static_cast<int32_t>(ToGrpcCode(status.code()));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const grpc::StatusCode code = ToGrpcCode(status.code());
  const std::string message(status.message());
  google::rpc::Status rich;
  rich.set_code(static_cast<int32_t>(code));
  rich.set_message(message);

  google::rpc::ErrorInfo info;
  auto reason = status.GetPayload(kReasonPayloadUrl);
  info.set_reason(reason.has_value() ? std::string(*reason) : CodeName(status.code()));
  info.set_domain(std::string(kErrorDomain));
  rich.add_details()->PackFrom(info);

  auto field = status.GetPayload(kFieldPayloadUrl);
  if (field.has_value() && (status.code() == absl::StatusCode::kInvalidArgument ||
                            status.code() == absl::StatusCode::kOutOfRange)) {
    google::rpc::BadRequest bad;
    google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
    v->set_field(std::string(*field));
    v->set_description(message);
    rich.add_details()->PackFrom(bad);
  }
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    // Every RESOURCE_EXHAUSTED says when to retry (the API promises it); limits without
    // an estimate of their own (the session cap) suggest a second.
    google::rpc::RetryInfo retry;
    SetRetryDelay(status, retry.mutable_retry_delay());
    rich.add_details()->PackFrom(retry);
  }
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace smollm::service

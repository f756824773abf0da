// The status map: every absl code to its gRPC code, and the google.rpc details decode.
#include "service/status_map.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "runtime/engine/admission.h"

namespace smollm::service {
namespace {

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status rich;
  EXPECT_TRUE(rich.ParseFromString(status.error_details()));
  return rich;
}

template <typename T>
bool Find(const google::rpc::Status& rich, T* out) {
  for (const auto& any : rich.details()) {
    if (any.UnpackTo(out)) return true;
  }
  return false;
}

TEST(StatusMapTest, EveryCodeMapsToTheSameNamedGrpcCode) {
  for (int c = 1; c <= 16; ++c) {
    const auto code = static_cast<absl::StatusCode>(c);
    const absl::Status status(code, absl::StrCat("message ", c));
    const grpc::Status g = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    EXPECT_EQ(g.error_message(), absl::StrCat("message ", c));
    EXPECT_EQ(RpcCodeNumber(status), c);
    const google::rpc::Status rich = Details(g);
    EXPECT_EQ(rich.code(), c);
    EXPECT_EQ(rich.message(), g.error_message());
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(Find(rich, &info)) << c;
    EXPECT_EQ(info.domain(), "smollm.v1");
    EXPECT_EQ(info.reason(), absl::StatusCodeToString(code));
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).error_details().empty());
}

TEST(StatusMapTest, FieldErrorsCarryABadRequest) {
  const grpc::Status g = ToGrpcStatus(FieldError("sampling.top_p", "must be in [0, 1], got 2"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(g.error_message(), "sampling.top_p: must be in [0, 1], got 2");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(Find(Details(g), &bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "sampling.top_p");
  // Without a field payload there is no BadRequest.
  google::rpc::BadRequest none;
  EXPECT_FALSE(Find(Details(ToGrpcStatus(absl::InvalidArgumentError("x"))), &none));
}

TEST(StatusMapTest, ResourceExhaustedCarriesRetryInfo) {
  runtime::SchedulerConfig config;
  config.max_queued_requests = 1;
  const absl::Status full =
      runtime::CheckQueueRoom(config, {1, 10}, 5, absl::Milliseconds(2500));
  ASSERT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(Find(Details(ToGrpcStatus(full)), &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
  // No hint: one second.
  ASSERT_TRUE(Find(Details(ToGrpcStatus(absl::ResourceExhaustedError("sessions"))), &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
}

TEST(StatusMapTest, ReasonOverride) {
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Find(Details(ToGrpcStatus(WithReason(absl::NotFoundError("gone"),
                                                   "SESSION_NOT_FOUND"))),
                   &info));
  EXPECT_EQ(info.reason(), "SESSION_NOT_FOUND");
  EXPECT_TRUE(WithReason(absl::OkStatus(), "X").ok());
}

}  // namespace
}  // namespace smollm::service

// Fuzzes request validation: arbitrary bytes parsed as a smollm.v1 request (byte 0 picks
// the message type: Generate, Chat, Tokenize, GetSession, DeleteSession), then every
// service/convert.* check the handlers run on it, with the handlers' field paths. A
// request either passes or gets InvalidArgument naming a field, carried to gRPC with its
// details; sampling that passes also passes the runtime's Validate, and validates
// again after its round trip through SamplingToProto (what GetSession reports).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "google/rpc/status.pb.h"
#include "runtime/core/status.h"
#include "runtime/sampling/sampling_params.h"
#include "service/convert.h"
#include "service/status_map.h"
#include "smollm/v1/inference.pb.h"

namespace smollm::fuzz {
namespace {

namespace v1 = ::smollm::v1;
using service::RequestLimits;

// Small limits, so that inputs of fuzzing size can reach them.
constexpr RequestLimits kLimits{.max_prompt_bytes = 512, .max_messages = 8,
                                .vocab_size = 49152, .context_length = 8192};

// Validation outcome: OK, or InvalidArgument "<field>: ..." that maps to a gRPC status
// with google.rpc details.
void CheckStatus(const absl::Status& status) {
  if (status.ok()) return;
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
             "validation error that is not InvalidArgument");
  FUZZ_CHECK(status.message().find(": ") != absl::string_view::npos,
             "validation error that names no field");
  const grpc::Status rpc = service::ToGrpcStatus(status);
  FUZZ_CHECK(rpc.error_code() == grpc::StatusCode::INVALID_ARGUMENT, "gRPC code differs");
  google::rpc::Status details;
  FUZZ_CHECK(details.ParseFromString(rpc.error_details()), "error details do not parse");
  FUZZ_CHECK(details.code() == service::RpcCodeNumber(status), "details code differs");
}

absl::Status Sampling(const v1::SamplingParams& proto, absl::string_view path,
                      runtime::SamplingParams* params) {
  absl::Status status = service::ApplySampling(proto, path, kLimits.vocab_size, params);
  if (status.ok()) {
    FUZZ_CHECK(runtime::Validate(*params, kLimits.vocab_size).ok(),
               "sampling passed the service but not the runtime's Validate");
    // What SamplingToProto reports (GetSession) must validate again to the same values.
    v1::SamplingParams echoed;
    service::SamplingToProto(*params, &echoed);
    runtime::SamplingParams again;
    FUZZ_CHECK(service::ApplySampling(echoed, path, kLimits.vocab_size, &again).ok(),
               "echoed sampling parameters fail validation");
    FUZZ_CHECK(again.max_tokens == params->max_tokens && again.top_k == params->top_k &&
                   again.stop_strings == params->stop_strings &&
                   again.logit_bias == params->logit_bias,
               "echoed sampling parameters differ");
  }
  return status;
}

absl::Status Generate(const v1::GenerateRequest& r) {
  RETURN_IF_ERROR(service::CheckPriority(r.priority()));
  if (!r.session_id().empty()) {
    RETURN_IF_ERROR(service::ParseSessionIdField(r.session_id(), "session_id").status());
  }
  if (r.has_messages()) {
    absl::StatusOr<std::vector<runtime::ChatMessage>> messages =
        service::MessagesFromProto(r.messages(), kLimits);
    RETURN_IF_ERROR(messages.status());
    FUZZ_CHECK(!messages->empty() && static_cast<int>(messages->size()) <= kLimits.max_messages,
               "message count outside the limits passed");
  } else {
    RETURN_IF_ERROR(service::CheckText(r.prompt(), "prompt", kLimits.max_prompt_bytes,
                                       /*allow_empty=*/false));
  }
  runtime::SamplingParams params;
  RETURN_IF_ERROR(Sampling(r.sampling(), "sampling", &params));
  return service::ApplyLogprobs(r.logprobs(), "logprobs", &params);
}

absl::Status Chat(const v1::ChatRequest& r) {
  runtime::SamplingParams params;
  if (r.has_open()) {
    const v1::OpenSession& open = r.open();
    RETURN_IF_ERROR(service::CheckText(open.system_prompt(), "open.system_prompt",
                                       kLimits.max_prompt_bytes, /*allow_empty=*/true));
    RETURN_IF_ERROR(Sampling(open.sampling(), "open.sampling", &params));
    if (!open.session_id().empty()) {
      RETURN_IF_ERROR(service::ParseSessionIdField(open.session_id(), "open.session_id").status());
    }
    for (int i = 0; i < open.history_size(); ++i) {
      RETURN_IF_ERROR(service::CheckText(open.history(i).content(),
                                         absl::StrCat("open.history[", i, "].content"),
                                         kLimits.max_prompt_bytes, /*allow_empty=*/true));
    }
  } else if (r.has_turn()) {
    RETURN_IF_ERROR(service::CheckText(r.turn().content(), "turn.content",
                                       kLimits.max_prompt_bytes, /*allow_empty=*/false));
    RETURN_IF_ERROR(Sampling(r.turn().sampling(), "turn.sampling", &params));
    RETURN_IF_ERROR(service::ApplyLogprobs(r.turn().logprobs(), "turn.logprobs", &params));
  }
  return absl::OkStatus();
}

absl::Status SessionId(const std::string& text) {
  absl::StatusOr<runtime::SessionId> id = service::ParseSessionIdField(text, "session_id");
  if (id.ok()) FUZZ_CHECK(id->ToString() == text, "session id does not print as parsed");
  return id.status();
}

}  // namespace
}  // namespace smollm::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // proto3 parsing refuses string fields that are not UTF-8 (as the server's does) and
  // logs each refusal: quiet, so that the fuzzer's own output stays readable.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smollm;
  if (size == 0) return 0;
  const uint8_t kind = data[0] % 5;
  const void* bytes = data + 1;
  const int n = static_cast<int>(size - 1);
  absl::Status status;
  switch (kind) {
    case 0: {
      v1::GenerateRequest r;
      if (!r.ParseFromArray(bytes, n)) return 0;
      status = fuzz::Generate(r);
      break;
    }
    case 1: {
      v1::ChatRequest r;
      if (!r.ParseFromArray(bytes, n)) return 0;
      status = fuzz::Chat(r);
      break;
    }
    case 2: {
      v1::TokenizeRequest r;
      if (!r.ParseFromArray(bytes, n)) return 0;
      status = service::CheckText(r.text(), "text", fuzz::kLimits.max_prompt_bytes,
                                  /*allow_empty=*/true);
      break;
    }
    case 3: {
      v1::GetSessionRequest r;
      if (!r.ParseFromArray(bytes, n)) return 0;
      status = fuzz::SessionId(r.session_id());
      break;
    }
    default: {
      v1::DeleteSessionRequest r;
      if (!r.ParseFromArray(bytes, n)) return 0;
      status = fuzz::SessionId(r.session_id());
      break;
    }
  }
  fuzz::CheckStatus(status);
  return 0;
}

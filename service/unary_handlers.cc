// The unary RPCs: Tokenize, Detokenize, GetModelInfo, GetSession, DeleteSession.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/tokenizer/utf8.h"
#include "service/convert.h"
#include "service/inference_service.h"
#include "service/request_builder.h"
#include "service/status_map.h"
#include "service/wire_check.h"

namespace smollm::service {
namespace {

// One unary call: admission, then Finish exactly once with the mapped status and the
// request log line. Deletes itself in Finish; the call's context is not touched after.
class UnaryCall {
 public:
  // An admitted call whose request did not parse (WireStatus) is not admitted: its
  // admission() holds the INVALID_ARGUMENT naming the field.
  UnaryCall(InferenceService& service, grpc::CallbackServerContext* context,
            const char* method, const google::protobuf::Message& request)
      : service_(service), reactor_(context->DefaultReactor()) {
    record_.request_id = service.observer().NextRequestId();
    record_.method = method;
    record_.started = absl::Now();
    record_.counted = service.observer().Started(method);
    admission_ = service.Admit(context);
    if (!admission_.ok()) return;
    record_.principal = admission_->principal;
    if (absl::Status wire = WireStatus(request); !wire.ok()) admission_ = wire;
  }

  const absl::StatusOr<Admission>& admission() const { return admission_; }
  // Finishes (and deletes) the call when it was not admitted.
  bool Rejected() {
    if (admission_.ok()) return false;
    Finish(admission_.status());
    return true;
  }
  // Admission, then the session id of `text` (field session_id); finishes the call and
  // returns nullopt when either fails.
  std::optional<runtime::SessionId> AdmitSession(const std::string& text) {
    if (Rejected()) return std::nullopt;
    absl::StatusOr<runtime::SessionId> id = ParseSessionIdField(text, "session_id");
    if (!id.ok()) {
      Finish(id.status());
      return std::nullopt;
    }
    record_.session_id = id->ToString();
    return *id;
  }
  const ServingContext& serving() const { return *admission_->serving; }
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

  void Finish(absl::Status status) {
    record_.status = status;
    grpc::ServerUnaryReactor* reactor = reactor_;
    service_.observer().Finished(record_);
    delete this;
    reactor->Finish(ToGrpcStatus(status));
  }

 private:
  InferenceService& service_;
  grpc::ServerUnaryReactor* reactor_;
  CallRecord record_;
  absl::StatusOr<Admission> admission_;
};

// Bytes -> valid UTF-8, each ill-formed subpart replaced by U+FFFD.
std::string ToValidUtf8(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t pos = 0; pos < bytes.size();) {
    uint32_t cp = 0;
    size_t len = 0;
    const runtime::Utf8Step step = runtime::DecodeUtf8Strict(bytes, pos, &cp, &len);
    if (step == runtime::Utf8Step::kValid) {
      out.append(bytes, pos, len);
    } else {
      runtime::AppendUtf8(0xFFFD, &out);
      if (step == runtime::Utf8Step::kIncomplete) len = bytes.size() - pos;
    }
    pos += std::max<size_t>(len, 1);
  }
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* context,
                                                     const v1::TokenizeRequest* request,
                                                     v1::TokenizeResponse* response) {
  auto* call = new UnaryCall(*this, context, "Tokenize", *request);
  grpc::ServerUnaryReactor* reactor = call->reactor();
  if (call->Rejected()) return reactor;
  // A megabyte of text takes a while to tokenize: off the reaction thread.
  work().Post([call, request, response] {
    const ServingContext& serving = call->serving();
    absl::Status status = CheckText(request->text(), "text", serving.limits.max_prompt_bytes,
                                    /*allow_empty=*/true);
    if (status.ok()) {
      std::vector<runtime::TokenId> ids = serving.model->tokenizer().Encode(
          request->text(),
          {.add_special = request->add_bos(), .parse_special = request->parse_special()});
      response->mutable_token_ids()->Add(ids.begin(), ids.end());
    }
    call->Finish(status);
  });
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::Detokenize(grpc::CallbackServerContext* context,
                                                       const v1::DetokenizeRequest* request,
                                                       v1::DetokenizeResponse* response) {
  auto* call = new UnaryCall(*this, context, "Detokenize", *request);
  grpc::ServerUnaryReactor* reactor = call->reactor();
  if (call->Rejected()) return reactor;
  const ServingContext& serving = call->serving();
  if (request->token_ids_size() > serving.limits.context_length) {
    call->Finish(FieldError("token_ids", absl::StrCat("has ", request->token_ids_size(),
                                                      " ids; the limit is the context length ",
                                                      serving.limits.context_length)));
    return reactor;
  }
  for (int i = 0; i < request->token_ids_size(); ++i) {
    const int32_t id = request->token_ids(i);
    if (id < 0 || id >= serving.limits.vocab_size) {
      call->Finish(FieldError(absl::StrCat("token_ids[", i, "]"),
                              absl::StrCat("token id ", id, " is outside the vocabulary [0, ",
                                           serving.limits.vocab_size, ")")));
      return reactor;
    }
  }
  std::vector<runtime::TokenId> ids(request->token_ids().begin(), request->token_ids().end());
  absl::StatusOr<std::string> text = serving.model->tokenizer().Decode(
      ids, {.render_special = !request->skip_special()});
  if (text.ok()) response->set_text(ToValidUtf8(*text));
  call->Finish(text.status());
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::GetModelInfo(grpc::CallbackServerContext* context,
                                                         const v1::GetModelInfoRequest* request,
                                                         v1::ModelInfo* response) {
  auto* call = new UnaryCall(*this, context, "GetModelInfo", *request);
  grpc::ServerUnaryReactor* reactor = call->reactor();
  if (call->admission().ok()) *response = call->serving().model_info;
  call->Finish(call->admission().status());
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::GetSession(grpc::CallbackServerContext* context,
                                                       const v1::GetSessionRequest* request,
                                                       v1::SessionInfo* response) {
  auto* call = new UnaryCall(*this, context, "GetSession", *request);
  grpc::ServerUnaryReactor* reactor = call->reactor();
  std::optional<runtime::SessionId> id = call->AdmitSession(request->session_id());
  if (!id.has_value()) return reactor;
  // The engine answers session calls between steps: wait off the reaction thread.
  work().Post([call, id = *id, response] {
    absl::StatusOr<runtime::SessionInfo> info =
        call->serving().engine->GetSession(id, call->admission()->principal);
    if (info.ok()) *response = SessionInfoToProto(*info);
    call->Finish(SessionStatus(info.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::DeleteSession(
    grpc::CallbackServerContext* context, const v1::DeleteSessionRequest* request,
    v1::DeleteSessionResponse*) {
  auto* call = new UnaryCall(*this, context, "DeleteSession", *request);
  grpc::ServerUnaryReactor* reactor = call->reactor();
  std::optional<runtime::SessionId> id = call->AdmitSession(request->session_id());
  if (!id.has_value()) return reactor;
  work().Post([this, call, id = *id] {
    absl::Status status =
        call->serving().engine->DeleteSession(id, call->admission()->principal);
    if (status.ok()) book().Forget(id);
    call->Finish(SessionStatus(status));
  });
  return reactor;
}

}  // namespace smollm::service

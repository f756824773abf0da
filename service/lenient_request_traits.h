// gRPC (de)serialization of the smollm.v1 request messages that hands a request protobuf
// cannot parse to the handler instead of dropping it. Included by the generated
// inference.grpc.pb.h (protoc's additional_header_includes, proto/CMakeLists.txt), so that
// every translation unit sees these specializations before gRPC instantiates any.
//
// Why: protobuf 3.21 fails the whole parse on invalid UTF-8 in a proto3 `string` (or on
// malformed wire data), and gRPC 1.51's callback server ignores the status Deserialize
// returns: a unary or server-streaming call is answered UNIMPLEMENTED with an empty
// message before any handler runs, and a bidi stream's read fails as if the client had
// half-closed. Here a failed parse still succeeds for gRPC: the message is left empty
// except for one unknown field, kUnparsedRequestField, holding the raw request bytes, and
// the handler turns that into INVALID_ARGUMENT naming the field (service/wire_check.h).
#pragma once

#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"
#include "smollm/v1/inference.pb.h"

namespace smollm::service {

// The field number that carries an unparsed request's bytes: the largest protobuf allows,
// which the API never uses. A client that sends it in a request that parses has it
// removed, so it cannot fake a parse failure.
inline constexpr int kUnparsedRequestField = 536870911;

// gRPC SerializationTraits for the request message T (a generated smollm.v1 message).
// Serialize is gRPC's own. Deserialize returns a status other than OK only where gRPC's
// does without looking at the bytes (no payload, an unreadable buffer); bytes that do
// not parse as T give OK with *msg cleared and carrying them in kUnparsedRequestField.
// Like gRPC's, it consumes (clears) the buffer.
template <class T>
class LenientRequestTraits {
 public:
  static grpc::Status Serialize(const grpc::protobuf::MessageLite& msg, grpc::ByteBuffer* bb,
                                bool* own_buffer) {
    return grpc::GenericSerialize<grpc::ProtoBufferWriter, T>(msg, bb, own_buffer);
  }

  static grpc::Status Deserialize(grpc::ByteBuffer* buffer, grpc::protobuf::MessageLite* msg) {
    if (buffer == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "No payload");
    T* request = static_cast<T*>(msg);
    bool parsed;
    {
      grpc::ProtoBufferReader reader(buffer);
      if (!reader.status().ok()) return reader.status();
      parsed = request->ParseFromZeroCopyStream(&reader);
    }
    const google::protobuf::Reflection* reflection = request->GetReflection();
    if (parsed) {
      if (!reflection->GetUnknownFields(*request).empty()) {
        reflection->MutableUnknownFields(request)->DeleteByNumber(kUnparsedRequestField);
      }
    } else {
      request->Clear();
      std::string bytes;
      grpc::Slice slice;
      if (buffer->DumpToSingleSlice(&slice).ok()) {
        bytes.assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      reflection->MutableUnknownFields(request)->AddLengthDelimited(kUnparsedRequestField,
                                                                    bytes);
    }
    buffer->Clear();
    return grpc::Status::OK;
  }
};

}  // namespace smollm::service

// One line per request message of smollm.v1.Inference.
namespace grpc {
template <>
class SerializationTraits<smollm::v1::GenerateRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::GenerateRequest> {};
template <>
class SerializationTraits<smollm::v1::ChatRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::ChatRequest> {};
template <>
class SerializationTraits<smollm::v1::TokenizeRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::TokenizeRequest> {};
template <>
class SerializationTraits<smollm::v1::DetokenizeRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::DetokenizeRequest> {};
template <>
class SerializationTraits<smollm::v1::GetModelInfoRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::GetModelInfoRequest> {};
template <>
class SerializationTraits<smollm::v1::GetSessionRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::GetSessionRequest> {};
template <>
class SerializationTraits<smollm::v1::DeleteSessionRequest>
    : public smollm::service::LenientRequestTraits<smollm::v1::DeleteSessionRequest> {};
}  // namespace grpc

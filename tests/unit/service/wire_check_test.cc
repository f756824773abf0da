// Requests protobuf cannot parse: the lenient gRPC traits keep them, FindWireProblem names
// the field (agreeing with protobuf's parser on random damage), WireStatus maps them.
#include "service/wire_check.h"

#include <random>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "service/lenient_request_traits.h"
#include "service/status_map.h"
#include "smollm/v1/inference.grpc.pb.h"
#include "tests/test_support.h"

namespace smollm::service {
namespace {

namespace v1 = ::smollm::v1;

// Wire bytes of one length-delimited field (field numbers and lengths below 128).
std::string Delimited(int number, const std::string& value) {
  EXPECT_LT(value.size(), 128u);
  return std::string(1, static_cast<char>(number << 3 | 2)) +
         std::string(1, static_cast<char>(value.size())) + value;
}

template <class T>
std::optional<WireProblem> Problem(const std::string& bytes) {
  return FindWireProblem(bytes, *T::descriptor());
}

TEST(WireCheckTest, NamesTheStringFieldAndTheByteOfInvalidUtf8) {
  auto p = Problem<v1::TokenizeRequest>(Delimited(1, "ab\xff\xfe"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "text");
  EXPECT_EQ(p->message, "invalid UTF-8 at byte 2");

  // GenerateRequest.messages (2) -> ChatMessages.messages (1) [1] -> content (2).
  const std::string good = Delimited(1, "user") + Delimited(2, "hi");
  const std::string bad = Delimited(1, "user") + Delimited(2, "caf\xc3");  // truncated é
  p = Problem<v1::GenerateRequest>(
      Delimited(2, Delimited(1, good) + Delimited(1, bad)));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "messages.messages[1].content");
  EXPECT_EQ(p->message, "invalid UTF-8 at byte 3");

  // SamplingParams.stop (11), the third string; a surrogate (ED A0 80).
  p = Problem<v1::GenerateRequest>(
      Delimited(1, "hi") +
      Delimited(3, Delimited(11, "a") + Delimited(11, "b") + Delimited(11, "x\xed\xa0\x80")));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "sampling.stop[2]");

  // Chat: a turn's content and an open's history.
  p = Problem<v1::ChatRequest>(Delimited(2, Delimited(1, "\x80")));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "turn.content");
  EXPECT_EQ(p->message, "invalid UTF-8 at byte 0");
  p = Problem<v1::ChatRequest>(Delimited(1, Delimited(5, Delimited(1, "us\xc0\xafr"))));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "open.history[0].role");
}

TEST(WireCheckTest, MalformedBytesNameTheInnermostKnownField) {
  // A length past the end of the request.
  auto p = Problem<v1::TokenizeRequest>(std::string("\x0a\x10" "ab", 4));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "text");
  EXPECT_TRUE(absl::StrContains(p->message, "passes the end")) << p->message;
  EXPECT_TRUE(absl::StrContains(p->message, "at byte 1")) << p->message;
  // A truncated varint inside sampling (temperature is float: top_k = 2 is a varint).
  p = Problem<v1::GenerateRequest>(Delimited(3, std::string("\x10\xff", 2)));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "sampling.top_k");
  EXPECT_TRUE(absl::StrContains(p->message, "malformed protobuf")) << p->message;
  // Broken tags at the top level belong to the request itself.
  for (const std::string& bytes : {std::string("\xff\xff", 2), std::string("\x0c", 1),
                                   std::string("\x07", 1), std::string("\x02\x00", 2)}) {
    p = Problem<v1::GetModelInfoRequest>(bytes);
    ASSERT_TRUE(p.has_value()) << ::testing::PrintToString(bytes);
    EXPECT_EQ(p->field, "");
  }
}

TEST(WireCheckTest, WhatTheParserAcceptsIsNoProblem) {
  v1::GenerateRequest request;
  request.set_prompt("caf\xc3\xa9 \xf0\x9f\x98\x80 a\0b");
  request.mutable_sampling()->add_stop("\xe2\x9c\x93");
  (*request.mutable_sampling()->mutable_logit_bias())[-7] = 1.5f;
  std::string bytes = request.SerializeAsString();
  // Unknown fields of every wire type, and a known string sent as a varint (the parser
  // keeps it as an unknown field).
  bytes += std::string("\xa0\x06\x05" "\xa9\x06" "12345678" "\xab\x06\xac\x06" "\x08\x01", 19);
  ASSERT_TRUE(v1::TokenizeRequest().ParseFromString(bytes));
  EXPECT_FALSE(Problem<v1::TokenizeRequest>(bytes).has_value());
  ASSERT_TRUE(v1::GenerateRequest().ParseFromString(request.SerializeAsString()));
  EXPECT_FALSE(Problem<v1::GenerateRequest>(request.SerializeAsString()).has_value());
}

// Random damage to valid requests: FindWireProblem finds a problem exactly when
// protobuf's parser rejects the bytes.
template <class T>
int Disagreements(const std::string& valid, int rounds, std::mt19937* rng, int* rejected) {
  int wrong = 0;
  for (int i = 0; i < rounds; ++i) {
    std::string bytes = valid;
    const int edits = 1 + static_cast<int>((*rng)() % 3);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const size_t at = (*rng)() % bytes.size();
      switch ((*rng)() % 4) {
        case 0: bytes[at] = static_cast<char>((*rng)()); break;
        case 1: bytes[at] = static_cast<char>(0x80 | (*rng)() % 0x80); break;
        case 2: bytes.resize(at); break;
        default: bytes.insert(at, 1, static_cast<char>((*rng)())); break;
      }
    }
    T parsed;
    const bool ok = parsed.ParseFromString(bytes);
    const std::optional<WireProblem> problem = Problem<T>(bytes);
    if (!ok) ++*rejected;
    if (ok == problem.has_value()) {
      ++wrong;
      ADD_FAILURE() << T::descriptor()->name() << " parse " << ok << " problem "
                    << (problem ? problem->field + ": " + problem->message : "none") << " in "
                    << ::testing::PrintToString(bytes);
    }
  }
  return wrong;
}

TEST(WireCheckTest, AgreesWithTheParserOnRandomDamage) {
  std::mt19937 rng(20261126);
  v1::GenerateRequest generate;
  v1::ChatMessages* messages = generate.mutable_messages();
  for (const char* text : {"Bonjour, ça va ?", "\xe4\xbd\xa0\xe5\xa5\xbd", "emoji \xf0\x9f\x99\x82"}) {
    v1::ChatMessage* m = messages->add_messages();
    m->set_role("user");
    m->set_content(text);
  }
  v1::SamplingParams* s = generate.mutable_sampling();
  s->set_temperature(0.7f);
  s->set_top_k(40);
  s->set_seed(12345678901234ull);
  s->add_stop("\xc3\xa9t\xc3\xa9");
  s->add_stop_token_ids(17);
  (*s->mutable_logit_bias())[3] = -2.5f;
  generate.set_session_id("0123456789abcdef0123456789abcdef");
  v1::ChatRequest chat;
  chat.mutable_open()->set_system_prompt("Sois bref. \xe2\x9c\x93");
  v1::ChatMessage* h = chat.mutable_open()->add_history();
  h->set_role("user");
  h->set_content("\xce\xb1\xce\xb2\xce\xb3");
  const int rounds = smollm::testing::kSanitizerBuild ? 1500 : 6000;
  int rejected = 0;
  EXPECT_EQ(Disagreements<v1::GenerateRequest>(generate.SerializeAsString(), rounds, &rng,
                                               &rejected),
            0);
  EXPECT_EQ(Disagreements<v1::ChatRequest>(chat.SerializeAsString(), rounds, &rng, &rejected),
            0);
  EXPECT_GT(rejected, rounds / 4);  // the damage does break parses
}

// Runs gRPC's deserialization of T over `bytes`, as the server does.
template <class T>
grpc::Status Deserialize(const std::string& bytes, T* out) {
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  return grpc::SerializationTraits<T>::Deserialize(&buffer, out);
}

TEST(WireCheckTest, TraitsKeepAnUnparsedRequestForTheHandler) {
  v1::TokenizeRequest request;
  ASSERT_TRUE(Deserialize(Delimited(1, "ab\xff\xfe"), &request).ok());
  EXPECT_EQ(request.text(), "");
  const absl::Status status = WireStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "text: invalid UTF-8 at byte 2");
  // The gRPC status carries BadRequest naming the field, like every INVALID_ARGUMENT.
  const grpc::Status g = ToGrpcStatus(status);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(g.error_details()));
  google::rpc::BadRequest bad;
  bool found = false;
  for (const auto& any : rich.details()) found = found || any.UnpackTo(&bad);
  ASSERT_TRUE(found);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "text");

  // Malformed bytes at the top level: "request: ...", the whole request in BadRequest.
  v1::GetModelInfoRequest empty;
  ASSERT_TRUE(Deserialize(std::string("\xff", 1), &empty).ok());
  const absl::Status top = WireStatus(empty);
  EXPECT_EQ(top.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(top.message(), "request: malformed protobuf")) << top;
  EXPECT_EQ(top.GetPayload(kFieldPayloadUrl).value_or(absl::Cord("none")), "");

  // A good request parses as usual, and one that sends the marker field itself has it
  // removed: a client cannot fake a parse failure.
  v1::TokenizeRequest good;
  const std::string forged = Delimited(1, "hello") +
                             std::string("\xfa\xff\xff\xff\x0f\x01x", 7);  // field 2^29-1
  ASSERT_TRUE(v1::TokenizeRequest().ParseFromString(forged));
  ASSERT_TRUE(Deserialize(forged, &good).ok());
  EXPECT_EQ(good.text(), "hello");
  EXPECT_TRUE(WireStatus(good).ok());
  EXPECT_TRUE(good.GetReflection()->GetUnknownFields(good).empty());
}

// Every request type of smollm.v1.Inference has the lenient traits.
template <class T>
void ExpectLenient(absl::flat_hash_set<std::string>* names) {
  T request;
  EXPECT_TRUE(Deserialize(std::string("\x0a\x05", 2), &request).ok()) << T::descriptor()->name();
  EXPECT_FALSE(WireStatus(request).ok()) << T::descriptor()->name();
  names->insert(T::descriptor()->full_name());
}

TEST(WireCheckTest, EveryRequestTypeOfTheServiceIsCovered) {
  absl::flat_hash_set<std::string> covered;
  std::apply([&](auto... r) { (ExpectLenient<decltype(r)>(&covered), ...); },
             std::tuple<v1::GenerateRequest, v1::ChatRequest, v1::TokenizeRequest,
                        v1::DetokenizeRequest, v1::GetModelInfoRequest, v1::GetSessionRequest,
                        v1::DeleteSessionRequest>());
  const google::protobuf::ServiceDescriptor* service =
      v1::GenerateRequest::descriptor()->file()->FindServiceByName("Inference");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_TRUE(covered.contains(service->method(i)->input_type()->full_name()))
        << service->method(i)->name() << ": add its request type to lenient_request_traits.h";
  }
}

}  // namespace
}  // namespace smollm::service

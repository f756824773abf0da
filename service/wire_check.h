// Requests protobuf could not parse (see lenient_request_traits.h): which field broke the
// parse and how, found by walking the raw bytes with the message's descriptor.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace smollm::service {

// Why bytes fail to parse as a message: `field` is the proto field path of the innermost
// known field involved ("prompt", "messages.messages[2].content", "sampling"), empty
// when the problem is in the request itself (a broken tag at the top level); `message`
// says what is wrong and where ("invalid UTF-8 at byte 17", with the byte counted from
// the start of the string's value; "malformed protobuf: ... at byte 9", counted from the
// start of the request).
struct WireProblem {
  std::string field;
  std::string message;
};

// The first problem in `bytes` that makes protobuf 3.21's parser reject them as a
// `descriptor` message: invalid UTF-8 in a proto3 string field, a truncated or
// malformed tag, varint, length or group, or nesting beyond protobuf's recursion limit.
// nullopt when the walk finds none. Fields whose wire type does not match their
// declaration are skipped, as the parser keeps them as unknown fields.
std::optional<WireProblem> FindWireProblem(absl::string_view bytes,
                                           const google::protobuf::Descriptor& descriptor);

// OK for a request that parsed. For one that did not (it carries its bytes in
// kUnparsedRequestField), InvalidArgument "<field>: <problem>" with the field payload
// that becomes google.rpc.BadRequest (status_map.h); "request: ..." with an empty field
// when the problem is not inside a field.
absl::Status WireStatus(const google::protobuf::Message& request);

}  // namespace smollm::service

// The descriptor-driven walk over a request's raw bytes that names the field which made
// protobuf's parser reject them.
#include "service/wire_check.h"

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/wire_format_lite.h"
#include "runtime/tokenizer/utf8.h"
#include "service/lenient_request_traits.h"
#include "service/status_map.h"

namespace smollm::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::internal::WireFormatLite;

// protobuf's default recursion limit for nested messages.
constexpr int kMaxDepth = 100;

// The byte offset of the first ill-formed sequence of `text`, or -1 when it is valid.
int64_t FirstInvalidUtf8(absl::string_view text) {
  const std::string_view s(text.data(), text.size());
  size_t pos = 0;
  while (pos < s.size()) {
    uint32_t cp = 0;
    size_t len = 0;
    if (runtime::DecodeUtf8Strict(s, pos, &cp, &len) != runtime::Utf8Step::kValid) {
      return static_cast<int64_t>(pos);
    }
    pos += len;
  }
  return -1;
}

std::string Join(absl::string_view path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

class Walker {
 public:
  explicit Walker(absl::string_view bytes)
      : in_(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size())) {
    in_.PushLimit(static_cast<int>(bytes.size()));
  }

  // Walks one message up to the current limit; false once a problem is recorded.
  bool Walk(const Descriptor& descriptor, const std::string& path, int depth) {
    if (depth > kMaxDepth) {
      return Malformed(path, absl::StrCat("messages nested deeper than ", kMaxDepth));
    }
    absl::flat_hash_map<int, int> seen;  // field number -> occurrences so far
    while (true) {
      if (in_.BytesUntilLimit() == 0) return true;
      const int at = in_.CurrentPosition();
      const uint32_t tag = in_.ReadTag();
      // A tag is a varint of at most 5 bytes; 0 means it was cut off or overlong.
      if (tag == 0 || in_.CurrentPosition() - at > 5) {
        return Malformed(path, "an invalid tag", at);
      }
      const int number = WireFormatLite::GetTagFieldNumber(tag);
      if (number == 0) return Malformed(path, "field number 0", at);
      const FieldDescriptor* field = descriptor.FindFieldByNumber(number);
      std::string field_path = path;
      if (field != nullptr) {
        field_path = Join(path, field->name());
        if (field->is_repeated()) absl::StrAppend(&field_path, "[", seen[number]++, "]");
      }
      const bool delimited =
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
      if (field != nullptr && delimited &&
          (field->type() == FieldDescriptor::TYPE_STRING ||
           field->type() == FieldDescriptor::TYPE_MESSAGE || field->is_packable())) {
        if (!Delimited(*field, field_path, depth)) return false;
      } else if (!WireFormatLite::SkipField(&in_, tag)) {
        return Malformed(field_path, "a truncated or malformed value", at);
      }
    }
  }

  std::optional<WireProblem> problem() const { return problem_; }

 private:
  // A string or message field's length and value.
  bool Delimited(const FieldDescriptor& field, const std::string& path, int depth) {
    const int at = in_.CurrentPosition();
    uint32_t length = 0;
    if (!in_.ReadVarint32(&length)) return Malformed(path, "a malformed length", at);
    if (length > static_cast<uint32_t>(in_.BytesUntilLimit())) {
      return Malformed(path, absl::StrCat("a length of ", length,
                                          " bytes that passes the end of its message"),
                       at);
    }
    if (field.type() == FieldDescriptor::TYPE_MESSAGE) {
      const auto limit = in_.PushLimit(static_cast<int>(length));
      if (!Walk(*field.message_type(), path, depth + 1)) return false;
      in_.PopLimit(limit);
      return true;
    }
    if (field.type() != FieldDescriptor::TYPE_STRING) return Packed(field, path, length);
    std::string value;
    in_.ReadString(&value, static_cast<int>(length));
    // proto3 strings must be UTF-8; proto2 ones are not checked by the parser.
    if (field.file()->syntax() == FileDescriptor::SYNTAX_PROTO3) {
      const int64_t bad = FirstInvalidUtf8(value);
      if (bad >= 0) {
        problem_ = WireProblem{path, absl::StrCat("invalid UTF-8 at byte ", bad)};
        return false;
      }
    }
    return true;
  }

  // A packed repeated scalar: whole varints, or a whole number of fixed-size values.
  bool Packed(const FieldDescriptor& field, const std::string& path, uint32_t length) {
    const int at = in_.CurrentPosition();
    const WireFormatLite::WireType type =
        WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(field.type()));
    if (type != WireFormatLite::WIRETYPE_VARINT) {
      const uint32_t size = type == WireFormatLite::WIRETYPE_FIXED32 ? 4 : 8;
      if (length % size != 0) {
        return Malformed(path, absl::StrCat("a packed length of ", length,
                                            " bytes, not a multiple of ", size),
                         at);
      }
      in_.Skip(static_cast<int>(length));
      return true;
    }
    const auto limit = in_.PushLimit(static_cast<int>(length));
    while (in_.BytesUntilLimit() > 0) {
      uint64_t value = 0;
      if (!in_.ReadVarint64(&value)) {
        return Malformed(path, "a truncated or malformed packed varint", at);
      }
    }
    in_.PopLimit(limit);
    return true;
  }

  bool Malformed(const std::string& path, absl::string_view what, int at = -1) {
    problem_ = WireProblem{path, absl::StrCat("malformed protobuf: ", what)};
    if (at >= 0) absl::StrAppend(&problem_->message, " at byte ", at);
    return false;
  }

  google::protobuf::io::CodedInputStream in_;
  std::optional<WireProblem> problem_;
};

}  // namespace

std::optional<WireProblem> FindWireProblem(absl::string_view bytes,
                                           const Descriptor& descriptor) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return WireProblem{"", "malformed protobuf: more than 2 GiB"};
  }
  Walker walker(bytes);
  if (walker.Walk(descriptor, "", 0)) return std::nullopt;
  return walker.problem();
}

absl::Status WireStatus(const google::protobuf::Message& request) {
  const google::protobuf::UnknownFieldSet& unknown =
      request.GetReflection()->GetUnknownFields(request);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& f = unknown.field(i);
    if (f.number() != kUnparsedRequestField ||
        f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    std::optional<WireProblem> problem =
        FindWireProblem(f.length_delimited(), *request.GetDescriptor());
    if (!problem.has_value()) {
      problem = WireProblem{"", absl::StrCat("not a valid ", request.GetDescriptor()->full_name(),
                                             " message")};
    }
    if (!problem->field.empty()) return FieldError(problem->field, problem->message);
    // The empty field names the whole request in BadRequest.
    absl::Status whole = absl::InvalidArgumentError(absl::StrCat("request: ", problem->message));
    whole.SetPayload(kFieldPayloadUrl, absl::Cord(""));
    return whole;
  }
  return absl::OkStatus();
}

}  // namespace smollm::service

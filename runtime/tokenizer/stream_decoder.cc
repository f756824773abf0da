// StreamDecoder: holds unfinished UTF-8 sequences between tokens.
#include "runtime/tokenizer/stream_decoder.h"

#include "runtime/core/status.h"
#include "runtime/tokenizer/utf8.h"

namespace smollm::runtime {
namespace {

constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

}  // namespace

size_t StreamDecoder::EmitComplete(std::string_view bytes, std::string* out) {
  size_t pos = 0;
  size_t run_start = 0;  // start of a run of valid bytes not yet copied
  while (pos < bytes.size()) {
    uint32_t cp;
    size_t len;
    const Utf8Step step = DecodeUtf8Strict(bytes, pos, &cp, &len);
    if (step == Utf8Step::kValid) {
      pos += len;
      continue;
    }
    out->append(bytes.substr(run_start, pos - run_start));
    if (step == Utf8Step::kIncomplete) return pos;
    out->append(kReplacementUtf8);
    pos += len;
    run_start = pos;
  }
  out->append(bytes.substr(run_start, pos - run_start));
  return pos;
}

void StreamDecoder::PushBytes(std::string_view bytes, std::string* out) {
  if (bytes.empty()) return;
  if (pending_.empty()) {
    const size_t used = EmitComplete(bytes, out);
    pending_.assign(bytes.substr(used));
    return;
  }
  pending_.append(bytes);
  const size_t used = EmitComplete(pending_, out);
  pending_.erase(0, used);
}

absl::Status StreamDecoder::Push(TokenId id, std::string* out) {
  ASSIGN_OR_RETURN(std::string_view piece, tokenizer_->TokenPiece(id, options_.render_special));
  PushBytes(piece, out);
  return absl::OkStatus();
}

absl::StatusOr<std::string> StreamDecoder::Push(TokenId id) {
  std::string out;
  RETURN_IF_ERROR(Push(id, &out));
  return out;
}

std::string StreamDecoder::Flush() {
  // Held bytes are always a proper prefix of one valid sequence: one U+FFFD.
  std::string out = pending_.empty() ? std::string() : std::string(kReplacementUtf8);
  pending_.clear();
  return out;
}

}  // namespace smollm::runtime

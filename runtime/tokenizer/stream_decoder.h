// Incremental detokenizer: token ids in, valid UTF-8 text out, never half a character.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/tokenizer/bpe_tokenizer.h"

namespace smollm::runtime {

// One per output stream (not thread-safe; the tokenizer must outlive it). Tokens may
// split a character across them: the bytes of an unfinished sequence are held until it
// completes. Whatever cannot become valid UTF-8 is replaced by U+FFFD as soon as that is
// certain (one U+FFFD per maximal ill-formed subpart, the WHATWG/Unicode practice), so
// nothing is held for more than 3 bytes and every emitted string is valid UTF-8.
class StreamDecoder {
 public:
  explicit StreamDecoder(const BpeTokenizer& tokenizer, DecodeOptions options = {})
      : tokenizer_(&tokenizer), options_(options) {}

  // Appends the text completed by token `id` to *out (possibly nothing).
  // InvalidArgument for an id outside the vocabulary; the state is then unchanged.
  absl::Status Push(TokenId id, std::string* out);
  absl::StatusOr<std::string> Push(TokenId id);

  // Appends raw bytes as if a token had produced them (for callers that hold pieces).
  void PushBytes(std::string_view bytes, std::string* out);

  // End of stream: the held bytes of an unfinished character become U+FFFD. Returns
  // that (or ""), and leaves the decoder empty and ready for a new stream.
  std::string Flush();

  // Bytes currently held back (0..3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  // Emits the complete prefix of `bytes` to *out; returns how many bytes were consumed
  // (the rest is an unfinished sequence at the end).
  static size_t EmitComplete(std::string_view bytes, std::string* out);

  const BpeTokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;
};

}  // namespace smollm::runtime

// Fuzzes the BPE tokenizer with arbitrary bytes (special-token text included): encoding
// never yields an id outside the vocabulary, decoding what was encoded gives the text
// back where the contract promises it, and the streaming decoder emits valid UTF-8 that
// matches the one-shot decode. The vocabulary is the real model's when SMOLLM_TEST_MODEL
// (or SMOLLM_FUZZ_VOCAB) names a GGUF, else the committed tiny SmolLM3-shaped fixture.
//
// Input: byte 0 holds the options (bit 0 parse_special, bit 1 add_special, bit 2
// render_special); the rest is the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/stream_decoder.h"
#include "runtime/tokenizer/utf8.h"

namespace smollm::fuzz {
namespace {

using runtime::BpeTokenizer;
using runtime::TokenId;

const BpeTokenizer* tokenizer = nullptr;

std::string VocabularyPath() {
  for (const char* var : {"SMOLLM_FUZZ_VOCAB", "SMOLLM_TEST_MODEL"}) {
    const char* path = std::getenv(var);
    if (path != nullptr && *path != '\0' && std::filesystem::exists(path)) return path;
  }
  return std::string(SMOLLM_SOURCE_DIR) + "/tests/fixtures/decoder/smollm3_tiny_q8_0.gguf";
}

void Load() {
  const std::string path = VocabularyPath();
  absl::StatusOr<runtime::GgufFile> file = runtime::GgufFile::Open(path);
  if (!file.ok()) Fail(__FILE__, __LINE__, file.status().ToString());
  absl::StatusOr<BpeTokenizer> made = BpeTokenizer::FromGguf(*file);
  if (!made.ok()) Fail(__FILE__, __LINE__, made.status().ToString());
  tokenizer = new BpeTokenizer(std::move(*made));  // lives for the whole run
  std::fprintf(stderr, "tokenizer_fuzzer: %d tokens from %s\n", tokenizer->vocab_size(),
               path.c_str());
}

// Whether decoding the encoding must reproduce `text` exactly: valid UTF-8 (invalid bytes
// are tokenized as U+FFFD) in which every byte has a token of its own (others may be
// dropped, as llama.cpp drops them).
bool RoundTrips(std::string_view text) {
  if (!runtime::IsValidUtf8(text)) return false;
  for (unsigned char c : text) {
    if (tokenizer->byte_token(c) < 0) return false;
  }
  return true;
}

void CheckStream(const std::vector<TokenId>& ids, bool render_special) {
  const runtime::DecodeOptions options{.render_special = render_special};
  runtime::StreamDecoder stream(*tokenizer, options);
  std::string streamed;
  for (TokenId id : ids) {
    FUZZ_CHECK(stream.Push(id, &streamed).ok(), "stream decoder rejected a valid id");
    FUZZ_CHECK(stream.pending_bytes() <= 3, "stream decoder holds more than 3 bytes");
  }
  streamed += stream.Flush();
  FUZZ_CHECK(runtime::IsValidUtf8(streamed), "stream decoder emitted invalid UTF-8");
  absl::StatusOr<std::string> whole = tokenizer->Decode(ids, options);
  FUZZ_CHECK(whole.ok(), "Decode rejected encoded ids");
  if (runtime::IsValidUtf8(*whole)) {
    FUZZ_CHECK(streamed == *whole, "streamed text differs from the one-shot decode");
  }
}

}  // namespace
}  // namespace smollm::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  smollm::fuzz::Load();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smollm;
  using fuzz::tokenizer;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const runtime::EncodeOptions encode{.add_special = (flags & 2) != 0,
                                      .parse_special = (flags & 1) != 0};
  const bool render_special = (flags & 4) != 0;

  const std::vector<runtime::TokenId> ids = tokenizer->Encode(text, encode);
  for (runtime::TokenId id : ids) {
    FUZZ_CHECK(tokenizer->IsValidId(id), "Encode produced an id outside the vocabulary");
  }
  if (!text.empty() && fuzz::RoundTrips(text)) {
    FUZZ_CHECK(!ids.empty(), "non-empty text encoded to nothing");
  }
  if (!encode.add_special && fuzz::RoundTrips(text)) {
    absl::StatusOr<std::string> back = tokenizer->Decode(ids, {.render_special = true});
    FUZZ_CHECK(back.ok() && *back == text, "decode(encode(text)) != text");
  }
  fuzz::CheckStream(ids, render_special);

  // Ids straight from the input, valid or not: errors, never crashes.
  std::vector<runtime::TokenId> raw((size - 1) / 4);
  for (size_t i = 0; i < raw.size(); ++i) {
    std::memcpy(&raw[i], data + 1 + 4 * i, 4);
  }
  absl::StatusOr<std::string> decoded = tokenizer->Decode(raw, {.render_special = render_special});
  FUZZ_CHECK(fuzz::HasMessage(decoded.status()), "Decode error without a message");
  bool all_valid = true;
  for (runtime::TokenId id : raw) all_valid = all_valid && tokenizer->IsValidId(id);
  FUZZ_CHECK(decoded.ok() == all_valid, "Decode accepted an invalid id or refused valid ones");
  return 0;
}

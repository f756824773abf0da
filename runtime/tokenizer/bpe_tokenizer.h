// Byte-level BPE tokenizer (GPT-2 / Llama 3 family): special-token splitting,
// pre-tokenization, merges by rank, byte-exact with llama.cpp; and decoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/tokenizer/pretokenizer.h"
#include "runtime/tokenizer/special_tokens.h"
#include "runtime/tokenizer/tokenizer_data.h"

namespace smollm::runtime {

class GgufFile;

struct EncodeOptions {
  // Add BOS/EOS as the model's add_bos/add_eos flags say.
  bool add_special = true;
  // Text that spells a control token (e.g. "<|im_start|>") becomes that token; when
  // false it is tokenized as plain text. User-defined tokens are matched either way.
  bool parse_special = false;
};

struct DecodeOptions {
  // Control and unknown tokens decode to their text; when false, to nothing.
  bool render_special = false;
};

// Immutable after Create; every const method is thread-safe. Move-only: the tables are
// large (copying a 128k-token vocabulary is never what a caller wants by accident).
class BpeTokenizer {
 public:
  // Validates `data` and builds the tables. InvalidArgument, naming the field and index,
  // for: no tokens; token_types of the wrong size or an unknown type value; duplicate
  // token texts; a merge without "left right" form, or whose sides are not
  // byte-level tokens; a
  // bos/eos/eot/pad/unk id outside the vocabulary; add_bos/add_eos without the token;
  // an unsupported pre-tokenizer name.
  static absl::StatusOr<BpeTokenizer> Create(const TokenizerData& data);
  // TokenizerDataFromGguf (gguf_vocab.h, which documents the keys) then Create.
  static absl::StatusOr<BpeTokenizer> FromGguf(const GgufFile& file);

  BpeTokenizer(BpeTokenizer&&) noexcept = default;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept = default;
  BpeTokenizer(const BpeTokenizer&) = delete;
  BpeTokenizer& operator=(const BpeTokenizer&) = delete;

  // Any bytes are accepted: undecodable UTF-8 bytes tokenize as U+FFFD would, as in
  // llama.cpp. A byte that has no token of its own (SmolLM2 lacks 21, e.g. 0x04) and
  // never merges into one is dropped, again as llama.cpp does. Text between special
  // tokens longer than 512 MiB is tokenized in 512 MiB pieces (cut at character
  // boundaries). Appends to *out.
  void Encode(std::string_view text, const EncodeOptions& options,
              std::vector<TokenId>* out) const;
  std::vector<TokenId> Encode(std::string_view text, const EncodeOptions& options = {}) const;

  // The bytes the tokens stand for, concatenated (not necessarily valid UTF-8: a token
  // may hold part of a character; see StreamDecoder). InvalidArgument for an id outside
  // the vocabulary.
  absl::StatusOr<std::string> Decode(std::span<const TokenId> ids,
                                     const DecodeOptions& options = {}) const;
  // The bytes of one token; empty for a control/unknown token without render_special
  // and for unused/undefined tokens. InvalidArgument for an id outside the vocabulary.
  absl::StatusOr<std::string_view> TokenPiece(TokenId id, bool render_special) const;

  int32_t vocab_size() const { return static_cast<int32_t>(types_.size()); }
  bool IsValidId(TokenId id) const { return id >= 0 && id < vocab_size(); }
  TokenType token_type(TokenId id) const { return types_[id]; }  // id must be valid
  std::string_view token_text(TokenId id) const;                  // as stored; id valid
  TokenId bos_id() const { return bos_id_; }
  TokenId eos_id() const { return eos_id_; }
  TokenId eot_id() const { return eot_id_; }
  TokenId pad_id() const { return pad_id_; }
  TokenId unk_id() const { return unk_id_; }
  // The token spelling byte `b` alone, or -1 when the vocabulary has none.
  TokenId byte_token(uint8_t b) const { return byte_token_[b]; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  const std::string& pre_name() const { return pre_name_; }
  PreTokenizerConfig pre_tokenizer() const { return pre_; }

 private:
  BpeTokenizer() = default;
  struct Merge {
    int32_t rank;
    TokenId result;  // -1 when the merged bytes are not a token of their own
  };
  struct Scratch;
  void EncodeRaw(std::string_view text, Scratch* scratch, std::vector<TokenId>* out) const;
  void EncodeWord(std::string_view word, Scratch* scratch, std::vector<TokenId>* out) const;
  const Merge* FindMerge(TokenId left, TokenId right) const;
  // Appends llama.cpp's per-byte fallback tokens for `bytes`.
  void EmitBytes(std::string_view bytes, std::vector<TokenId>* out) const;

  // Token texts as stored, and the bytes each decodes to, in two arenas.
  std::string text_arena_;
  std::vector<uint32_t> text_offsets_;   // [vocab + 1]
  std::string piece_arena_;
  std::vector<uint32_t> piece_offsets_;  // [vocab + 1]
  std::vector<TokenType> types_;         // [vocab]
  // Byte string -> token, for every token whose text is byte-level (what BPE can reach).
  // Views into key_arena_, a vector so that moving the tokenizer keeps them valid.
  absl::flat_hash_map<std::string_view, TokenId> bytes_to_token_;
  std::vector<char> key_arena_;
  TokenId byte_token_[256] = {};  // -1 where the vocabulary lacks the byte
  // What llama.cpp emits for byte b inside a symbol that is not a token: the tokens
  // whose text is each single char of b's byte-level spelling (usually b's own token
  // or nothing). Up to two ids, -1 for none.
  TokenId fallback_[256][2] = {};
  absl::flat_hash_map<uint64_t, Merge> merges_;  // (left << 32 | right) -> merge
  SpecialTokenSplitter specials_;
  std::string pre_name_;
  PreTokenizerConfig pre_;
  TokenId bos_id_ = -1, eos_id_ = -1, eot_id_ = -1, pad_id_ = -1, unk_id_ = -1;
  bool add_bos_ = false, add_eos_ = false;
};

}  // namespace smollm::runtime

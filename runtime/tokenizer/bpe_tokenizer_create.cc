// BpeTokenizer::Create: validates TokenizerData and builds the lookup tables.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/status.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/utf8.h"

namespace smollm::runtime {
namespace {

constexpr size_t kMaxVocab = size_t{1} << 30;
constexpr size_t kMaxArenaBytes = size_t{1} << 31;

// Short, printable rendering of token text for error messages.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

absl::Status CheckId(const char* field, TokenId id, size_t vocab) {
  if (id < -1 || (id >= 0 && static_cast<size_t>(id) >= vocab)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: token id %d outside the vocabulary [0, %d)", field, id, vocab));
  }
  return absl::OkStatus();
}

bool IsSpecialType(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUserDefined;
}

}  // namespace

absl::StatusOr<BpeTokenizer> BpeTokenizer::Create(const TokenizerData& data) {
  const size_t n = data.tokens.size();
  if (n == 0) return absl::InvalidArgumentError("tokens: the vocabulary is empty");
  if (n > kMaxVocab) {
    return absl::InvalidArgumentError(absl::StrCat("tokens: ", n, " tokens is too many"));
  }
  if (!data.token_types.empty() && data.token_types.size() != n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "token_types: %d entries for %d tokens", data.token_types.size(), n));
  }
  BpeTokenizer tok;
  ASSIGN_OR_RETURN(tok.pre_, PreTokenizerFromName(data.pre));
  tok.pre_name_ = data.pre;
  RETURN_IF_ERROR(CheckId("bos_id", data.bos_id, n));
  RETURN_IF_ERROR(CheckId("eos_id", data.eos_id, n));
  RETURN_IF_ERROR(CheckId("eot_id", data.eot_id, n));
  RETURN_IF_ERROR(CheckId("pad_id", data.pad_id, n));
  RETURN_IF_ERROR(CheckId("unk_id", data.unk_id, n));
  if (data.add_bos && data.bos_id < 0) {
    return absl::InvalidArgumentError("add_bos: set but the model has no bos_id");
  }
  if (data.add_eos && data.eos_id < 0) {
    return absl::InvalidArgumentError("add_eos: set but the model has no eos_id");
  }
  tok.bos_id_ = data.bos_id;
  tok.eos_id_ = data.eos_id;
  tok.eot_id_ = data.eot_id;
  tok.pad_id_ = data.pad_id;
  tok.unk_id_ = data.unk_id;
  tok.add_bos_ = data.add_bos;
  tok.add_eos_ = data.add_eos;

  // Types, texts, decoded pieces and the byte-string index.
  tok.types_.resize(n, TokenType::kNormal);
  tok.text_offsets_.reserve(n + 1);
  tok.piece_offsets_.reserve(n + 1);
  std::vector<std::pair<size_t, size_t>> key_spans(n, {0, 0});  // into key_arena_
  std::vector<bool> has_key(n, false);
  std::vector<SpecialToken> specials;
  absl::flat_hash_map<std::string_view, TokenId> by_text;  // duplicates check
  by_text.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = data.tokens[i];
    if (!data.token_types.empty()) {
      const auto raw = static_cast<int32_t>(data.token_types[i]);
      if (raw < 0 || raw > static_cast<int32_t>(TokenType::kByte)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("token_types[%d]: unknown token type %d", i, raw));
      }
      tok.types_[i] = data.token_types[i];
    }
    auto [it, inserted] = by_text.emplace(text, static_cast<TokenId>(i));
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tokens[%d]: duplicates tokens[%d] %s", i, it->second, Quote(text)));
    }
    tok.text_offsets_.push_back(static_cast<uint32_t>(tok.text_arena_.size()));
    tok.text_arena_ += text;
    tok.piece_offsets_.push_back(static_cast<uint32_t>(tok.piece_arena_.size()));
    const TokenType type = tok.types_[i];
    const std::optional<std::string> bytes = ByteLevelDecode(text);
    if (bytes.has_value()) {
      key_spans[i] = {tok.key_arena_.size(), bytes->size()};
      has_key[i] = true;
      tok.key_arena_.insert(tok.key_arena_.end(), bytes->begin(), bytes->end());
    }
    if (IsSpecialType(type)) {
      tok.piece_arena_ += text;  // specials decode to their raw text
      specials.push_back({static_cast<TokenId>(i), text, type == TokenType::kUserDefined});
    } else if (type == TokenType::kNormal || type == TokenType::kByte) {
      if (bytes.has_value()) {
        tok.piece_arena_ += *bytes;
      } else {
        // Not byte-level text: keep alphabet symbols as their bytes and anything else
        // as its own UTF-8, rather than inventing placeholder text.
        size_t pos = 0;
        while (pos < text.size()) {
          uint32_t cp;
          const size_t len = DecodeUtf8Lenient(text, pos, &cp);
          const int b = SymbolToByte(cp);
          if (b >= 0) {
            tok.piece_arena_.push_back(static_cast<char>(b));
          } else {
            tok.piece_arena_.append(text, pos, len);
          }
          pos += len;
        }
      }
    }
    if (tok.text_arena_.size() > kMaxArenaBytes || tok.piece_arena_.size() > kMaxArenaBytes) {
      return absl::InvalidArgumentError("tokens: total token text exceeds 2 GiB");
    }
  }
  tok.text_offsets_.push_back(static_cast<uint32_t>(tok.text_arena_.size()));
  tok.piece_offsets_.push_back(static_cast<uint32_t>(tok.piece_arena_.size()));
  tok.bytes_to_token_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!has_key[i]) continue;
    const std::string_view key(tok.key_arena_.data() + key_spans[i].first, key_spans[i].second);
    tok.bytes_to_token_.emplace(key, static_cast<TokenId>(i));
  }

  // Byte tokens: where merging starts. Vocabularies may lack some (SmolLM2 has no token
  // for 0x04, 0xC0, 0xFF, ...); such bytes cannot merge and are dropped on output.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    auto it = tok.bytes_to_token_.find(std::string_view(&c, 1));
    tok.byte_token_[b] = it == tok.bytes_to_token_.end() ? -1 : it->second;
    // llama.cpp's fallback looks up each char of the byte-level spelling as a text.
    const std::string spelled = ByteLevelEncode(std::string_view(&c, 1));
    for (size_t k = 0; k < 2; ++k) {
      tok.fallback_[b][k] = -1;
      if (k < spelled.size()) {
        auto t = by_text.find(std::string_view(&spelled[k], 1));
        if (t != by_text.end()) tok.fallback_[b][k] = t->second;
      }
    }
  }

  // Merges: both sides must be byte-level tokens; the first occurrence of a pair wins.
  if (data.merges.size() > kMaxVocab) {
    return absl::InvalidArgumentError(
        absl::StrCat("merges: ", data.merges.size(), " merges is too many"));
  }
  tok.merges_.reserve(data.merges.size());
  std::string merged;
  for (size_t rank = 0; rank < data.merges.size(); ++rank) {
    const std::string& merge = data.merges[rank];
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos || space + 1 >= merge.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("merges[%d]: %s is not of the form 'left right'", rank, Quote(merge)));
    }
    TokenId sides[2];
    const std::string_view parts[2] = {std::string_view(merge).substr(0, space),
                                       std::string_view(merge).substr(space + 1)};
    for (int s = 0; s < 2; ++s) {
      auto it = by_text.find(parts[s]);
      if (it == by_text.end() || !has_key[it->second]) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "merges[%d]: %s is not a byte-level token", rank, Quote(parts[s])));
      }
      sides[s] = it->second;
    }
    merged.assign(tok.key_arena_.data() + key_spans[sides[0]].first, key_spans[sides[0]].second);
    merged.append(tok.key_arena_.data() + key_spans[sides[1]].first, key_spans[sides[1]].second);
    auto result = tok.bytes_to_token_.find(merged);
    const uint64_t key = (static_cast<uint64_t>(sides[0]) << 32) | static_cast<uint32_t>(sides[1]);
    tok.merges_.emplace(key, Merge{static_cast<int32_t>(rank),
                                   result == tok.bytes_to_token_.end() ? -1 : result->second});
  }
  tok.specials_ = SpecialTokenSplitter(std::move(specials));
  return tok;
}

}  // namespace smollm::runtime

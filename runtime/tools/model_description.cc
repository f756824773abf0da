// Formatting of model and token descriptions.
#include "runtime/tools/model_description.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace smollm::runtime {
namespace {

std::string Mib(uint64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

// Escapes control bytes so that a token's text fits on one line.
std::string Printable(std::string_view text) {
  std::string out;
  for (unsigned char ch : text) {
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch < 0x20 || ch == 0x7f) {
      out += absl::StrFormat("\\x%02x", ch);
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

}  // namespace

std::string DescribeModel(const Model& model) {
  const ModelConfig& c = model.config();
  const GgufFile& gguf = model.gguf();
  std::string out;
  absl::StrAppend(&out, "model      ", model.path(), " (", Mib(gguf.bytes().size()),
                  ", GGUF v", gguf.version(), ")\n");
  if (!c.name.empty()) absl::StrAppend(&out, "name       ", c.name, "\n");
  absl::StrAppend(&out, "arch       ", std::string(ArchitectureName(c.arch)), ": ", c.n_layers,
                  " layers, d_model ", c.d_model, ", d_ffn ", c.d_ffn, ", heads ", c.n_heads,
                  " (KV heads ", c.n_kv_heads, ", head_dim ", c.head_dim, ", GQA group ",
                  c.gqa_group(), ")\n");
  std::vector<int> nope_layers;
  for (int il = 0; il < c.n_layers; ++il) {
    if (!c.UsesRope(il)) nope_layers.push_back(il);
  }
  absl::StrAppend(&out, "rope       theta ", c.rope_theta, ", adjacent pairs, ",
                  nope_layers.empty()
                      ? std::string("on every layer")
                      : absl::StrCat("skipped on layers ", absl::StrJoin(nope_layers, ", ")),
                  "\n");
  absl::StrAppend(&out, "context    ", c.context_length, " tokens; RMSNorm eps ",
                  c.rms_norm_eps, "\n");
  absl::StrAppend(&out, "output     ",
                  c.tied_output ? "tied to token_embd" : "separate output.weight", "\n");
  const BpeTokenizer& tok = model.tokenizer();
  absl::StrAppend(&out, "vocab      ", c.vocab_size, " tokens, pre-tokenizer ", tok.pre_name(),
                  ", bos ", tok.bos_id(), ", eos ", tok.eos_id(), ", pad ", tok.pad_id(),
                  tok.add_bos() ? ", BOS added" : ", no BOS added", "\n");
  absl::StrAppend(&out, "template   ",
                  std::string(ChatTemplateFamilyName(model.chat_template().family)));
  if (!model.chat_template().warning.empty()) {
    absl::StrAppend(&out, " (", model.chat_template().warning, ")");
  }
  absl::StrAppend(&out, "\n");

  std::map<std::string, int> type_counts;
  uint64_t weight_bytes = 0;
  for (const GgufTensorInfo& t : gguf.tensors()) {
    ++type_counts[std::string(NameOf(t.type))];
    weight_bytes += t.n_bytes;
  }
  std::vector<std::string> parts;
  for (const auto& [name, count] : type_counts) parts.push_back(absl::StrCat(count, " ", name));
  absl::StrAppend(&out, "tensors    ", gguf.tensors().size(), ": ", absl::StrJoin(parts, ", "),
                  "; ", Mib(weight_bytes), " of weights\n");
  const uint64_t kv_per_token =
      2ull * c.n_layers * c.n_kv_heads * c.head_dim * sizeof(uint16_t);
  absl::StrAppend(&out, "KV cache   ", kv_per_token, " bytes per token in f16 (",
                  Mib(kv_per_token * 4096), " for 4096 tokens)\n");
  return out;
}

std::string DescribeTokens(const BpeTokenizer& tokenizer, std::span<const TokenId> tokens) {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto piece = tokenizer.TokenPiece(tokens[i], /*render_special=*/true);
    absl::StrAppend(&out, absl::StrFormat("%5d  %6d  ", i, tokens[i]),
                    piece.ok() ? absl::StrCat("'", Printable(*piece), "'") : "<invalid>", "\n");
  }
  return out;
}

}  // namespace smollm::runtime

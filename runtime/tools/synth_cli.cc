// Argument parsing for smollm-synth.
#include "runtime/tools/synth_cli.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/tools/synth_shapes.h"

namespace smollm::runtime {
namespace {

// Flags that take a value; --tied, --untied and --help take none.
constexpr std::string_view kValueFlags[] = {
    "arch",  "shape",   "layers",     "d-model",  "d-ffn",          "heads",
    "kv-heads", "vocab", "context",   "rope-theta", "rms-eps",      "name",
    "weights", "seed",  "tokenizer-from", "chat-template", "out",
};
constexpr std::string_view kSwitches[] = {"tied", "untied", "help"};

bool Contains(std::span<const std::string_view> list, std::string_view s) {
  for (std::string_view x : list) {
    if (x == s) return true;
  }
  return false;
}

absl::Status Bad(std::string_view flag, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", std::string(flag), ": ", std::string(why)));
}

class Flags {
 public:
  absl::Status Parse(std::span<const std::string_view> args) {
    for (size_t i = 0; i < args.size(); ++i) {
      std::string_view arg = args[i];
      if (arg.substr(0, 2) != "--" || arg.size() == 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", std::string(arg), "' (flags start with --)"));
      }
      arg.remove_prefix(2);
      std::optional<std::string_view> value;
      if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      if (Contains(kSwitches, arg)) {
        if (value.has_value()) return Bad(arg, "takes no value");
      } else if (Contains(kValueFlags, arg)) {
        if (!value.has_value()) {
          if (i + 1 >= args.size()) return Bad(arg, "needs a value");
          value = args[++i];
        }
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag --", std::string(arg), " (see --help)"));
      }
      if (values_.contains(std::string(arg))) return Bad(arg, "given twice");
      values_[std::string(arg)] = std::string(value.value_or(""));
    }
    return absl::OkStatus();
  }

  bool Has(std::string_view flag) const { return values_.contains(std::string(flag)); }
  const std::string& Get(std::string_view flag) const { return values_.at(std::string(flag)); }

  // Sets `out` from a positive integer flag when present.
  absl::Status Int(std::string_view flag, int& out) const {
    if (!Has(flag)) return absl::OkStatus();
    int v;
    if (!absl::SimpleAtoi(Get(flag), &v) || v <= 0) {
      return Bad(flag, absl::StrCat("expected a positive integer, got '", std::string(Get(flag)), "'"));
    }
    out = v;
    return absl::OkStatus();
  }

  absl::Status Float(std::string_view flag, float& out) const {
    if (!Has(flag)) return absl::OkStatus();
    float v;
    if (!absl::SimpleAtof(Get(flag), &v) || !(v > 0)) {
      return Bad(flag, absl::StrCat("expected a positive number, got '", std::string(Get(flag)), "'"));
    }
    out = v;
    return absl::OkStatus();
  }

 private:
  absl::flat_hash_map<std::string, std::string> values_;
};

absl::StatusOr<Architecture> ParseArch(std::string_view s) {
  if (s == "smollm3") return Architecture::kSmolLM3;
  if (s == "llama") return Architecture::kLlama;
  return Bad("arch", absl::StrCat("expected smollm3 or llama, got '", std::string(s), "'"));
}

}  // namespace

std::string SynthUsage() {
  return absl::StrCat(
      "smollm-synth: writes a GGUF model with random weights in llama.cpp's Q4_K_M layout.\n"
      "\n"
      "  --out FILE              the GGUF to write (required)\n"
      "  --shape NAME            a preset: ", ShapePresetList(), "\n"
      "  --arch smollm3|llama    architecture (required without --shape)\n"
      "  --layers N --d-model N --d-ffn N --heads N\n"
      "                          the shape (required without --shape)\n"
      "  --kv-heads N            KV heads (default: --heads)\n"
      "  --vocab N               vocabulary size of the synthetic tokenizer\n"
      "  --context N             context length (default 4096)\n"
      "  --rope-theta X --rms-eps X  (defaults 10000 and 1e-5)\n"
      "  --tied | --untied       output tied to token_embd or its own output.weight\n"
      "  --name TEXT             general.name\n"
      "  --weights blocks|quantize\n"
      "                          random valid blocks (fast, default) or random floats\n"
      "                          quantized with our quantizers (small models)\n"
      "  --seed N                random seed (default 1); same seed, same file\n"
      "  --tokenizer-from FILE   copy every tokenizer.* key from this GGUF\n"
      "  --chat-template FILE    store this text as tokenizer.chat_template\n");
}

absl::StatusOr<SynthCommand> ParseSynthArgs(std::span<const std::string_view> args) {
  Flags f;
  RETURN_IF_ERROR(f.Parse(args));
  SynthCommand cmd;
  if (f.Has("help")) {
    cmd.help = true;
    return cmd;
  }
  ModelConfig& shape = cmd.options.shape;
  if (f.Has("shape")) {
    ASSIGN_OR_RETURN(shape, ShapePreset(f.Get("shape")));
  } else {
    for (std::string_view required : {"arch", "layers", "d-model", "d-ffn", "heads"}) {
      if (!f.Has(required)) return Bad(required, "is required without --shape");
    }
    if (!f.Has("vocab") && !f.Has("tokenizer-from")) {
      return Bad("vocab", "is required without --shape or --tokenizer-from");
    }
    shape.context_length = 4096;
    shape.rope_theta = 10000.0f;
    shape.rms_norm_eps = 1e-5f;
    shape.tied_output = true;
  }
  if (f.Has("arch")) {
    ASSIGN_OR_RETURN(shape.arch, ParseArch(f.Get("arch")));
  }
  RETURN_IF_ERROR(f.Int("layers", shape.n_layers));
  RETURN_IF_ERROR(f.Int("d-model", shape.d_model));
  RETURN_IF_ERROR(f.Int("d-ffn", shape.d_ffn));
  const bool kv_given = f.Has("kv-heads");
  RETURN_IF_ERROR(f.Int("heads", shape.n_heads));
  if (!f.Has("shape") && !kv_given) shape.n_kv_heads = shape.n_heads;
  RETURN_IF_ERROR(f.Int("kv-heads", shape.n_kv_heads));
  RETURN_IF_ERROR(f.Int("vocab", shape.vocab_size));
  RETURN_IF_ERROR(f.Int("context", shape.context_length));
  RETURN_IF_ERROR(f.Float("rope-theta", shape.rope_theta));
  RETURN_IF_ERROR(f.Float("rms-eps", shape.rms_norm_eps));
  if (f.Has("tied") && f.Has("untied")) return Bad("tied", "conflicts with --untied");
  if (f.Has("tied")) shape.tied_output = true;
  if (f.Has("untied")) shape.tied_output = false;
  if (f.Has("name")) shape.name = std::string(f.Get("name"));
  if (shape.name.empty()) {
    shape.name = absl::StrCat(std::string(ArchitectureName(shape.arch)), " (synthetic)");
  }

  if (f.Has("weights")) {
    const std::string_view w = f.Get("weights");
    if (w == "blocks") {
      cmd.options.weights = WeightMode::kBlocks;
    } else if (w == "quantize") {
      cmd.options.weights = WeightMode::kQuantize;
    } else {
      return Bad("weights", absl::StrCat("expected blocks or quantize, got '", std::string(w), "'"));
    }
  }
  if (f.Has("seed") && !absl::SimpleAtoi(f.Get("seed"), &cmd.options.seed)) {
    return Bad("seed", absl::StrCat("expected an unsigned integer, got '", std::string(f.Get("seed")), "'"));
  }
  if (f.Has("vocab") && f.Has("tokenizer-from")) {
    return Bad("vocab", "conflicts with --tokenizer-from (the vocabulary follows its tokens)");
  }
  if (f.Has("tokenizer-from")) cmd.options.tokenizer_from = std::string(f.Get("tokenizer-from"));
  if (f.Has("chat-template")) cmd.chat_template_path = std::string(f.Get("chat-template"));
  if (!f.Has("out") || f.Get("out").empty()) return Bad("out", "is required");
  cmd.out_path = std::string(f.Get("out"));

  // Check the shape now so that a bad flag fails before any file is touched. A copied
  // tokenizer decides the vocabulary later, so any placeholder passes here.
  ModelConfig check = shape;
  if (!cmd.options.tokenizer_from.empty()) check.vocab_size = 1;
  if (absl::Status s = CompleteShape(check); !s.ok()) return s;
  return cmd;
}

}  // namespace smollm::runtime

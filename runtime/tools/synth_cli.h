// Command-line parsing for smollm-synth, kept apart from main() so that tests can drive it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/tools/synth_model.h"

namespace smollm::runtime {

struct SynthCommand {
  SynthOptions options;            // chat_template is left unset: see chat_template_path
  std::string out_path;            // --out
  std::string chat_template_path;  // --chat-template, "" when absent
  bool help = false;               // --help: print SynthUsage() and nothing else
};

// Parses the arguments after the program name. Flags take "--flag value" or
// "--flag=value". A --shape preset fills every field and the explicit flags override it;
// without one, --arch, --layers, --d-model, --d-ffn and --heads are required (and --vocab
// unless --tokenizer-from gives the vocabulary). InvalidArgument naming the flag for an
// unknown flag, a missing or malformed value, a missing required flag or a bad shape.
absl::StatusOr<SynthCommand> ParseSynthArgs(std::span<const std::string_view> args);

// The --help text.
std::string SynthUsage();

}  // namespace smollm::runtime

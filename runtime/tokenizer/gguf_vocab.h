// Reads a byte-level BPE vocabulary (tokenizer.ggml.*) out of GGUF metadata.
#pragma once

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/tokenizer_data.h"

namespace smollm::runtime {

// Keys read (as llama.cpp reads them):
//   tokenizer.ggml.model         string, must be "gpt2" (byte-level BPE)
//   tokenizer.ggml.tokens        string array, required
//   tokenizer.ggml.token_type    integer array, optional (all normal when absent)
//   tokenizer.ggml.merges        string array, required
//   tokenizer.ggml.pre           string, optional ("default" when absent, which is
//                                not supported)
//   tokenizer.ggml.{bos,eos,eot,padding,unknown}_token_id   uint32, optional
//   tokenizer.ggml.add_bos_token / add_eos_token            bool, optional; when absent
//                                add_bos is true for the Llama 3 pre-tokenizer names
//                                and false otherwise, add_eos false
// Tokens llama.cpp treats as end-of-generation by their text (<|im_end|>,
// <|endoftext|>, <|eot_id|>, </s>, ...) become kControl whatever their stored type, as
// llama.cpp overrides them (its similar guesses for FIM tokens are not reproduced).
// Without an eot id, the first of <|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>,
// <|endoftext|> present in the vocabulary is taken (llama.cpp guesses it by text too).
// Errors: NotFound for a missing required key, InvalidArgument for a wrong type or
// value, each naming the key. Token ids are validated later, by BpeTokenizer::Create.
absl::StatusOr<TokenizerData> TokenizerDataFromGguf(const GgufFile& file);

}  // namespace smollm::runtime

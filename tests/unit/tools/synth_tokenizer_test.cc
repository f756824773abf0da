// Tests of the synthetic BPE vocabularies: layout, special ids, merge validity, determinism.
#include "runtime/tools/synth_tokenizer.h"

#include <cctype>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

SynthVocab Make(Architecture arch, int size, uint64_t seed) {
  absl::StatusOr<SynthVocab> v = MakeSyntheticVocab(arch, size, seed);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.value_or(SynthVocab{});
}

// Every merge "a b" joins two tokens that exist before the token it creates, and every
// merged token comes from exactly the merge of its rank.
void ExpectValidMerges(const SynthVocab& v, int first_merged_id) {
  absl::flat_hash_map<std::string, int> id_of;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    EXPECT_TRUE(id_of.emplace(v.tokens[i], static_cast<int>(i)).second)
        << "duplicate token '" << v.tokens[i] << "' at " << i;
  }
  for (size_t rank = 0; rank < v.merges.size(); ++rank) {
    const std::string& m = v.merges[rank];
    const size_t space = m.find(' ');
    ASSERT_NE(space, std::string::npos) << m;
    ASSERT_EQ(m.find(' ', space + 1), std::string::npos) << m;
    const std::string a = m.substr(0, space), b = m.substr(space + 1);
    const int result = first_merged_id + static_cast<int>(rank);
    ASSERT_TRUE(id_of.contains(a) && id_of.contains(b)) << m;
    EXPECT_LT(id_of[a], result) << m;
    EXPECT_LT(id_of[b], result) << m;
    EXPECT_EQ(v.tokens[result], a + b) << m;
  }
}

TEST(ByteTokens, Gpt2ByteToUnicodeOrder) {
  const std::vector<std::string>& bytes = ByteTokens();
  ASSERT_EQ(bytes.size(), 256u);
  EXPECT_EQ(bytes[0], "!");
  EXPECT_EQ(bytes[93], "~");
  EXPECT_EQ(bytes[94], "\xc2\xa1");   // '¡'
  EXPECT_EQ(bytes[188], "\xc4\x80");  // 'Ā', byte 0x00
  EXPECT_EQ(bytes[188 + 32], "\xc4\xa0");  // 'Ġ', byte 0x20 (space)
  EXPECT_EQ(bytes[255], "\xc5\x83");  // 'Ń', byte 0xad
}

TEST(MakeSyntheticVocab, SmolLM3LayoutAtTheRealSize) {
  const SynthVocab v = Make(Architecture::kSmolLM3, 128256, 7);
  ASSERT_EQ(v.tokens.size(), 128256u);
  ASSERT_EQ(v.token_types.size(), 128256u);
  EXPECT_EQ(v.pre, "smaug-bpe");
  EXPECT_EQ(v.bos, 128000);
  EXPECT_EQ(v.eos, 128012);
  EXPECT_EQ(v.pad, 128012);
  EXPECT_EQ(v.unk, -1);
  EXPECT_FALSE(v.add_bos);
  EXPECT_EQ(v.tokens[128000], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[128001], "<|end_of_text|>");
  EXPECT_EQ(v.tokens[128002], "<think>");
  EXPECT_EQ(v.tokens[128003], "</think>");
  EXPECT_EQ(v.tokens[128011], "<|im_start|>");
  EXPECT_EQ(v.tokens[128012], "<|im_end|>");
  EXPECT_EQ(v.tokens[128015], "<tool_call>");
  EXPECT_EQ(v.tokens[128255], "<|reserved_special_token_255|>");
  for (int i = 0; i < 128256; ++i) {
    ASSERT_EQ(v.token_types[i], i >= 128000 ? kTokenTypeControl : kTokenTypeNormal) << i;
  }
  EXPECT_EQ(std::vector<std::string>(v.tokens.begin(), v.tokens.begin() + 256), ByteTokens());
  EXPECT_EQ(v.merges.size(), 128000u - 256u);
  ExpectValidMerges(v, 256);
}

TEST(MakeSyntheticVocab, SmallSmolLM3KeepsTheOffsetsInTheLastBlock) {
  const SynthVocab v = Make(Architecture::kSmolLM3, 2048, 1);
  ASSERT_EQ(v.tokens.size(), 2048u);
  EXPECT_EQ(v.bos, 2048 - 256);
  EXPECT_EQ(v.tokens[v.bos], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[v.eos], "<|im_end|>");
  EXPECT_EQ(v.tokens[v.eos - 1], "<|im_start|>");
  ExpectValidMerges(v, 256);
}

TEST(MakeSyntheticVocab, LlamaUsesSmolLM2Layout) {
  const SynthVocab v = Make(Architecture::kLlama, 1024, 3);
  ASSERT_EQ(v.tokens.size(), 1024u);
  EXPECT_EQ(v.pre, "smollm");
  EXPECT_EQ(v.tokens[0], "<|endoftext|>");
  EXPECT_EQ(v.tokens[1], "<|im_start|>");
  EXPECT_EQ(v.tokens[2], "<|im_end|>");
  EXPECT_EQ(v.tokens[16], "<empty_output>");
  EXPECT_EQ(v.tokens[17], "!");
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.pad, 2);
  ASSERT_TRUE(v.add_space_prefix.has_value());
  EXPECT_FALSE(*v.add_space_prefix);
  for (int i = 0; i < 17; ++i) EXPECT_EQ(v.token_types[i], kTokenTypeControl);
  EXPECT_EQ(v.token_types[17], kTokenTypeNormal);
  EXPECT_EQ(v.merges.size(), 1024u - 17 - 256);
  ExpectValidMerges(v, 17 + 256);
}

TEST(MakeSyntheticVocab, MergedTokensAreWords) {
  const SynthVocab v = Make(Architecture::kLlama, 4096, 11);
  int with_space = 0;
  for (size_t i = 17 + 256; i < v.tokens.size(); ++i) {
    std::string t = v.tokens[i];
    if (t.rfind("\xc4\xa0", 0) == 0) {
      t = t.substr(2);
      ++with_space;
    }
    ASSERT_FALSE(t.empty()) << i;
    for (char c : t) ASSERT_TRUE(std::isalpha(static_cast<unsigned char>(c))) << v.tokens[i];
  }
  EXPECT_GT(with_space, 100);  // words that start with a space, like real BPE vocabularies
}

TEST(MakeSyntheticVocab, DeterministicForASeed) {
  const SynthVocab a = Make(Architecture::kSmolLM3, 4096, 42);
  const SynthVocab b = Make(Architecture::kSmolLM3, 4096, 42);
  const SynthVocab c = Make(Architecture::kSmolLM3, 4096, 43);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_NE(a.merges, c.merges);
}

TEST(MakeSyntheticVocab, RejectsSizesOutsideTheLayout) {
  EXPECT_EQ(MakeSyntheticVocab(Architecture::kSmolLM3, 511, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeSyntheticVocab(Architecture::kSmolLM3, 512, 1).ok());
  EXPECT_EQ(MakeSyntheticVocab(Architecture::kLlama, 272, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeSyntheticVocab(Architecture::kLlama, 273, 1).ok());
  EXPECT_EQ(MakeSyntheticVocab(Architecture::kLlama, -5, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeSyntheticVocab(Architecture::kLlama, (1 << 20) + 1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smollm::runtime

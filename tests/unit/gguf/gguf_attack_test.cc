// The GGUF attack-shape corpus (tests/fixtures/gguf/attacks, from
// tests/fuzz/make_gguf_attacks.py): the model loader refuses each hostile file with the
// status and message its manifest names, and the base model they derive from loads.
// Inputs the GGUF fuzzer once crashed on (tests/fuzz/regressions/gguf_fuzzer) are refused
// with a message too.
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/model/model.h"
#include "tests/test_support.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

constexpr char kAttackDir[] = "gguf/attacks";

using gguf_test::ManifestCase;

TEST(GgufAttackTest, BaseModelLoads) {
  absl::StatusOr<std::unique_ptr<Model>> model =
      Model::Open(testing::FixturePath(std::string(kAttackDir) + "/base_model.gguf"));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->config().n_layers, 1);
  EXPECT_EQ((*model)->tokenizer().vocab_size(), 16);
  const std::vector<TokenId> ids = (*model)->tokenizer().Encode("hello world");
  EXPECT_EQ((*model)->tokenizer().Decode(ids).value(), "hello world");
}

TEST(GgufAttackTest, EveryAttackIsRefusedAsTheManifestSays) {
  const std::vector<ManifestCase> cases = gguf_test::LoadManifest(kAttackDir);
  ASSERT_GE(cases.size(), 50u);
  int attacks = 0;
  for (const ManifestCase& c : cases) {
    if (c.code == "OK") continue;
    ++attacks;
    SCOPED_TRACE(c.file);
    const std::string path = testing::FixturePath(std::string(kAttackDir) + "/" + c.file);
    EXPECT_LT(std::filesystem::file_size(path), 4096u);
    absl::StatusOr<std::unique_ptr<Model>> model = Model::Open(path);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(absl::StatusCodeToString(model.status().code()), c.code) << model.status();
    EXPECT_TRUE(testing::MessageContains(model.status(), c.substring))
        << "message: " << model.status().message() << "\nwanted: " << c.substring;
    // Every error names the file.
    EXPECT_EQ(model.status().message().substr(0, path.size() + 2), path + ": ");
  }
  EXPECT_EQ(attacks + 1, static_cast<int>(cases.size()));
}

TEST(GgufAttackTest, ManifestListsEveryFile) {
  EXPECT_EQ(gguf_test::ManifestFiles(kAttackDir), gguf_test::GgufFilesIn(kAttackDir));
}

TEST(GgufAttackTest, FuzzRegressionsAreRefused) {
  const std::filesystem::path dir =
      std::filesystem::path(SMOLLM_SOURCE_DIR) / "tests/fuzz/regressions/gguf_fuzzer";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no GGUF fuzz regressions";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().string());
    absl::StatusOr<std::unique_ptr<Model>> model = Model::Open(entry.path().string());
    ASSERT_FALSE(model.ok());
    EXPECT_FALSE(model.status().message().empty());
  }
}

}  // namespace
}  // namespace smollm::runtime

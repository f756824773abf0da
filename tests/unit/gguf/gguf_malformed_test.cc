// The committed malformed-file corpus: each file must fail with the status in its manifest.
#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "tests/test_support.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

using gguf_test::ManifestCase;

constexpr char kDir[] = "gguf/malformed";

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(GgufMalformedTest, EveryFileFailsAsTheManifestSays) {
  const std::vector<ManifestCase> cases = gguf_test::LoadManifest(kDir);
  ASSERT_GE(cases.size(), 40u);
  for (const ManifestCase& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string bytes = testing::ReadFixture("gguf/malformed/" + c.file);
    EXPECT_LT(bytes.size(), 4096u);
    gguf_test::ExactParse parsed(AsBytes(bytes));
    ASSERT_FALSE(parsed.file.ok());
    EXPECT_EQ(absl::StatusCodeToString(parsed.file.status().code()), c.code)
        << parsed.file.status();
    EXPECT_NE(parsed.file.status().message().find(c.substring), std::string::npos)
        << "message: " << parsed.file.status().message() << "\nwanted: " << c.substring;

    // Open maps the file and reports the same error, prefixed by the path.
    const std::string path = testing::FixturePath("gguf/malformed/" + c.file);
    absl::StatusOr<GgufFile> opened = GgufFile::Open(path);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), parsed.file.status().code());
    EXPECT_EQ(opened.status().message(),
              path + ": " + std::string(parsed.file.status().message()));
  }
}

TEST(GgufMalformedTest, ManifestListsEveryFile) {
  EXPECT_EQ(gguf_test::ManifestFiles(kDir), gguf_test::GgufFilesIn(kDir));
}

}  // namespace
}  // namespace smollm::runtime

// The committed malformed-file corpus: each file must fail with the status in its manifest.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "tests/test_support.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

struct Case {
  std::string file;
  std::string code;
  std::string substring;
};

std::vector<Case> LoadManifest() {
  std::vector<Case> cases;
  const std::string manifest = testing::ReadFixture("gguf/malformed/manifest.tsv");
  for (absl::string_view line : absl::StrSplit(manifest, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const std::vector<std::string> f = absl::StrSplit(line, '\t');
    EXPECT_EQ(f.size(), 3u) << line;
    if (f.size() == 3) cases.push_back({f[0], f[1], f[2]});
  }
  return cases;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(GgufMalformedTest, EveryFileFailsAsTheManifestSays) {
  const std::vector<Case> cases = LoadManifest();
  ASSERT_GE(cases.size(), 40u);
  for (const Case& c : cases) {
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
  std::set<std::string> listed;
  for (const Case& c : LoadManifest()) listed.insert(c.file);
  std::set<std::string> present;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::FixturePath("gguf/malformed"))) {
    if (entry.path().extension() == ".gguf") present.insert(entry.path().filename());
  }
  EXPECT_EQ(listed, present);
}

}  // namespace
}  // namespace smollm::runtime

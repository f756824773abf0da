// Helpers shared by the GGUF tests: random bytes and parsing from an exact-size buffer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "tests/test_support.h"

namespace smollm::runtime::gguf_test {

inline std::vector<uint8_t> RandomBytes(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(byte(rng));
  return out;
}

// A parse over a heap copy of exactly `bytes.size()` bytes, so that AddressSanitizer
// catches any read past the end. The copy lives as long as this object.
struct ExactParse {
  explicit ExactParse(std::span<const uint8_t> bytes)
      : copy(new uint8_t[bytes.size()]), file(Parse(bytes, copy.get())) {}

  static absl::StatusOr<GgufFile> Parse(std::span<const uint8_t> bytes, uint8_t* dst) {
    std::copy(bytes.begin(), bytes.end(), dst);
    return GgufFile::Parse(std::span<const uint8_t>(dst, bytes.size()));
  }

  std::unique_ptr<uint8_t[]> copy;
  absl::StatusOr<GgufFile> file;
};

// One line of a fixture corpus manifest (manifest.tsv: file, absl status code name, a
// substring of the expected message; '#' starts a comment line).
struct ManifestCase {
  std::string file;
  std::string code;
  std::string substring;
};

// The manifest of fixture directory `dir` (relative to tests/fixtures).
inline std::vector<ManifestCase> LoadManifest(const std::string& dir) {
  std::vector<ManifestCase> cases;
  const std::string manifest = testing::ReadFixture(dir + "/manifest.tsv");
  for (absl::string_view line : absl::StrSplit(manifest, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const std::vector<std::string> f = absl::StrSplit(line, '\t');
    EXPECT_EQ(f.size(), 3u) << line;
    if (f.size() == 3) cases.push_back({f[0], f[1], f[2]});
  }
  return cases;
}

// Names of the .gguf files in fixture directory `dir`, and of those its manifest lists.
inline std::set<std::string> GgufFilesIn(const std::string& dir) {
  std::set<std::string> present;
  for (const auto& entry : std::filesystem::directory_iterator(testing::FixturePath(dir))) {
    if (entry.path().extension() == ".gguf") present.insert(entry.path().filename());
  }
  return present;
}
inline std::set<std::string> ManifestFiles(const std::string& dir) {
  std::set<std::string> listed;
  for (const ManifestCase& c : LoadManifest(dir)) listed.insert(c.file);
  return listed;
}

}  // namespace smollm::runtime::gguf_test

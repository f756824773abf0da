// MappedFile: contents, errors and move semantics.
#include "runtime/core/mapped_file.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

TEST(MappedFile, MapsContents) {
  const std::string path = ::testing::TempDir() + "/mapped_file_test.bin";
  std::ofstream(path, std::ios::binary) << "hello";
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->bytes().size(), 5u);
  EXPECT_EQ(file->bytes()[4], 'o');
  MappedFile moved = std::move(*file);
  EXPECT_EQ(moved.bytes().size(), 5u);
  EXPECT_TRUE(file->bytes().empty());
  std::remove(path.c_str());
}

TEST(MappedFile, ErrorsAreStatuses) {
  EXPECT_EQ(MappedFile::Open("/nonexistent/x.gguf").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MappedFile::Open("/tmp").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MappedFile, EmptyFile) {
  const std::string path = ::testing::TempDir() + "/mapped_file_empty.bin";
  std::ofstream(path, std::ios::binary).flush();
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->bytes().empty());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace smollm::runtime

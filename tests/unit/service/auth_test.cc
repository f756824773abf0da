// API keys: loading (file and list), bearer parsing, principals that never show the key.
#include "service/auth.h"

#include <cstdio>
#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace smollm::service {
namespace {

std::string RandomKey(std::mt19937& rng) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  std::string key;
  for (int i = 0; i < 32; ++i) key += kChars[rng() % (sizeof(kChars) - 1)];
  return key;
}

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/smollm_keys_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::ofstream(path) << text;
  close(fd);
  return path;
}

TEST(AuthTest, NoKeysAcceptsEveryoneAsAnonymous) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Load("", "");
  ASSERT_TRUE(keys.ok());
  EXPECT_FALSE(keys->enabled());
  EXPECT_EQ(*keys->Authenticate(nullptr), "anonymous");
  const std::string junk = "Bearer whatever";
  EXPECT_EQ(*keys->Authenticate(&junk), "anonymous");
}

TEST(AuthTest, FileAndListKeys) {
  std::mt19937 rng(7);
  const std::string a = RandomKey(rng), b = RandomKey(rng), c = RandomKey(rng);
  const std::string path = WriteTemp("# team keys\n\n  " + a + "  \n#" + c + "\n" + b + "\n");
  absl::StatusOr<ApiKeys> keys = ApiKeys::Load(path, " " + c + " ,");
  std::remove(path.c_str());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 3u);
  for (const std::string& key : {a, b, c}) {
    const std::string header = "Bearer " + key;
    absl::StatusOr<std::string> principal = keys->Authenticate(&header);
    ASSERT_TRUE(principal.ok()) << principal.status();
    EXPECT_EQ(*principal, ApiKeys::PrincipalOf(key));
    EXPECT_TRUE(absl::StartsWith(*principal, "key-"));
    EXPECT_EQ(principal->size(), 12u);
    EXPECT_FALSE(absl::StrContains(key, principal->substr(4))) << "principal shows the key";
    const std::string lower = "bearer  " + key + " ";
    EXPECT_EQ(*keys->Authenticate(&lower), *principal);
  }
  EXPECT_NE(ApiKeys::PrincipalOf(a), ApiKeys::PrincipalOf(b));
}

TEST(AuthTest, RejectsMissingMalformedAndUnknownKeys) {
  std::mt19937 rng(11);
  const std::string key = RandomKey(rng);
  const ApiKeys keys = ApiKeys::FromKeys({key});
  EXPECT_EQ(keys.Authenticate(nullptr).status().code(), absl::StatusCode::kUnauthenticated);
  for (const std::string& bad :
       std::vector<std::string>{"", key, "Basic " + key, "Bearer", "Bearer ",
                                "Bearer " + key + "x", "Bearer " + RandomKey(rng)}) {
    absl::StatusOr<std::string> p = keys.Authenticate(&bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_FALSE(absl::StrContains(p.status().message(), key)) << "error message shows the key";
  }
}

TEST(AuthTest, BadKeyFiles) {
  EXPECT_EQ(ApiKeys::Load("/nonexistent/keys", "").status().code(), absl::StatusCode::kNotFound);
  const std::string path = WriteTemp("goodkey-123456\nq7Zp\n");
  const absl::Status st = ApiKeys::Load(path, "").status();
  std::remove(path.c_str());
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(st.message(), "line 2")) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), "q7Zp")) << "message shows the key";
  EXPECT_EQ(ApiKeys::Load("", "has space inside-123").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smollm::service

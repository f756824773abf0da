// JsonValue: parsing as Python's json.loads, printing as json.dumps and str(), text helpers.
#include "runtime/tokenizer/json_value.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "runtime/tokenizer/json_value_python.h"
#include "runtime/tokenizer/json_value_text.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

const JsonValue& Fixture() {
  static const JsonValue* fixture = [] {
    absl::StatusOr<JsonValue> parsed =
        ParseJson(testing::ReadFixture("chat_template/chat_template_cases.json"));
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return new JsonValue(parsed.ok() ? *std::move(parsed) : JsonValue());
  }();
  return *fixture;
}

// Every document of the corpus prints exactly as Python printed what json.loads returned.
TEST(JsonValue, MatchesPythonOnCorpus) {
  const JsonValue* corpus = Fixture().Find("json_corpus");
  ASSERT_NE(corpus, nullptr);
  ASSERT_GE(corpus->items().size(), 200u);
  for (const JsonValue& entry : corpus->items()) {
    const std::string& input = entry.Find("input")->text();
    absl::StatusOr<JsonValue> value = ParseJson(input);
    ASSERT_TRUE(value.ok()) << value.status() << " for " << input;
    EXPECT_EQ(DumpJsonPython(*value), entry.Find("dumps")->text()) << input;
    EXPECT_EQ(PythonStr(*value), entry.Find("str")->text()) << input;
    // Python's output parses back to the same value.
    absl::StatusOr<JsonValue> again = ParseJson(entry.Find("dumps")->text());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(DumpJsonPython(*again), entry.Find("dumps")->text());
  }
}

TEST(JsonValue, RejectsWhatPythonRejects) {
  const JsonValue* invalid = Fixture().Find("json_invalid");
  ASSERT_NE(invalid, nullptr);
  ASSERT_GE(invalid->items().size(), 30u);
  for (const JsonValue& text : invalid->items()) {
    absl::StatusOr<JsonValue> value = ParseJson(text.text());
    ASSERT_FALSE(value.ok()) << "accepted " << text.text();
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(value.status().message().find("invalid JSON at byte "), std::string::npos);
  }
}

// Corrupted documents (random byte edits, fixed seed) parse or fail cleanly; whatever parses
// prints text that parses back to the same printout.
TEST(JsonValue, SurvivesRandomCorruption) {
  const JsonValue* corpus = Fixture().Find("json_corpus");
  ASSERT_NE(corpus, nullptr);
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int round = 0; round < 4; ++round) {
    for (const JsonValue& entry : corpus->items()) {
      std::string text = entry.Find("input")->text();
      if (text.empty()) continue;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[at] = static_cast<char>(rng() & 0xFF);
            break;
          case 1:
            text.erase(at, 1);
            break;
          default:
            text.insert(at, 1, "[]{}\",:\\u0e-."[rng() % 14]);
            break;
        }
        if (text.empty()) break;
      }
      absl::StatusOr<JsonValue> value = ParseJson(text);
      if (!value.ok()) {
        EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++parsed;
      const std::string dumped = DumpJsonPython(*value);
      absl::StatusOr<JsonValue> again = ParseJson(dumped);
      ASSERT_TRUE(again.ok()) << again.status() << " for " << dumped;
      EXPECT_EQ(DumpJsonPython(*again), dumped);
      EXPECT_EQ(PythonStr(*again), PythonStr(*value));
    }
  }
  EXPECT_GT(parsed, 0);
}

TEST(JsonValue, ErrorsNameTheByteOffset) {
  EXPECT_EQ(ParseJson("[1, 2,, 3]").status().message(), "invalid JSON at byte 6: expected a value");
  EXPECT_EQ(ParseJson("{\"a\": 1} x").status().message(),
            "invalid JSON at byte 9: extra data after the value");
  EXPECT_EQ(ParseJson("\"ab\xC3\x28\"").status().message(),
            "invalid JSON at byte 3: invalid UTF-8");
}

TEST(JsonValue, KeepsKeyOrderAndPythonDuplicateRule) {
  absl::StatusOr<JsonValue> value = ParseJson(R"({"z": 1, "a": {"y": [], "b": 2}, "z": 3})");
  ASSERT_TRUE(value.ok());
  ASSERT_EQ(value->members().size(), 2u);
  EXPECT_EQ(value->members()[0].key, "z");
  EXPECT_EQ(value->Find("z")->text(), "3");
  EXPECT_EQ(value->Find("missing"), nullptr);
  EXPECT_EQ(DumpJsonPython(*value), R"({"z": 3, "a": {"y": [], "b": 2}})");
  EXPECT_EQ(PythonStr(*value), "{'z': 3, 'a': {'y': [], 'b': 2}}");
}

// Python accepts lone surrogates; they have no UTF-8 form, so we refuse them.
TEST(JsonValue, RejectsUnpairedSurrogates) {
  EXPECT_FALSE(ParseJson(R"("\ud800")").ok());
  EXPECT_FALSE(ParseJson(R"("\udc00")").ok());
  EXPECT_FALSE(ParseJson(R"("\ud800\u0041")").ok());
  absl::StatusOr<JsonValue> pair = ParseJson(R"("\uD83D\uDE00")");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->text(), "\xF0\x9F\x98\x80");
}

TEST(JsonValue, DepthAndIntegerLimits) {
  const std::string ok_depth = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(ok_depth).ok());
  const std::string too_deep =
      std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ParseJson(too_deep).ok());
  // Python's int() limit: 4300 digits parse, 4301 do not.
  std::string digits(4300, '7');
  absl::StatusOr<JsonValue> big = ParseJson("-" + digits);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->text(), "-" + digits);
  EXPECT_FALSE(ParseJson(digits + "7").ok());
}

TEST(JsonValue, NegativeZeroIntegerIsZero) {
  absl::StatusOr<JsonValue> value = ParseJson("[-0, -0.0, 0e5]");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(DumpJsonPython(*value), "[0, -0.0, 0.0]");
}

TEST(PythonFloatRepr, KnownValues) {
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PythonFloatRepr(123456789012345.6), "123456789012345.6");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(0.00001), "1e-05");
  EXPECT_EQ(PythonFloatRepr(1.5e-7), "1.5e-07");
  EXPECT_EQ(PythonFloatRepr(5e-324), "5e-324");
  EXPECT_EQ(PythonFloatRepr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(PythonFloatRepr(0.1), "0.1");
  EXPECT_EQ(PythonFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(PythonFloatRepr(2.5), "2.5");
  EXPECT_EQ(PythonFloatRepr(100.0), "100.0");
  EXPECT_EQ(PythonFloatRepr(-INFINITY), "-inf");
  EXPECT_EQ(PythonFloatRepr(NAN), "nan");
}

// On random bit patterns the printed text reads back as the same double.
TEST(PythonFloatRepr, RoundTripsRandomDoubles) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const double value = std::bit_cast<double>(rng());
    if (!std::isfinite(value)) continue;
    const std::string text = PythonFloatRepr(value);
    double back = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_EQ(result.ec, std::errc()) << text;
    ASSERT_EQ(result.ptr, text.data() + text.size()) << text;
    EXPECT_EQ(std::bit_cast<uint64_t>(back), std::bit_cast<uint64_t>(value)) << text;
  }
}

TEST(PythonStringRepr, QuotesAndEscapes) {
  const auto repr = [](std::string_view s) {
    std::string out;
    AppendPythonStringRepr(s, &out);
    return out;
  };
  EXPECT_EQ(repr("plain"), "'plain'");
  EXPECT_EQ(repr("it's"), "\"it's\"");
  EXPECT_EQ(repr("both ' and \""), "'both \\' and \"'");
  EXPECT_EQ(repr("a\\b\n\t\r"), "'a\\\\b\\n\\t\\r'");
  EXPECT_EQ(repr(std::string("\0\x1f\x7f", 3)), "'\\x00\\x1f\\x7f'");
  EXPECT_EQ(repr("\xC2\xA0\xC3\xA9"), "'\\xa0\xC3\xA9'");                // nbsp, é
  EXPECT_EQ(repr("\xE2\x80\x8B\xE6\x9D\xB1"), "'\\u200b\xE6\x9D\xB1'");  // zwsp, 東
  EXPECT_EQ(repr("\xF3\xA0\x80\x81\xF0\x9F\x98\x80"), "'\\U000e0001\xF0\x9F\x98\x80'");
}

TEST(JsonValueText, PythonWhitespaceAndPrintable) {
  EXPECT_EQ(PythonRstrip("a b \t\n\xC2\xA0\xE3\x80\x80\xC2\x85"), "a b");
  EXPECT_EQ(PythonRstrip("x\xC2\xA9"), "x\xC2\xA9");  // © is not whitespace
  EXPECT_EQ(PythonRstrip(" \n"), "");
  EXPECT_EQ(PythonLstripAscii("\n\nhi\n", "\n"), "hi\n");
  EXPECT_EQ(PythonReplace("/think a /think", "/think", ""), " a ");
  EXPECT_TRUE(IsPythonPrintable(U' '));
  EXPECT_FALSE(IsPythonPrintable(0x7F));
  EXPECT_FALSE(IsPythonPrintable(0xA0));
  EXPECT_TRUE(IsPythonPrintable(0xE9));
  EXPECT_FALSE(IsPythonPrintable(0x378));  // unassigned
  EXPECT_TRUE(IsPythonPrintable(0x1F600));
  EXPECT_FALSE(IsPythonPrintable(0xE000));  // private use
  EXPECT_FALSE(IsPythonPrintable(0x10FFFF));
  EXPECT_FALSE(IsPythonPrintable(0x110000));
  EXPECT_TRUE(IsPythonWhitespace(0x3000));
  EXPECT_FALSE(IsPythonWhitespace(0x200B));
}

TEST(JsonValueText, Utf8Decoding) {
  EXPECT_FALSE(FindInvalidUtf8("ascii \xC3\xA9 \xF0\x9F\x98\x80").has_value());
  EXPECT_EQ(FindInvalidUtf8("ab\xC0\x80"), 2u);         // overlong
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);       // encoded surrogate
  EXPECT_EQ(FindInvalidUtf8("x\xF4\x90\x80\x80"), 1u);  // past U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("xy\xE2\x82"), 2u);         // truncated
  EXPECT_EQ(FindInvalidUtf8("\x80"), 0u);               // stray continuation
  std::string out;
  for (char32_t c : {U'A', U'\u00E9', U'\u6771', U'\U0001F600'}) AppendUtf8(c, &out);
  EXPECT_EQ(out, "A\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace smollm::runtime

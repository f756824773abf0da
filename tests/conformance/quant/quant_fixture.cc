// Fixture readers for the quant conformance tests.
#include "tests/conformance/quant/quant_fixture.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "runtime/core/status.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::testing {
namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}

  absl::Status Need(size_t n, const char* what) const {
    if (bytes_.size() - pos_ < n) {
      return absl::InvalidArgumentError(absl::StrCat("quant fixture: ", what, " at offset ", pos_,
                                                     " needs ", n, " bytes, ", bytes_.size() - pos_,
                                                     " left"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Uint(size_t width, const char* what) {
    RETURN_IF_ERROR(Need(width, what));
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += width;
    return v;
  }

  absl::StatusOr<std::string> Bytes(size_t n, const char* what) {
    RETURN_IF_ERROR(Need(n, what));
    std::string out(bytes_.substr(pos_, n));
    pos_ += n;
    return out;
  }

  absl::StatusOr<std::string> String(const char* what) {
    ASSIGN_OR_RETURN(const uint64_t n, Uint(2, what));
    return Bytes(n, what);
  }

  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<QuantCase>> ParseQuantCases(std::string_view bytes) {
  Cursor in(bytes);
  std::string magic;
  ASSIGN_OR_RETURN(magic, in.Bytes(8, "magic"));
  if (magic != "SMQFIX01") return absl::InvalidArgumentError("quant fixture: bad magic");
  uint64_t count = 0;
  ASSIGN_OR_RETURN(count, in.Uint(4, "case count"));
  std::vector<QuantCase> cases;
  for (uint64_t i = 0; i < count; ++i) {
    QuantCase c;
    uint64_t v = 0, n_elements = 0, n_bytes = 0;
    ASSIGN_OR_RETURN(v, in.Uint(4, "type"));
    c.type = static_cast<uint32_t>(v);
    ASSIGN_OR_RETURN(c.source, in.String("source"));
    ASSIGN_OR_RETURN(c.sha256, in.String("sha256"));
    ASSIGN_OR_RETURN(c.tensor, in.String("tensor"));
    ASSIGN_OR_RETURN(v, in.Uint(4, "row"));
    c.row = static_cast<uint32_t>(v);
    ASSIGN_OR_RETURN(n_elements, in.Uint(4, "n_elements"));
    ASSIGN_OR_RETURN(n_bytes, in.Uint(4, "n_bytes"));
    std::string raw;
    ASSIGN_OR_RETURN(raw, in.Bytes(n_bytes, "raw bytes"));
    c.raw.assign(raw.begin(), raw.end());
    RETURN_IF_ERROR(in.Need(4 * n_elements, "values"));
    c.value_bits.resize(n_elements);
    for (uint64_t k = 0; k < n_elements; ++k) {
      ASSIGN_OR_RETURN(v, in.Uint(4, "value"));
      c.value_bits[k] = static_cast<uint32_t>(v);
    }
    cases.push_back(std::move(c));
  }
  if (!in.AtEnd()) return absl::InvalidArgumentError("quant fixture: trailing bytes");
  return cases;
}

absl::StatusOr<RoundTripReference> ParseRoundTripReference(std::string_view text) {
  RoundTripReference ref;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    const std::string bad = absl::StrCat("roundtrip_reference.txt: bad line '", line, "'");
    if (f[0] == "seed" && f.size() == 2) {
      if (!absl::SimpleAtoi(f[1], &ref.seed)) return absl::InvalidArgumentError(bad);
    } else if (f[0] == "elements" && f.size() == 2) {
      if (!absl::SimpleAtoi(f[1], &ref.elements)) return absl::InvalidArgumentError(bad);
    } else if (f[0] == "amplitudes") {
      for (size_t i = 1; i < f.size(); ++i) {
        double a;
        if (!absl::SimpleAtod(f[i], &a)) return absl::InvalidArgumentError(bad);
        ref.amplitudes.push_back(a);
      }
    } else if (f[0] == "data_fnv1a64" && f.size() == 2) {
      if (!absl::SimpleHexAtoi(f[1], &ref.data_fnv1a64)) return absl::InvalidArgumentError(bad);
    } else if (f[0] == "rmse" && f.size() >= 3) {
      std::vector<double>& rmse = ref.rmse[std::string(f[1])];
      for (size_t i = 2; i < f.size(); ++i) {
        double r;
        if (!absl::SimpleAtod(f[i], &r)) return absl::InvalidArgumentError(bad);
        rmse.push_back(r);
      }
    } else if (f[0] != "producer") {
      return absl::InvalidArgumentError(bad);
    }
  }
  if (ref.elements == 0 || ref.amplitudes.empty() || ref.rmse.empty()) {
    return absl::InvalidArgumentError("roundtrip_reference.txt: missing fields");
  }
  return ref;
}

std::vector<std::vector<float>> GenerateRows(const RoundTripReference& ref) {
  RowGenerator gen(ref.seed);
  std::vector<std::vector<float>> rows;
  for (double amplitude : ref.amplitudes) rows.push_back(gen.Row(ref.elements, amplitude));
  return rows;
}

}  // namespace smollm::testing

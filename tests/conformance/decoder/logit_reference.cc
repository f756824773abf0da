// Reading reference fixtures (GGUF containers) and the logit measures.
#include "tests/conformance/decoder/logit_reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/quant/half.h"

namespace smollm::testing {
namespace {

using runtime::GgmlType;
using runtime::GgufFile;

// A tensor [rows][cols] (a vector [cols] when rows is 0) of F32, F16 or I32 widened to T.
template <typename T>
absl::StatusOr<std::vector<T>> ReadMatrix(const GgufFile& file, const std::string& name,
                                          int64_t rows, int64_t cols) {
  ASSIGN_OR_RETURN(const runtime::GgufTensorInfo* t, file.GetTensor(name));
  const bool shape_ok =
      rows == 0 ? t->dims.size() == 1 && static_cast<int64_t>(t->dims[0]) == cols
                : t->dims.size() == 2 && static_cast<int64_t>(t->dims[0]) == cols &&
                      static_cast<int64_t>(t->dims[1]) == rows;
  if (!shape_ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' is not [", rows, "][", cols, "]"));
  }
  std::vector<T> out(t->n_elements);
  const uint8_t* p = t->data.data();
  for (uint64_t i = 0; i < t->n_elements; ++i) {
    if (t->type == GgmlType::kF32) {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = static_cast<T>(v);
    } else if (t->type == GgmlType::kF16) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = static_cast<T>(runtime::Fp16ToFp32(h));
    } else if (t->type == GgmlType::kI32) {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = static_cast<T>(v);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has an unexpected type"));
    }
  }
  return out;
}

uint64_t SplitMix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

absl::StatusOr<LogitReference> ReadLogitReference(const std::string& path) {
  ASSIGN_OR_RETURN(GgufFile file, GgufFile::Open(path));
  LogitReference ref;
  ASSIGN_OR_RETURN(std::string_view reference, file.GetString("decoder.reference"));
  ref.reference = std::string(reference);
  ASSIGN_OR_RETURN(std::string_view sha, file.GetString("decoder.model_sha256"));
  ref.model_sha256 = std::string(sha);
  ASSIGN_OR_RETURN(ref.vocab, file.GetInt32("decoder.vocab"));
  ASSIGN_OR_RETURN(ref.buckets, file.GetInt32("decoder.sketch_buckets"));
  ASSIGN_OR_RETURN(ref.sketch_seed, file.GetUint64("decoder.sketch_seed"));
  ASSIGN_OR_RETURN(ref.top_k, file.GetInt32("decoder.top_k"));
  ASSIGN_OR_RETURN(int count, file.GetInt32("decoder.count"));
  for (int i = 0; i < count; ++i) {
    const std::string p = absl::StrCat("decoder.prompt.", i, ".");
    ReferencePrompt prompt;
    ASSIGN_OR_RETURN(std::string_view name, file.GetString(p + "name"));
    prompt.name = std::string(name);
    if (file.HasKey(p + "text")) {  // the writer leaves an empty string out
      ASSIGN_OR_RETURN(std::string_view text, file.GetString(p + "text"));
      prompt.text = std::string(text);
    }
    ASSIGN_OR_RETURN(prompt.n_prompt, file.GetInt32(p + "n_prompt"));
    ASSIGN_OR_RETURN(prompt.tokens, file.GetInt32Array(p + "tokens"));
    if (file.HasKey(p + "full_positions")) {  // the writer leaves an empty list out
      ASSIGN_OR_RETURN(prompt.full_positions, file.GetInt32Array(p + "full_positions"));
    }
    const int64_t n = prompt.n_positions();
    if (prompt.n_prompt < 1 || prompt.n_prompt > n) {
      return absl::InvalidArgumentError(absl::StrCat(p, "n_prompt is out of range"));
    }
    for (const int32_t pos : prompt.full_positions) {
      if (pos < 0 || pos >= n) {
        return absl::InvalidArgumentError(absl::StrCat(p, "full_positions holds ", pos));
      }
    }
    if (!prompt.full_positions.empty()) {
      ASSIGN_OR_RETURN(prompt.full, ReadMatrix<float>(file, p + "full",
                                                      prompt.full_positions.size(), ref.vocab));
    }
    if (ref.buckets > 0) {
      ASSIGN_OR_RETURN(prompt.sketch, ReadMatrix<float>(file, p + "sketch", n, ref.buckets));
    }
    if (ref.top_k > 0) {
      ASSIGN_OR_RETURN(prompt.top_ids, ReadMatrix<int32_t>(file, p + "top_ids", n, ref.top_k));
      ASSIGN_OR_RETURN(prompt.top_logits,
                       ReadMatrix<float>(file, p + "top_logits", n, ref.top_k));
    }
    if (file.FindTensor(p + "allowance") != nullptr) {
      ASSIGN_OR_RETURN(prompt.allowance, ReadMatrix<float>(file, p + "allowance", 0, n));
      ASSIGN_OR_RETURN(prompt.exact_top1, ReadMatrix<int32_t>(file, p + "exact_top1", 0, n));
    }
    if (file.HasKey(p + "own_greedy")) {
      ASSIGN_OR_RETURN(prompt.own_greedy, file.GetInt32Array(p + "own_greedy"));
      ASSIGN_OR_RETURN(prompt.exact_greedy_match, file.GetInt32(p + "exact_greedy_match"));
    }
    ref.prompts.push_back(std::move(prompt));
  }
  return ref;
}

double CentredCosine(std::span<const float> a, std::span<const float> b) {
  double mean_a = 0, mean_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    mean_a += a[i];
    mean_b += b[i];
  }
  mean_a /= a.size();
  mean_b /= b.size();
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i] - mean_a, y = b[i] - mean_b;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / std::sqrt(aa * bb);
}

double PlainCosine(std::span<const float> a, std::span<const float> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

int ArgMax(std::span<const float> row) {
  return static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
}

double RelativeError(std::span<const float> a, std::span<const float> b) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return max_diff / max_ref;
}

LogitSketch::LogitSketch(int vocab, int buckets, uint64_t seed)
    : buckets_(buckets), bucket_(vocab), sign_(vocab) {
  for (int i = 0; i < vocab; ++i) {
    const uint64_t z = SplitMix(seed + (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull);
    bucket_[i] = static_cast<int32_t>(z & static_cast<uint64_t>(buckets - 1));
    sign_[i] = (z >> 63) == 0 ? 1 : -1;
  }
}

double LogitSketch::RelativeSigma() const { return std::sqrt(2.0 / buckets_); }

double LogitSketch::EstimateOneMinusCosine(std::span<const float> row,
                                           std::span<const float> reference_sketch) const {
  double mean = 0;
  for (const float v : row) mean += v;
  mean /= row.size();
  double norm = 0;
  for (const float v : row) norm += (v - mean) * (v - mean);
  norm = std::sqrt(norm);
  std::vector<double> s(buckets_, 0.0);
  for (size_t i = 0; i < row.size(); ++i) s[bucket_[i]] += sign_[i] * (row[i] - mean) / norm;
  double d2 = 0;
  for (int j = 0; j < buckets_; ++j) {
    const double d = s[j] - reference_sketch[j];
    d2 += d * d;
  }
  return d2 / 2;
}

}  // namespace smollm::testing

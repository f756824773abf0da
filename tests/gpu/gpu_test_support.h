// Helpers of the GPU tests (plain executables: the GPU host builds them from the project
// and the CUDA toolkit alone): checks that count failures, host<->backend copies, and
// the model-to-DecodeModel mapping.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "runtime/backend/backend.h"
#include "runtime/backend/cuda/decode_graph.h"
#include "runtime/model/model.h"
#include "runtime/model/model_config.h"
#include "runtime/model/weights.h"

namespace smollm::gpu_test {

// Failures so far; each failed check prints one line.
int& Failures();
#define GPU_CHECK(cond, ...)                                      \
  do {                                                            \
    if (!(cond)) {                                                \
      ++::smollm::gpu_test::Failures();                           \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                   \
      std::printf("\n");                                          \
    }                                                             \
  } while (0)

// Exits with a message when `status` is not OK (setup that the rest depends on).
void Require(const absl::Status& status, const char* what);
template <class T>
T Require(absl::StatusOr<T> value, const char* what) {
  Require(value.status(), what);
  return *std::move(value);
}

// A rows x cols f32 matrix in `backend`'s memory, kept alive by `keep`. Poisoned (NaN
// bytes) unless filled with `values`.
runtime::Activations MakeActivations(runtime::Backend& backend,
                                     std::vector<runtime::DeviceBuffer>& keep, int64_t rows,
                                     int64_t cols, const std::vector<float>* values = nullptr);
std::vector<float> ToHost(runtime::Backend& backend, const runtime::Activations& a);

// max |got - want| / max |want|; +inf when got holds a NaN or the sizes differ.
double RelativeError(const std::vector<float>& got, const std::vector<float>& want);

// The model named by the only argument of a GPU test or benchmark `program`; exits with
// its usage line otherwise.
std::unique_ptr<runtime::Model> ModelFromArgs(int argc, char** argv, const char* program);

// Cosine similarity of two equally long vectors (0 when either is zero or holds a NaN).
double Cosine(const std::vector<float>& a, const std::vector<float>& b);

// Random ordinary token ids (above the first 300, which hold special tokens in real
// vocabularies) from a fixed seed.
std::vector<runtime::TokenId> RandomTokens(int n, int vocab, uint32_t seed);

runtime::DecodeModel DecodeModelFrom(const runtime::ModelConfig& config,
                                     const runtime::ModelWeights& weights);

}  // namespace smollm::gpu_test

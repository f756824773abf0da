// The model a benchmark runs: $SMOLLM_BENCH_MODEL, else the test model; opened once.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/model/model.h"

namespace smollm::runtime {

inline std::string BenchModelPath() {
  const char* path = std::getenv("SMOLLM_BENCH_MODEL");
  return path != nullptr && *path != '\0' ? path : SMOLLM_DEFAULT_TEST_MODEL;
}

// Exits the benchmark with the reason when the model cannot be opened.
inline const Model& BenchModel() {
  static const Model* model = [] {
    auto opened = Model::Open(BenchModelPath());
    if (!opened.ok()) {
      std::fprintf(stderr, "%s: %s\n", BenchModelPath().c_str(),
                   std::string(opened.status().message()).c_str());
      std::exit(1);
    }
    return opened->release();
  }();
  return *model;
}

}  // namespace smollm::runtime

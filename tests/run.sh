#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds everything and runs every test: the unit and
# conformance suites in an optimised build, then again under ASan+UBSan, then the
# Python cross-checks against the `gguf` package.
#   tests/run.sh            all of it
#   SMOLLM_SKIP_SANITIZERS=1 tests/run.sh   without the sanitizer pass (local iteration)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

deploy/setup.sh
model=$(deploy/fetch-model.sh)
jobs=${SMOLLM_JOBS:-$(nproc)}

configure_build_test() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DSMOLLM_TEST_MODEL="$model" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
}

echo "== release build and tests"
configure_build_test build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [[ -z ${SMOLLM_SKIP_SANITIZERS:-} ]]; then
  echo "== ASan+UBSan build and tests"
  # CUDA and the service are built and linted by the release pass; the sanitizer pass
  # covers the code that parses untrusted input.
  configure_build_test build/asan -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DSMOLLM_SANITIZE=address,undefined \
    -DSMOLLM_WITH_CUDA=OFF
fi

echo "== layering: the runtime never includes gRPC, Protobuf or prometheus"
if grep -rnE '#include [<"](grpc|grpcpp|google/protobuf|prometheus)/' runtime/; then
  echo "runtime/ must not depend on the service stack" >&2
  exit 1
fi

echo "all tests passed"

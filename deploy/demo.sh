#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds the runtime tools, and runs them on the default
# model: its description and the tokenization of a sample chat.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

deploy/setup.sh
model=$(deploy/fetch-model.sh)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSMOLLM_TEST_MODEL="$model" >/dev/null
cmake --build build/release --target smollm-inspect
build/release/runtime/tools/smollm-inspect --model "$model" "$@"

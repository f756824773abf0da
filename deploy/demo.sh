#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds the runtime tools, and runs them on the default
# model: its description, the tokenization of a sample chat, and a chat answer generated
# on the CPU (extra arguments go to smollm-generate).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

deploy/setup.sh
model=$(deploy/fetch-model.sh)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSMOLLM_TEST_MODEL="$model" >/dev/null
cmake --build build/release --target smollm-inspect smollm-generate
build/release/runtime/tools/smollm-inspect --model "$model"
echo "== smollm-generate --chat"
build/release/runtime/tools/smollm-generate --model "$model" --chat \
  --prompt "What is the capital of France? Answer in one sentence." --max_tokens 64 "$@"

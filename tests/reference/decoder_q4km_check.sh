#!/usr/bin/env bash
# The local SmolLM2 Q4_K_M decoder check (not run in CI, which cannot run llama.cpp's
# quantizer): requantizes the Q4_1 test model to Q4_K_M with llama.cpp, computes
# llama.cpp's references on it, and runs the SmolLM2 conformance suite against them with
# 64 free-running greedy tokens.
#   tests/reference/decoder_q4km_check.sh BUILD_DIR [WORK_DIR]
# BUILD_DIR holds the built smollm2_q4_k_m_check (cmake --build BUILD_DIR --target
# smollm2_q4_k_m_check); WORK_DIR (default /tmp/decoder_q4km) receives the model and the
# references. Needs .venv with llama-cpp-python and transformers, and the Q4_1 model at
# the path decoder_smollm2_reference.py names (or --model there).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?usage: $0 BUILD_DIR [WORK_DIR]}
work=${2:-/tmp/decoder_q4km}

"$root/.venv/bin/python" "$root/tests/reference/decoder_smollm2_reference.py" --q4-k-m "$work"
SMOLLM_DECODER_Q4KM_DIR="$work" "$build/tests/conformance/decoder/smollm2_q4_k_m_check"

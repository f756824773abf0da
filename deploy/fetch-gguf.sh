#!/usr/bin/env bash
# Downloads a GGUF by URL to a path (a volume), resuming a partial download, and refuses
# the file unless its sha256 matches. The image's optional start step and the Helm chart's
# init container run it before smollm-server.
#   deploy/fetch-gguf.sh URL DEST SHA256
# Each argument may instead come from the environment: SMOLLM_MODEL_URL, SMOLLM_MODEL
# (DEST, as the server's --model), SMOLLM_MODEL_SHA256. Optional environment:
#   SMOLLM_FETCH_TOKEN    sent as `Authorization: Bearer …` (e.g. a Hugging Face token)
#   SMOLLM_FETCH_RETRIES  more attempts after a failed transfer (default 5), each resuming
#
# Files and outcomes:
# - DEST with the right sha256 exists: nothing is fetched (exit 0).
# - DEST with another sha256 exists: it is removed and downloaded again.
# - The transfer goes to DEST.part and resumes from its size (HTTP Range) on the next run;
#   a server that ignores Range gets the whole file again.
# - A transfer that fails keeps DEST.part for the next run (exit 3).
# - A complete download whose sha256 differs is removed (resuming it could never fix it)
#   and DEST is not created (exit 4).
# - Bad arguments: exit 2. The verified file is renamed to DEST (atomically).
set -euo pipefail

url=${1:-${SMOLLM_MODEL_URL:-}}
dest=${2:-${SMOLLM_MODEL:-}}
want=${3:-${SMOLLM_MODEL_SHA256:-}}
retries=${SMOLLM_FETCH_RETRIES:-5}

die() { echo "fetch-gguf: $2" >&2; exit "$1"; }
[[ -n $url && -n $dest && -n $want ]] || die 2 "usage: fetch-gguf.sh URL DEST SHA256 (or SMOLLM_MODEL_URL, SMOLLM_MODEL, SMOLLM_MODEL_SHA256)"
want=${want,,}
[[ $want =~ ^[0-9a-f]{64}$ ]] || die 2 "SHA256 must be 64 hex digits, got '$want'"
[[ $retries =~ ^[0-9]+$ ]] || die 2 "SMOLLM_FETCH_RETRIES must be a number, got '$retries'"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
part=$dest.part
mkdir -p "$(dirname "$dest")"

if [[ -f $dest ]]; then
  if [[ $(sha_of "$dest") == "$want" ]]; then
    echo "fetch-gguf: $dest is present and verified" >&2
    exit 0
  fi
  echo "fetch-gguf: $dest has another sha256; downloading it again" >&2
  rm -f "$dest"
fi

curl_args=(--fail --location --silent --show-error --connect-timeout 20 --output "$part")
[[ -n ${SMOLLM_FETCH_TOKEN:-} ]] && curl_args+=(--header "Authorization: Bearer $SMOLLM_FETCH_TOKEN")

# One transfer that continues DEST.part. curl's own --retry starts over from the first
# offset, so retries are this loop's, each resuming from the bytes already written.
fetch_once() {
  local rc=0
  if [[ -s $part ]]; then
    # A .part that holds the whole file needs no transfer (a Range past its end gets 416).
    [[ $(sha_of "$part") == "$want" ]] && return 0
    echo "fetch-gguf: resuming $part at $(stat -c %s "$part") bytes" >&2
  fi
  curl "${curl_args[@]}" --continue-at - "$url" || rc=$?
  if ((rc == 33)); then  # the server does not do ranges: start over
    echo "fetch-gguf: the server cannot resume; downloading from the start" >&2
    rm -f "$part"
    rc=0
    curl "${curl_args[@]}" "$url" || rc=$?
  fi
  return $rc
}

rc=0
for ((attempt = 0; attempt <= retries; attempt++)); do
  ((attempt == 0)) || sleep 2
  rc=0
  fetch_once || rc=$?
  ((rc == 0)) && break
  echo "fetch-gguf: attempt $((attempt + 1)) of $((retries + 1)) failed (curl exit $rc)" >&2
done
((rc == 0)) || die 3 "download of $url failed; $part is kept, run again to resume"

got=$(sha_of "$part")
if [[ $got != "$want" ]]; then
  rm -f "$part"
  die 4 "sha256 mismatch for $url: got $got, expected $want; the download was removed"
fi
mv -f "$part" "$dest"
echo "fetch-gguf: $dest verified ($want)" >&2

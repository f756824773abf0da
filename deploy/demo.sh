#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds the server and the client, starts smollm-server on
# the default model, and runs a short demonstration chat through the `smollm` client:
# model info, a two-turn session (the second turn reuses the first's KV cache), then a
# graceful drain (SIGTERM). Extra arguments go to `smollm chat`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

deploy/setup.sh
model=$(deploy/fetch-model.sh)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSMOLLM_TEST_MODEL="$model" >/dev/null
cmake --build build/release --target smollm-server smollm

server=build/release/service/smollm-server
client=build/release/service/client/smollm
log=$(mktemp -t smollm-demo.XXXXXX.log)

"$server" --model "$model" --host 127.0.0.1 --port 0 --metrics_port 0 2>"$log" &
server_pid=$!
trap 'kill -TERM $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true' EXIT

# The server logs one JSON line per event; "serving" carries the ports it bound.
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*"event":"serving".*"port":\([0-9]*\).*/\1/p' "$log" | head -n1)
  [[ -n $port ]] && break
  kill -0 $server_pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $port ]] || { echo "demo: the server did not start; its log:" >&2; cat "$log" >&2; exit 1; }
export SMOLLM_TARGET=127.0.0.1:$port

echo "== smollm health"
"$client" health
echo "== smollm info"
"$client" info
echo "== smollm chat (two turns in one session)"
printf '%s\n' "What is the capital of France? Answer in one sentence." \
  "And of Italy?" | "$client" chat --temperature=0 --max_tokens=64 "$@"

echo "== SIGTERM: the server drains and exits"
kill -TERM $server_pid
wait $server_pid && echo "server exited with 0"
trap - EXIT

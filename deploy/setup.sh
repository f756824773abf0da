#!/usr/bin/env bash
# Installs everything smollm-serve needs on Debian 12, idempotently:
#   deploy/setup.sh            build and runtime packages plus the test venv (.venv)
#   deploy/setup.sh --build    only the build packages (the image's build stage)
#   deploy/setup.sh --runtime  only what the compiled binaries need at run time
# Re-running it is cheap: installed packages and an up-to-date venv are left alone.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-full}

build_packages=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  python3 python3-venv python3-pip
  libabsl-dev libdnnl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto
  prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  haproxy nginx  # the routing test runs them (unprivileged) in front of replicas
)
runtime_packages=(
  ca-certificates curl libabsl20220623 libdnnl2 libgrpc++1.51 libprotobuf32
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0
)

if [[ $mode == --runtime ]]; then
  wanted=("${runtime_packages[@]}")
else
  wanted=("${build_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[[ $mode == --runtime || $mode == --build ]] && exit 0

# The test venv: small PyPI tools that CI uses (the heavy reference tools live in
# tests/reference/requirements.txt and are installed by hand).
venv=$root/.venv
requirements=$root/tests/requirements.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
fi
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$requirements"
  echo "$want" > "$stamp"
fi
echo "setup: done"

"""Generates the Python stubs of the smollm.v1 API and grpc.health.v1 at test time, or
imports them from SMOLLM_PY_STUBS (a directory this script filled earlier, for hosts
without grpcio-tools):  python3 stubs.py OUT_DIR [REPO]"""

import importlib
import os
import shutil
import sys

# Debian's grpc-proto package (installed by deploy/setup.sh) holds health.proto.
GRPC_PROTO_DIR = os.environ.get("SMOLLM_GRPC_PROTO_DIR", "/usr/share/grpc-proto")


def _load():
    return (importlib.import_module("smollm.v1.inference_pb2"),
            importlib.import_module("smollm.v1.inference_pb2_grpc"),
            importlib.import_module("smollm_health.health_pb2"),
            importlib.import_module("smollm_health.health_pb2_grpc"))


def generate(repo, out):
    """Writes the stubs under `out` (or takes SMOLLM_PY_STUBS's); returns (messages,
    services, health, health_services)."""
    prebuilt = os.environ.get("SMOLLM_PY_STUBS")
    if prebuilt:
        sys.path.insert(0, prebuilt)
        return _load()
    import grpc_tools
    from grpc_tools import protoc
    bundled = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    # The health stubs cannot live at grpc/health/v1 in Python: grpcio owns the `grpc`
    # package. A copy under another file name keeps the wire names (grpc.health.v1).
    health_root = os.path.join(out, "health_src")
    os.makedirs(os.path.join(health_root, "smollm_health"))
    shutil.copy(os.path.join(GRPC_PROTO_DIR, "grpc/health/v1/health.proto"),
                os.path.join(health_root, "smollm_health", "health.proto"))
    jobs = [
        (os.path.join(repo, "proto"), "smollm/v1/inference.proto"),
        (health_root, "smollm_health/health.proto"),
    ]
    for root, rel in jobs:
        rc = protoc.main(["grpc_tools.protoc", "-I" + root, "-I" + bundled,
                          "--python_out=" + out, "--grpc_python_out=" + out,
                          os.path.join(root, rel)])
        if rc != 0:
            raise RuntimeError("protoc failed on %s (exit %d)" % (rel, rc))
    sys.path.insert(0, out)
    return _load()


if __name__ == "__main__":
    target = sys.argv[1]
    os.makedirs(target, exist_ok=True)
    generate(sys.argv[2] if len(sys.argv) > 2 else
             os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."), target)

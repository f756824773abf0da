"""Generates the Python stubs of the smollm.v1 API and grpc.health.v1 at test time."""

import importlib
import os
import shutil
import sys

import grpc_tools
from grpc_tools import protoc

# Debian's grpc-proto package (installed by deploy/setup.sh) holds health.proto.
GRPC_PROTO_DIR = os.environ.get("SMOLLM_GRPC_PROTO_DIR", "/usr/share/grpc-proto")


def generate(repo, out):
    """Writes the stubs under `out`; returns (messages, services, health, health_services)."""
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
    return (importlib.import_module("smollm.v1.inference_pb2"),
            importlib.import_module("smollm.v1.inference_pb2_grpc"),
            importlib.import_module("smollm_health.health_pb2"),
            importlib.import_module("smollm_health.health_pb2_grpc"))

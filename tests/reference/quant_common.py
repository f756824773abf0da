"""Shared helpers of the quant reference scripts: the deterministic row generator (the
C++ tests carry a copy), the fixture container writer, and ctypes access to the ggml
library bundled with llama-cpp-python."""

from __future__ import annotations

import ctypes
import hashlib
import os
import struct

import numpy as np

FIXTURE_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "quant"))

# ---------------------------------------------------------------- row generator
# splitmix64 driving an Irwin-Hall approximation of a normal distribution (the sum of 12
# uniforms minus 6), with one value in 64 scaled by 8 as an outlier. Only integer ops
# and exact-or-IEEE double additions/multiplications are used, so the C++ copy
# (tests/unit/quant/test_rows.h) reproduces every float bit for bit.

MASK64 = (1 << 64) - 1


class RowGenerator:
    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self) -> float:
        return float(self.next_u64() >> 11) * (1.0 / 9007199254740992.0)  # [0, 1), exact

    def value(self, amplitude: float) -> np.float32:
        s = 0.0
        for _ in range(12):
            s += self.uniform()
        v = s - 6.0
        if self.next_u64() % 64 == 0:
            v *= 8.0
        return np.float32(v * amplitude)

    def row(self, n: int, amplitude: float) -> np.ndarray:
        return np.array([self.value(amplitude) for _ in range(n)], dtype=np.float32)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


# ---------------------------------------------------------------- fixture container
# Little-endian. Header: b"SMQFIX01", u32 case count. Each case:
#   u32 ggml type id
#   str source (file name or producer), str source sha256 (hex, "" for generated data),
#   str tensor (tensor name or description)            -- str = u16 length + UTF-8
#   u32 row, u32 n_elements, u32 n_bytes, n_bytes raw block bytes,
#   n_elements u32: bit patterns of the expected float32 values.

class Case:
    def __init__(self, ggml_type: int, source: str, sha256: str, tensor: str, row: int,
                 raw: bytes, values: np.ndarray):
        values = np.ascontiguousarray(values, dtype=np.float32)
        self.ggml_type, self.source, self.sha256, self.tensor = ggml_type, source, sha256, tensor
        self.row, self.raw, self.values = row, bytes(raw), values


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def write_cases(path: str, cases: list[Case]) -> None:
    out = bytearray(b"SMQFIX01" + struct.pack("<I", len(cases)))
    for c in cases:
        out += struct.pack("<I", c.ggml_type)
        out += _str(c.source) + _str(c.sha256) + _str(c.tensor)
        out += struct.pack("<III", c.row, c.values.size, len(c.raw)) + c.raw
        out += c.values.view(np.uint32).astype("<u4").tobytes()
    with open(path, "wb") as f:
        f.write(out)
    print(f"wrote {path}: {len(cases)} cases, {len(out)} bytes")


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- ggml via ctypes

class Ggml:
    """The ggml reference (de)quantizers inside llama-cpp-python's bundled libraries."""

    def __init__(self):
        import llama_cpp  # noqa: F401  (loads the libraries and fixes their location)
        lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
        self.base = ctypes.CDLL(os.path.join(lib_dir, "libggml-base.so"))
        self.base.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.base.ggml_quantize_chunk.argtypes = [
            ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
            ctypes.c_int64, ctypes.c_void_p]
        self.base.ggml_row_size.restype = ctypes.c_size_t
        self.base.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
        self.version = llama_cpp.__version__

    def row_size(self, ggml_type: int, n: int) -> int:
        return self.base.ggml_row_size(ggml_type, n)

    def quantize_chunk(self, ggml_type: int, rows: np.ndarray) -> bytes:
        """ggml_quantize_chunk without an importance matrix: the quantize_row_*_ref path."""
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        nrows, n = rows.shape
        dst = ctypes.create_string_buffer(self.row_size(ggml_type, n) * nrows)
        self.base.ggml_quantize_chunk(ggml_type, rows.ctypes.data, dst, 0, nrows, n, None)
        return dst.raw

    def quantize_row_ref(self, name: str, ggml_type: int, row: np.ndarray) -> bytes:
        """A quantize_row_<name>_ref symbol called directly (Q8_1, Q8_K lack a chunk path)."""
        row = np.ascontiguousarray(row, dtype=np.float32)
        dst = ctypes.create_string_buffer(self.row_size(ggml_type, row.size))
        fn = getattr(self.base, f"quantize_row_{name}_ref")
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        fn(row.ctypes.data, dst, row.size)
        return dst.raw

    def dequantize_row(self, name: str, raw: bytes, n: int) -> np.ndarray:
        """ggml's scalar dequantize_row_<name>."""
        fn = getattr(self.base, f"dequantize_row_{name}")
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        src = ctypes.create_string_buffer(raw, len(raw))
        out = np.empty(n, dtype=np.float32)
        fn(src, out.ctypes.data, n)
        return out

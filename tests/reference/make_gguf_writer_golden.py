#!/usr/bin/env python3
"""Writes tests/fixtures/gguf/gguf_py_golden.gguf with the gguf package's GGUFWriter.

gguf_writer_test builds the same content with the C++ GgufWriter and requires the very
same bytes, so the two writers must agree on every encoding and on the layout (metadata
order, tensor offsets, padding). Tensor bytes come from a 64-bit LCG that the test
reimplements. Keep the content here and in MakeGoldenContent() in step.

Usage: .venv/bin/python tests/reference/make_gguf_writer_golden.py [OUT]
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V
from gguf import GGUFWriter


def lcg_bytes(state: int, n: int):
    out = bytearray()
    for _ in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        out.append(state >> 56)
    return state, bytes(out)


def main(path: str) -> None:
    w = GGUFWriter(path, "llama")  # writes general.architecture first
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.15625)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "h\u00e9llo w\u00f6rld")
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62))
    w.add_float64("test.f64", -1.5e300)
    w.add_array("test.tokens", ["<s>", "</s>", "a", "\u00e9", ""])
    w.add_key_value("test.scores", [0.5, -1.25, 3.0e-5], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("test.ids", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("test.nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)

    # (name, GGUF dims, type, byte shape as gguf-py wants it: numpy order, last = row bytes)
    tensors = [
        ("t.f32", [7], Q.F32, (28,)),
        ("t.f16", [3, 5], Q.F16, (5, 6)),
        ("t.q8_0", [64, 2], Q.Q8_0, (2, 68)),
        ("t.q4_k", [256, 3], Q.Q4_K, (3, 144)),
        ("t.q6_k", [256], Q.Q6_K, (210,)),
    ]
    state = 42
    for name, _dims, qtype, byte_shape in tensors:
        state, data = lcg_bytes(state, int(np.prod(byte_shape)))
        w.add_tensor(name, np.frombuffer(data, dtype=np.uint8).reshape(byte_shape), raw_dtype=qtype)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(here, "..", "fixtures", "gguf", "gguf_py_golden.gguf"))

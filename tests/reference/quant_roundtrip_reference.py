#!/usr/bin/env python3
"""Reference data for the quantizer tests (tests/conformance/quant/quantize_conformance_test.cc).

1. Round-trip RMSE of llama.cpp's reference quantizers (ggml_quantize_chunk without an
   importance matrix, i.e. quantize_row_{q8_0,q5_0,q4_K,q6_K}_ref) on rows from the
   deterministic generator in quant_common.py. Our quantizers must not do worse.
   Output: tests/fixtures/quant/roundtrip_reference.txt (the generator parameters, a
   checksum of the generated floats, one RMSE per type).
2. ggml's bytes for the quantizers ours must match exactly (Q8_0, Q5_0 via
   ggml_quantize_chunk; Q8_1, Q8_K via quantize_row_*_ref) on the same rows, with
   ggml's dequantized values (numpy d * q for Q8_1, which ggml cannot dequantize).
   Output: tests/fixtures/quant/quantize_cases.bin (format in quant_common.py).
Run from the repository root: .venv/bin/python tests/reference/quant_roundtrip_reference.py
"""

from __future__ import annotations

import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

from quant_common import FIXTURE_DIR, Case, Ggml, RowGenerator, fnv1a64, write_cases

SEED = 0x5EED2024
ELEMENTS = 4096
AMPLITUDES = [0.02, 1.0, 0.0005, 30.0]  # one row each: typical weights to large values
RMSE_TYPES = [T.Q8_0, T.Q5_0, T.Q4_K, T.Q6_K]


def ggml_name(qtype: T) -> str:
    return qtype.name.lower().replace("_k", "_K")


def q8_1_values(raw: bytes) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 36)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 4:].copy().view(np.int8).astype(np.float32)
    return (q * d).ravel()


def main() -> None:
    ggml = Ggml()
    gen = RowGenerator(SEED)
    rows = np.stack([gen.row(ELEMENTS, a) for a in AMPLITUDES])
    checksum = fnv1a64(rows.astype("<f4").tobytes())

    lines = [
        "# Round-trip RMSE of llama.cpp's reference quantizers (ggml_quantize_chunk, no",
        "# importance matrix), sqrt(mean((dequant - x)^2)) in float64, one value per row.",
        "# Rows come from RowGenerator in tests/reference/quant_common.py (splitmix64,",
        "# Irwin-Hall normal, 1 in 64 values x8), one row per amplitude, in order.",
        "# Written by tests/reference/quant_roundtrip_reference.py.",
        f"producer llama-cpp-python {ggml.version}",
        f"seed {SEED}",
        f"elements {ELEMENTS}",
        "amplitudes " + " ".join(repr(a) for a in AMPLITUDES),
        f"data_fnv1a64 {checksum:#018x}",
    ]
    for qtype in RMSE_TYPES:
        raw = ggml.quantize_chunk(qtype.value, rows)
        deq = ggml.dequantize_row(ggml_name(qtype), raw, rows.size)
        check = np.asarray(gguf.quants.dequantize(np.frombuffer(raw, dtype=np.uint8), qtype))
        if check.ravel().view(np.uint32).tolist() != deq.view(np.uint32).tolist():
            raise SystemExit(f"gguf and ggml disagree on {qtype.name}")
        diff = deq.reshape(rows.shape).astype(np.float64) - rows.astype(np.float64)
        rmse = [float(v) for v in np.sqrt(np.mean(diff ** 2, axis=1))]
        lines.append(f"rmse {ggml_name(qtype)} " + " ".join(repr(v) for v in rmse))
        print(f"{qtype.name}: rmse per row " + " ".join(f"{v:.6g}" for v in rmse))
    path = os.path.join(FIXTURE_DIR, "roundtrip_reference.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")

    cases = []
    for qtype in (T.Q8_0, T.Q5_0, T.Q8_1, T.Q8_K):
        name = ggml_name(qtype)
        for r, row in enumerate(rows):
            if qtype in (T.Q8_0, T.Q5_0):
                raw = ggml.quantize_chunk(qtype.value, row.reshape(1, -1))
                source = f"ggml_quantize_chunk (llama-cpp-python {ggml.version})"
            else:
                raw = ggml.quantize_row_ref(name, qtype.value, row)
                source = f"quantize_row_{name}_ref (llama-cpp-python {ggml.version})"
            values = q8_1_values(raw) if qtype == T.Q8_1 else ggml.dequantize_row(name, raw, row.size)
            cases.append(Case(qtype.value, source, "", f"generator seed {SEED} row {r}", r, raw,
                              values))
    write_cases(os.path.join(FIXTURE_DIR, "quantize_cases.bin"), cases)


if __name__ == "__main__":
    main()

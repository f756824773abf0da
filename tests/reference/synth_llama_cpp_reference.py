#!/usr/bin/env python3
"""llama.cpp's own Q4_K_M type choices for smollm-synth's shapes, and a load check.

For each case below, writes a synthetic model with smollm-synth (random blocks), then
  1. requantizes it to Q4_K_M with llama.cpp's quantizer (llama_model_quantize, with
     allow_requantize) into a temporary directory, and records the name and type of every
     tensor in the order llama.cpp writes them; smollm-synth's file must already hold
     exactly that layout (checked here, and in CI by q4km_mix_conformance_test against
     the fixture);
  2. loads smollm-synth's file with llama.cpp, tokenizes a sentence with its synthetic
     vocabulary and evaluates it: every logit must be finite.

Output: tests/fixtures/synth/llama_cpp_q4km_types.tsv
Run from the repository root after building smollm-synth:
  .venv/bin/python tests/reference/synth_llama_cpp_reference.py --synth build/.../smollm-synth
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
import llama_cpp

FIXTURE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "fixtures", "synth", "llama_cpp_q4km_types.tsv"))

# name, smollm-synth shape flags. Together they cover 36 and 30 layers (the "more bits"
# rule), K-quant rows, rows that fall back to Q5_0/Q8_0, rows that fall back to F16, and
# tied and untied outputs.
CASES = [
    ("smollm3-36-layers", ["--shape", "smollm3-3b", "--d-model", "256", "--heads", "4",
                           "--kv-heads", "2", "--d-ffn", "512", "--vocab", "1024"]),
    ("smollm2-135m", ["--shape", "smollm2-135m"]),
    ("tiny-smollm3", ["--shape", "tiny-smollm3"]),
    ("tiny-llama", ["--shape", "tiny-llama"]),
    ("odd-widths", ["--shape", "tiny-llama", "--d-model", "200", "--heads", "4",
                    "--kv-heads", "2", "--d-ffn", "272"]),
]
PROMPT = b"The quick brown fox jumps over the lazy dog."


def field(reader: gguf.GGUFReader, key: str):
    f = reader.fields[key]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode()
    return f.parts[f.data[0]][0].item()


def shape_line(name: str, reader: gguf.GGUFReader) -> str:
    arch = field(reader, "general.architecture")
    keys = ["block_count", "embedding_length", "feed_forward_length", "attention.head_count",
            "attention.head_count_kv", "vocab_size"]
    tied = int(not any(t.name == "output.weight" for t in reader.tensors))
    return "\t".join(["shape", name, arch] + [str(field(reader, f"{arch}.{k}")) for k in keys]
                     + [str(tied)])


def requantize(src: str, dst: str) -> None:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.allow_requantize = True
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed with {rc}")


def load_and_eval(path: str) -> str:
    llm = llama_cpp.Llama(model_path=path, n_ctx=64, logits_all=True, verbose=False,
                          n_threads=2)
    tokens = llm.tokenize(PROMPT, add_bos=False, special=False)
    llm.eval(tokens)
    logits = np.array(llm.scores[:len(tokens)])
    if not np.isfinite(logits).all():
        raise SystemExit(f"{path}: llama.cpp computed non-finite logits")
    return f"{len(tokens)} tokens, logits finite, std {logits.std():.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synth", required=True, help="the smollm-synth executable")
    args = parser.parse_args()

    lines = [
        "# llama.cpp's Q4_K_M layout for smollm-synth shapes: written by",
        "# tests/reference/synth_llama_cpp_reference.py with llama-cpp-python "
        f"{llama_cpp.__version__} (llama_model_quantize, LLAMA_FTYPE_MOSTLY_Q4_K_M).",
        "# shape<TAB>case<TAB>arch<TAB>layers<TAB>d_model<TAB>d_ffn<TAB>heads<TAB>kv_heads"
        "<TAB>vocab<TAB>tied",
        "# tensor<TAB>case<TAB>index<TAB>name<TAB>type (in llama.cpp's file order)",
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in CASES:
            ours = os.path.join(tmp, f"{name}.gguf")
            theirs = os.path.join(tmp, f"{name}.llama_cpp.gguf")
            subprocess.run([args.synth, *flags, "--seed", "1", "--out", ours], check=True,
                           stdout=subprocess.DEVNULL)
            requantize(ours, theirs)
            ours_reader = gguf.GGUFReader(ours)
            theirs_reader = gguf.GGUFReader(theirs)
            layout = [(t.name, t.tensor_type.name) for t in theirs_reader.tensors]
            mine = [(t.name, t.tensor_type.name) for t in ours_reader.tensors]
            same = layout == mine
            failures += not same
            print(f"{name}: {len(layout)} tensors, smollm-synth layout "
                  f"{'matches' if same else 'DIFFERS FROM'} llama.cpp; "
                  f"llama.cpp load: {load_and_eval(ours)}")
            if not same:
                for (a, ta), (b, tb) in zip(mine, layout):
                    if (a, ta) != (b, tb):
                        print(f"  first difference: ours {a} {ta}, llama.cpp {b} {tb}")
                        break
            lines.append(shape_line(name, ours_reader))
            lines += [f"tensor\t{name}\t{i}\t{n}\t{t}" for i, (n, t) in enumerate(layout)]
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {FIXTURE}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

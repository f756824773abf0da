"""Conformance of smollm-synth's files and our dequantization with the gguf package.

Writes tiny synthetic Q4_K_M models (smollm3 and llama, both weight modes) with
smollm-synth, reads them with gguf.GGUFReader (an implementation we did not write),
checks their metadata and type mix, dequantizes every tensor with
gguf.quants.dequantize and requires our C++ dequantization (dumped by
synth_dequant_dump) to match it bit for bit.

Run by CTest: check_synth_gguf.py --synth BIN --dump BIN --workdir DIR
"""

import argparse
import collections
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import gguf

CASES = [
    ("tiny-smollm3", "quantize"),
    ("tiny-smollm3", "blocks"),
    ("tiny-llama", "quantize"),
    ("tiny-llama", "blocks"),
]
MIX_TYPES = {"Q4_K", "Q6_K", "Q5_0", "Q8_0", "F32"}


def field_value(reader, key):
    field = reader.fields[key]
    if field.types[0] == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    return field.parts[field.data[0]][0].item()


def check_metadata(reader, preset):
    arch = "smollm3" if preset.endswith("smollm3") else "llama"
    errors = []
    expect = {
        "general.architecture": arch,
        "general.file_type": 15,
        "general.quantization_version": 2,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "smaug-bpe" if arch == "smollm3" else "smollm",
    }
    for key, want in expect.items():
        got = field_value(reader, key)
        if got != want:
            errors.append(f"{key} = {got!r}, expected {want!r}")
    n_tokens = len(reader.fields["tokenizer.ggml.tokens"].data)
    if field_value(reader, f"{arch}.vocab_size") != n_tokens:
        errors.append(f"{arch}.vocab_size disagrees with the {n_tokens} tokens")
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    if int(embd.shape[1]) != n_tokens:
        errors.append(f"token_embd has {embd.shape[1]} rows for {n_tokens} tokens")
    return errors


def check_case(args, preset, mode, workdir):
    model = workdir / f"{preset}-{mode}.gguf"
    dump = workdir / f"{preset}-{mode}.dump"
    shutil.rmtree(dump, ignore_errors=True)
    dump.mkdir(parents=True)
    subprocess.run([args.synth, "--shape", preset, "--weights", mode, "--seed", "11",
                    "--out", str(model)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([args.dump, str(model), str(dump)], check=True)

    reader = gguf.GGUFReader(str(model))
    errors = check_metadata(reader, preset)
    index = [line.split("\t") for line in (dump / "index.tsv").read_text().splitlines()]
    if len(index) != len(reader.tensors):
        return errors + [f"{len(index)} dumped tensors, gguf reads {len(reader.tensors)}"]
    types = collections.Counter(t.tensor_type.name for t in reader.tensors)
    if set(types) != MIX_TYPES:
        errors.append(f"type mix {dict(types)} is not {sorted(MIX_TYPES)}")
    for (i, name, _type_name, n), tensor in zip(index, reader.tensors):
        if name != tensor.name:
            errors.append(f"tensor {i}: we read {name}, gguf reads {tensor.name}")
            continue
        want = np.ascontiguousarray(
            gguf.quants.dequantize(tensor.data, tensor.tensor_type), dtype=np.float32).ravel()
        ours = np.fromfile(dump / f"{i}.f32", dtype=np.float32)
        if ours.size != int(n) or ours.size != want.size:
            errors.append(f"{name}: {ours.size} values, gguf gives {want.size}")
        elif not np.array_equal(ours.view(np.uint32), want.view(np.uint32)):
            bad = np.flatnonzero(ours.view(np.uint32) != want.view(np.uint32))
            errors.append(f"{name} ({tensor.tensor_type.name}): {bad.size} values differ, "
                          f"first at {bad[0]}: {ours[bad[0]]!r} vs {want[bad[0]]!r}")
        elif not np.isfinite(ours).all():
            errors.append(f"{name}: non-finite values")
    shutil.rmtree(dump, ignore_errors=True)
    model.unlink()
    print(f"{preset} {mode}: {len(reader.tensors)} tensors {dict(sorted(types.items()))}: "
          f"{'FAIL' if errors else 'ok'}")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synth", required=True, help="the smollm-synth executable")
    parser.add_argument("--dump", required=True, help="the synth_dequant_dump executable")
    parser.add_argument("--workdir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    errors = []
    for preset, mode in CASES:
        errors += [f"{preset} {mode}: {e}" for e in check_case(args, preset, mode, args.workdir)]
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

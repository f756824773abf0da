#!/usr/bin/env python3
"""Dumps a GGUF file's metadata and tensor index, as the gguf package reads it, to text.

The output is the fixture tests/fixtures/gguf/smollm2_index.txt, which the C++ reader
test compares field by field against its own reading of the same model file.

Usage: .venv/bin/python tests/reference/dump_gguf_index.py MODEL.gguf > OUT.txt

Line formats (fields separated by single spaces; strings never appear raw):
  sha256 <hex of the whole file>
  version <n> | alignment <n> | data_offset <n> | n_kv <n> | n_tensors <n>
  kv <key> <type> <value>              integers, bool (0/1), floats (repr of the float)
  kv <key> string <byte length> <fnv1a64 of the bytes, hex>
  kv <key> array <element type> <count> <fnv1a64 of the encoded elements, hex>
  tensor <name> <type> <dims, comma separated> <offset in data section> <n_bytes>
         <first 16 bytes hex> <last 16 bytes hex>
"""
import hashlib
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> str:
    # Vectorised over 8-byte lanes would change the hash; this stays the plain byte loop
    # (the largest payload, a vocabulary, is under a few MB).
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


TYPE_NAMES = {
    GGUFValueType.UINT8: "uint8", GGUFValueType.INT8: "int8",
    GGUFValueType.UINT16: "uint16", GGUFValueType.INT16: "int16",
    GGUFValueType.UINT32: "uint32", GGUFValueType.INT32: "int32",
    GGUFValueType.FLOAT32: "float32", GGUFValueType.BOOL: "bool",
    GGUFValueType.STRING: "string", GGUFValueType.ARRAY: "array",
    GGUFValueType.UINT64: "uint64", GGUFValueType.INT64: "int64",
    GGUFValueType.FLOAT64: "float64",
}


def main(path: str) -> None:
    with open(path, "rb") as f:
        print("sha256", hashlib.sha256(f.read()).hexdigest())
    r = GGUFReader(path)
    fields = [f for name, f in r.fields.items() if not name.startswith("GGUF.")]
    print("version", int(r.fields["GGUF.version"].parts[-1][0]))
    print("alignment", r.alignment)
    print("data_offset", r.data_offset)
    print("n_kv", len(fields))
    print("n_tensors", len(r.tensors))
    for f in fields:
        t = f.types[0]
        if t == GGUFValueType.ARRAY:
            payload = b"".join(bytes(p.tobytes()) for p in f.parts[5:])
            print("kv", f.name, "array", TYPE_NAMES[f.types[1]], len(f.data), fnv1a64(payload))
        elif t == GGUFValueType.STRING:
            s = bytes(f.parts[f.data[0]])
            print("kv", f.name, "string", len(s), fnv1a64(s))
        else:
            v = f.parts[f.data[0]][0]
            if t in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
                text = repr(float(v))
            elif t == GGUFValueType.BOOL:
                text = "1" if bool(v) else "0"
            else:
                text = str(int(v))
            print("kv", f.name, TYPE_NAMES[t], text)
    for t in r.tensors:
        data = np.asarray(t.data).view(np.uint8).reshape(-1).tobytes()
        assert len(data) == t.n_bytes
        dims = ",".join(str(int(d)) for d in t.shape)
        print("tensor", t.name, t.tensor_type.name.lower(), dims, t.data_offset - r.data_offset,
              t.n_bytes, data[:16].hex(), data[-16:].hex())


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Writes the malformed GGUF corpus in tests/fixtures/gguf/malformed/ and its manifest.

Each file breaks one rule of the format; the manifest (manifest.tsv: file, expected
absl status code, a substring of the expected message) is what gguf_malformed_test
checks. The files are built here byte by byte with struct, independently of the C++
writer, and are committed: they also seed the GGUF fuzzer.

Usage: python3 tests/reference/make_malformed_gguf.py [OUT_DIR]
"""
import os
import struct
import sys

# GGUF metadata value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
# GGML tensor types used here.
T_F32, T_Q4_0 = 0, 2


def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def gstr(b): return u64(len(b)) + b


def kv(key: bytes, vtype: int, payload: bytes) -> bytes:
    return gstr(key) + u32(vtype) + payload


def tinfo(name: bytes, dims, ttype: int, offset: int) -> bytes:
    return gstr(name) + u32(len(dims)) + b"".join(u64(d) for d in dims) + u32(ttype) + u64(offset)


def gguf(kvs=(), tensors=(), data=b"", version=3, n_kv=None, n_tensors=None,
         alignment=32, pad=True) -> bytes:
    """A file from encoded kvs and tensor infos, padded to `alignment`, then `data`."""
    out = b"GGUF" + u32(version)
    out += u64(len(tensors) if n_tensors is None else n_tensors)
    out += u64(len(kvs) if n_kv is None else n_kv)
    out += b"".join(kvs) + b"".join(tensors)
    if pad:
        out += b"\0" * (-len(out) % alignment)
    return out + data


NAME = kv(b"general.name", STR, gstr(b"malformed"))
F32_16 = tinfo(b"a", [16], T_F32, 0)                  # 64 bytes of data
DATA64 = bytes(range(64))


def nested_arrays(levels: int) -> bytes:
    """`levels` arrays each holding one array, the innermost holding one uint8."""
    payload = u32(U8) + u64(1) + b"\x07"
    for _ in range(levels - 1):
        payload = u32(ARR) + u64(1) + payload
    return payload


CASES = [
    # name, bytes, code, message substring
    ("empty_file", b"", "DATA_LOSS", "magic at offset 0 needs 4 bytes but only 0"),
    ("bad_magic", b"GGUX" + gguf()[4:], "INVALID_ARGUMENT", "bad magic 0x58554747 at offset 0"),
    ("version_1", gguf(version=1), "INVALID_ARGUMENT", "unsupported GGUF version 1 at offset 4"),
    ("version_99", gguf(version=99), "INVALID_ARGUMENT", "unsupported GGUF version 99 at offset 4"),
    ("version_big_endian", gguf(version=0x03000000), "INVALID_ARGUMENT", "big-endian"),
    ("truncated_header", gguf()[:12], "DATA_LOSS", "n_tensors at offset 8 needs 8 bytes"),
    ("huge_n_tensors", gguf([NAME], n_tensors=1 << 62), "DATA_LOSS",
     "n_tensors = 4611686018427387904 at offset 8 cannot fit"),
    ("huge_n_kv", gguf([NAME], n_kv=1 << 63), "DATA_LOSS",
     "n_kv = 9223372036854775808 at offset 16 cannot fit"),
    ("key_length_past_eof", gguf(n_kv=1, pad=False) + u64(100) + b"general.na" + b"\0" * 10, "DATA_LOSS",
     "metadata entry 0 key at offset 24: string length 100 runs past the end"),
    ("string_length_huge", gguf([kv(b"general.name", STR, u64(1 << 63) + b"abc")]),
     "DATA_LOSS", "metadata 'general.name' at offset 48: string length 9223372036854775808"),
    ("string_value_past_eof", gguf([kv(b"general.name", STR, u64(200) + b"abc")], pad=False),
     "DATA_LOSS", "string length 200 runs past the end of the file (3 bytes left)"),
    ("empty_key", gguf([kv(b"", U32, u32(1))]), "INVALID_ARGUMENT",
     "metadata entry 0 at offset 24: empty key"),
    ("unknown_value_type", gguf([kv(b"x.y", 13, u32(1))]), "INVALID_ARGUMENT",
     "metadata 'x.y' at offset 35: unknown value type 13"),
    ("unknown_array_element_type", gguf([kv(b"x.y", ARR, u32(99) + u64(1) + u32(0))]),
     "INVALID_ARGUMENT", "unknown array element type 99"),
    ("duplicate_key", gguf([NAME, kv(b"x.y", U8, b"\1"), NAME]), "INVALID_ARGUMENT",
     "duplicate metadata key 'general.name' at offset 81"),
    ("array_count_past_eof", gguf([kv(b"x.y", ARR, u32(U32) + u64(1000) + u32(1) + u32(2))],
                                  pad=False),
     "DATA_LOSS", "array of 1000 uint32 elements runs past the end of the file (8 bytes left)"),
    ("string_array_count_huge", gguf([kv(b"x.y", ARR, u32(STR) + u64(1 << 60) + gstr(b"a"))]),
     "DATA_LOSS", "array of 1152921504606846976 string elements runs past the end"),
    ("string_array_element_past_eof",
     gguf([kv(b"x.y", ARR, u32(STR) + u64(2) + gstr(b"ab") + u64(1 << 40) + b"c")], pad=False),
     "DATA_LOSS", "element 1 of metadata 'x.y' at offset 61: string length 1099511627776"),
    ("array_depth_9", gguf([kv(b"x.y", ARR, nested_arrays(9))]), "INVALID_ARGUMENT",
     "arrays nested deeper than 8 levels"),
    ("array_depth_bomb", gguf([kv(b"x.y", ARR, nested_arrays(300))]), "INVALID_ARGUMENT",
     "arrays nested deeper than 8 levels"),
    ("alignment_zero", gguf([kv(b"general.alignment", U32, u32(0))]), "INVALID_ARGUMENT",
     "alignment 0 is not a nonzero power of two"),
    ("alignment_not_power_of_two", gguf([kv(b"general.alignment", U32, u32(48))], alignment=48),
     "INVALID_ARGUMENT", "alignment 48 is not a nonzero power of two"),
    ("alignment_u32_max", gguf([kv(b"general.alignment", U32, u32(0xFFFFFFFF))]),
     "INVALID_ARGUMENT", "alignment 4294967295 is not"),
    ("alignment_wrong_type", gguf([kv(b"general.alignment", U64, u64(32))]), "INVALID_ARGUMENT",
     "'general.alignment' at offset 24: expected uint32, got uint64"),
    ("alignment_huge", gguf([kv(b"general.alignment", U32, u32(1 << 31))], [F32_16], DATA64),
     "DATA_LOSS", "aligned to 2147483648) starts past the end of the file"),
    ("unknown_tensor_type", gguf([NAME], [tinfo(b"a", [16], 4, 0)], DATA64),
     "INVALID_ARGUMENT", "tensor 'a' at offset 86: unknown tensor type 4"),
    ("duplicate_tensor_name", gguf([NAME], [F32_16, tinfo(b"a", [16], T_F32, 64)],
                                   DATA64 + DATA64),
     "INVALID_ARGUMENT", "duplicate tensor name 'a' at offset 98"),
    ("empty_tensor_name", gguf([NAME], [tinfo(b"", [16], T_F32, 0)], DATA64),
     "INVALID_ARGUMENT", "tensor 0 at offset 65: empty name"),
    ("n_dims_0", gguf([NAME], [tinfo(b"a", [], T_F32, 0)], DATA64), "INVALID_ARGUMENT",
     "n_dims = 0 is not in 1..4"),
    ("n_dims_5", gguf([NAME], [tinfo(b"a", [1, 1, 1, 1, 16], T_F32, 0)], DATA64),
     "INVALID_ARGUMENT", "tensor 'a' at offset 74: n_dims = 5 is not in 1..4"),
    ("zero_dim", gguf([NAME], [tinfo(b"a", [16, 0], T_F32, 0)], DATA64), "INVALID_ARGUMENT",
     "dims[1] is zero"),
    ("dims_product_overflow", gguf([NAME], [tinfo(b"a", [1 << 32, 1 << 32], T_F32, 0)], DATA64),
     "INVALID_ARGUMENT", "element count overflows at dims[1] = 4294967296"),
    ("dims_product_over_int64", gguf([NAME], [tinfo(b"a", [1 << 32, 1 << 31], T_F32, 0)],
                                     DATA64),
     "INVALID_ARGUMENT", "element count overflows at dims[1] = 2147483648"),
    ("byte_size_overflow", gguf([NAME], [tinfo(b"a", [1 << 62], T_F32, 0)], DATA64),
     "INVALID_ARGUMENT", "byte size of 4611686018427387904 f32 elements overflows"),
    ("row_not_whole_blocks", gguf([NAME], [tinfo(b"a", [33, 2], T_Q4_0, 0)], DATA64),
     "INVALID_ARGUMENT", "row length dims[0] = 33 is not a whole number of q4_0 blocks of 32"),
    ("misaligned_offset", gguf([NAME], [tinfo(b"a", [16], T_F32, 4)], DATA64 + DATA64),
     "INVALID_ARGUMENT", "data offset 4 is not a multiple of the alignment 32"),
    ("tensor_data_past_eof", gguf([NAME], [tinfo(b"a", [16], T_F32, 1024)], DATA64),
     "DATA_LOSS", "tensor 'a' data at data offset 1024"),
    ("tensor_offset_wraps", gguf([NAME], [tinfo(b"a", [16], T_F32, (1 << 64) - 32)], DATA64),
     "DATA_LOSS", "runs past the end of the file"),
    ("tensor_data_short", gguf([NAME], [F32_16], DATA64[:63]), "DATA_LOSS",
     "tensor 'a' data at data offset 0 (file offset 128+) with 64 bytes runs past the end"),
    ("data_section_past_eof", gguf([NAME], [F32_16], pad=False), "DATA_LOSS",
     "data section at offset 128 (end of tensor infos 98 aligned to 32) starts past the end"),
    ("overlapping_tensors", gguf([NAME], [tinfo(b"a", [32], T_F32, 0),
                                          tinfo(b"b", [16], T_F32, 96)], DATA64 * 3),
     "INVALID_ARGUMENT", "tensor 'b' data at file offset 256 overlaps tensor 'a' [160, 288)"),
    ("truncated_tensor_info", gguf([NAME], [F32_16], pad=False)[:80], "DATA_LOSS",
     "tensor 'a' dims[0] at offset 78 needs 8 bytes but only 2 remain"),
]


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# file\texpected status code\tsubstring of the message (see make_malformed_gguf.py)"]
    for name, data, code, substring in CASES:
        assert len(data) < 4096, name
        with open(os.path.join(out_dir, name + ".gguf"), "wb") as f:
            f.write(data)
        lines.append(f"{name}.gguf\t{code}\t{substring}")
    with open(os.path.join(out_dir, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(here, "..", "fixtures", "gguf", "malformed"))

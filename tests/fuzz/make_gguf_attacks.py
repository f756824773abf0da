#!/usr/bin/env python3
"""Writes the GGUF attack-shape corpus: tiny model files, each one attack on the loader.

Every file is the same small, valid llama model (tests/fixtures/gguf/attacks/
base_model.gguf, which loads) with one thing made hostile: sizes that overflow, alignment
that wraps padding, shapes that disagree with the data or the config, vocabulary ids and
merges that index outside the vocabulary, block counts past the limits, huge string
lengths and array counts, too many dimensions, duplicate names, unknown types. The bytes
are written here directly with struct (no gguf package), so any shape is possible.

manifest.tsv lists, per file: the absl status code Model::Open must return and a
substring of its message. tests/unit/gguf/gguf_attack_test.cc checks them; the files also
seed the GGUF fuzzer (tests/fuzz/run.sh). Regenerate with:
    python3 tests/fuzz/make_gguf_attacks.py [OUT_DIR]
"""
import os
import random
import struct
import sys

# GGUF metadata value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
# GGML tensor types.
T_F32, T_F16, T_Q8_0 = 0, 1, 8

D_MODEL, N_HEADS, N_KV_HEADS, D_FFN = 8, 2, 1, 8
HEAD_DIM = D_MODEL // N_HEADS
TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "h", "e", "l", "o", "Ġ", "w",
          "r", "d", "he", "ll", "hell", "hello", "!"]
TOKEN_TYPES = [3, 3, 3] + [1] * (len(TOKENS) - 3)
MERGES = ["h e", "l l", "he ll", "hell o"]
VOCAB = len(TOKENS)


def u32(v): return struct.pack("<I", v)
def i32(v): return struct.pack("<i", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)
def f32(v): return struct.pack("<f", v)
def gstr(s): return u64(len(s)) + s


def b(s): return s.encode() if isinstance(s, str) else s


def scalar(vtype, v):
    return {U32: u32, I32: i32, U64: u64, I64: i64, F32: f32}[vtype](v)


def array(elem_type, items, count=None):
    if elem_type == STR:
        payload = b"".join(gstr(b(x)) for x in items)
    else:
        payload = b"".join(scalar(elem_type, x) for x in items)
    return u32(elem_type) + u64(len(items) if count is None else count) + payload


class Model:
    """The base model's metadata and tensors, as editable lists of encoded pieces."""

    def __init__(self):
        self.kvs = []  # [key, type, encoded value]
        self.add("general.architecture", STR, gstr(b"llama"))
        self.add("general.name", STR, gstr(b"attack-base"))
        self.add("general.alignment", U32, u32(32))
        for key, v in [("block_count", 1), ("context_length", 64),
                       ("embedding_length", D_MODEL), ("feed_forward_length", D_FFN),
                       ("attention.head_count", N_HEADS),
                       ("attention.head_count_kv", N_KV_HEADS),
                       ("rope.dimension_count", HEAD_DIM), ("vocab_size", VOCAB)]:
            self.add("llama." + key, U32, u32(v))
        self.add("llama.attention.layer_norm_rms_epsilon", F32, f32(1e-5))
        self.add("llama.rope.freq_base", F32, f32(10000.0))
        self.add("tokenizer.ggml.model", STR, gstr(b"gpt2"))
        self.add("tokenizer.ggml.pre", STR, gstr(b"smollm"))
        self.add("tokenizer.ggml.tokens", ARR, array(STR, TOKENS))
        self.add("tokenizer.ggml.token_type", ARR, array(I32, TOKEN_TYPES))
        self.add("tokenizer.ggml.merges", ARR, array(STR, MERGES))
        self.add("tokenizer.ggml.bos_token_id", U32, u32(0))
        self.add("tokenizer.ggml.eos_token_id", U32, u32(2))
        self.add("tokenizer.ggml.padding_token_id", U32, u32(0))
        self.add("tokenizer.ggml.add_bos_token", BOOL, b"\0")
        self.tensors = []  # [name, dims, type, data]
        rng = random.Random(20251126)
        kv_dim = N_KV_HEADS * HEAD_DIM

        def matrix(name, cols, rows):
            data = struct.pack("<%de" % (cols * rows),
                               *[rng.uniform(-1, 1) for _ in range(cols * rows)])
            self.tensors.append([name, [cols, rows], T_F16, data])

        def norm(name):
            data = struct.pack("<%df" % D_MODEL, *[rng.uniform(0.5, 1.5) for _ in range(D_MODEL)])
            self.tensors.append([name, [D_MODEL], T_F32, data])

        matrix("token_embd.weight", D_MODEL, VOCAB)
        norm("blk.0.attn_norm.weight")
        matrix("blk.0.attn_q.weight", D_MODEL, D_MODEL)
        matrix("blk.0.attn_k.weight", D_MODEL, kv_dim)
        matrix("blk.0.attn_v.weight", D_MODEL, kv_dim)
        matrix("blk.0.attn_output.weight", D_MODEL, D_MODEL)
        norm("blk.0.ffn_norm.weight")
        matrix("blk.0.ffn_gate.weight", D_MODEL, D_FFN)
        matrix("blk.0.ffn_up.weight", D_MODEL, D_FFN)
        matrix("blk.0.ffn_down.weight", D_FFN, D_MODEL)
        norm("output_norm.weight")
        self.alignment = 32
        # Overrides of the encoded header fields, for attacks on the counts themselves.
        self.n_kv = None
        self.n_tensors = None
        self.offsets = {}    # tensor name -> data offset to write instead of the real one
        self.raw_infos = {}  # tensor name -> the whole encoded tensor info
        self.truncate = 0    # bytes cut from the end
        self.first_key_length = None  # a length to write in place of the first key's

    def add(self, key, vtype, encoded):
        self.kvs.append([key, vtype, encoded])

    def set(self, key, vtype, encoded):
        for kv in self.kvs:
            if kv[0] == key:
                kv[1], kv[2] = vtype, encoded
                return self
        self.add(key, vtype, encoded)
        return self

    def drop(self, key):
        self.kvs = [kv for kv in self.kvs if kv[0] != key]
        return self

    def tensor(self, name):
        return next(t for t in self.tensors if t[0] == name)

    def bytes(self):
        out = b"GGUF" + u32(3)
        out += u64(len(self.tensors) if self.n_tensors is None else self.n_tensors)
        out += u64(len(self.kvs) if self.n_kv is None else self.n_kv)
        for i, (key, vtype, encoded) in enumerate(self.kvs):
            if i == 0 and self.first_key_length is not None:
                out += u64(self.first_key_length) + b(key) + u32(vtype) + encoded
            else:
                out += gstr(b(key)) + u32(vtype) + encoded
        data = b""
        for name, dims, ttype, payload in self.tensors:
            data += b"\0" * (-len(data) % self.alignment)
            offset = self.offsets.get(name, len(data))
            info = self.raw_infos.get(name)
            if info is None:
                info = (gstr(b(name)) + u32(len(dims)) + b"".join(u64(d) for d in dims) +
                        u32(ttype) + u64(offset))
            out += info
            data += payload
        out += b"\0" * (-len(out) % self.alignment)
        out += data
        return out[:len(out) - self.truncate] if self.truncate else out


def tinfo(name, dims, ttype, offset, n_dims=None):
    return (gstr(b(name)) + u32(len(dims) if n_dims is None else n_dims) +
            b"".join(u64(d) for d in dims) + u32(ttype) + u64(offset))


def grow_token_embd(m):
    """token_embd with one row more than the vocabulary (and the data for it)."""
    t = m.tensor("token_embd.weight")
    t[1] = [D_MODEL, VOCAB + 1]
    t[3] += b"\0" * (2 * D_MODEL)


def huge_alignment(m):
    """Alignment 2^31 with every tensor offset a multiple of it: the padding after the
    tensor infos jumps past the end of the file."""
    m.set("general.alignment", U32, u32(2**31))
    m.offsets.update({t[0]: i * 2**31 for i, t in enumerate(m.tensors)})


def attacks():
    """(file stem, Model, expected status code, message substring)."""
    out = []

    def case(name, code, substring, edit):
        m = Model()
        edit(m)
        out.append((name, m, code, substring))

    def set_kv(key, vtype, encoded):
        return lambda m: m.set(key, vtype, encoded)

    # Size arithmetic.
    case("size_sum_overflow", "DATA_LOSS", "runs past the end of the file",
         lambda m: m.offsets.update({"output_norm.weight": 2**64 - 32}))
    case("element_count_overflow", "INVALID_ARGUMENT", "element count overflows",
         lambda m: m.raw_infos.update({"blk.0.attn_q.weight": tinfo(
             "blk.0.attn_q.weight", [2**32, 2**32], T_F16, 0)}))
    case("elements_times_type_size_overflow", "INVALID_ARGUMENT", "byte size of",
         lambda m: m.raw_infos.update({"blk.0.attn_q.weight": tinfo(
             "blk.0.attn_q.weight", [2**40, 2**22], T_F32, 0)}))
    case("element_count_over_int64", "INVALID_ARGUMENT", "element count overflows",
         lambda m: m.raw_infos.update({"blk.0.attn_q.weight": tinfo(
             "blk.0.attn_q.weight", [2**62, 4], T_F16, 0)}))
    # Alignment.
    case("alignment_zero", "INVALID_ARGUMENT", "alignment 0 is not a nonzero power of two",
         set_kv("general.alignment", U32, u32(0)))
    case("alignment_not_power_of_two", "INVALID_ARGUMENT",
         "alignment 24 is not a nonzero power of two", set_kv("general.alignment", U32, u32(24)))
    case("alignment_huge", "DATA_LOSS", "starts past the end of the file", huge_alignment)
    case("alignment_u32_max", "INVALID_ARGUMENT", "alignment 4294967295 is not",
         set_kv("general.alignment", U32, u32(2**32 - 1)))
    case("alignment_uint64", "INVALID_ARGUMENT", "expected uint32, got uint64",
         set_kv("general.alignment", U64, u64(2**40)))
    # Shapes against the data and the config.
    case("tensor_data_past_eof", "DATA_LOSS", "runs past the end of the file",
         lambda m: m.offsets.update({"output_norm.weight": 1 << 20}))
    case("tensor_data_truncated", "DATA_LOSS", "'output_norm.weight' data",
         lambda m: setattr(m, "truncate", 1))
    case("tensor_dims_exceed_data", "DATA_LOSS", "runs past the end of the file",
         lambda m: m.tensor("output_norm.weight").__setitem__(1, [D_MODEL * 1024]))
    case("tensor_shape_mismatches_config", "INVALID_ARGUMENT",
         "tensor 'token_embd.weight' has shape [8, 17], expected [8, 16]", grow_token_embd)
    case("tensor_missing", "INVALID_ARGUMENT", "tensor 'blk.0.ffn_down.weight' is missing",
         lambda m: m.tensors.remove(m.tensor("blk.0.ffn_down.weight")))
    case("tensor_unexpected", "INVALID_ARGUMENT", "unexpected tensor 'blk.7.attn_q.weight'",
         lambda m: m.tensors.append(["blk.7.attn_q.weight", [D_MODEL], T_F32, b"\0" * 32]))
    case("norm_not_f32", "INVALID_ARGUMENT", "norms must be f32",
         lambda m: m.tensor("output_norm.weight").__setitem__(2, T_F16))
    # Vocabulary ids, merges and types.
    case("bos_token_id_out_of_range", "INVALID_ARGUMENT",
         "tokenizer.ggml.bos_token_id' = 16 is outside [0, 15]",
         set_kv("tokenizer.ggml.bos_token_id", U32, u32(VOCAB)))
    case("eos_token_id_u32_max", "INVALID_ARGUMENT",
         "tokenizer.ggml.eos_token_id' = 4294967295 is outside",
         set_kv("tokenizer.ggml.eos_token_id", U32, u32(2**32 - 1)))
    case("padding_token_id_negative", "INVALID_ARGUMENT",
         "tokenizer.ggml.padding_token_id' = -1 is outside",
         set_kv("tokenizer.ggml.padding_token_id", I32, i32(-1)))
    case("eot_token_id_out_of_range", "INVALID_ARGUMENT", "outside the vocabulary [0, 16)",
         set_kv("tokenizer.ggml.eot_token_id", U32, u32(1000)))
    case("unknown_token_id_out_of_range", "INVALID_ARGUMENT", "outside the vocabulary [0, 16)",
         set_kv("tokenizer.ggml.unknown_token_id", U32, u32(2**31 - 1)))
    case("merge_of_unknown_tokens", "INVALID_ARGUMENT", "merges[4]",
         set_kv("tokenizer.ggml.merges", ARR, array(STR, MERGES + ["zz qq"])))
    case("merge_without_separator", "INVALID_ARGUMENT", "is not of the form 'left right'",
         set_kv("tokenizer.ggml.merges", ARR, array(STR, MERGES + ["hello"])))
    case("token_type_count_mismatch", "INVALID_ARGUMENT", "token_types",
         set_kv("tokenizer.ggml.token_type", ARR, array(I32, TOKEN_TYPES[:-1])))
    case("token_type_unknown", "INVALID_ARGUMENT", "token_types[5]: unknown token type 99",
         set_kv("tokenizer.ggml.token_type", ARR,
                array(I32, TOKEN_TYPES[:5] + [99] + TOKEN_TYPES[6:])))
    case("token_type_negative", "INVALID_ARGUMENT", "token_types[4]: unknown token type -7",
         set_kv("tokenizer.ggml.token_type", ARR,
                array(I32, TOKEN_TYPES[:4] + [-7] + TOKEN_TYPES[5:])))
    case("duplicate_token_text", "INVALID_ARGUMENT", "duplicate",
         set_kv("tokenizer.ggml.tokens", ARR, array(STR, TOKENS[:-1] + ["he"])))
    case("tokens_empty", "INVALID_ARGUMENT", "tokenizer.ggml.tokens (count)' = 0 is outside",
         set_kv("tokenizer.ggml.tokens", ARR, array(STR, [])))
    case("tokens_not_strings", "INVALID_ARGUMENT", "expected array of string",
         set_kv("tokenizer.ggml.tokens", ARR, array(I32, list(range(VOCAB)))))
    case("vocab_size_mismatch", "INVALID_ARGUMENT", "'llama.vocab_size' = 17",
         set_kv("llama.vocab_size", U32, u32(VOCAB + 1)))
    case("tokenizer_model_unsupported", "INVALID_ARGUMENT", "'llama' is not supported",
         set_kv("tokenizer.ggml.model", STR, gstr(b"llama")))
    case("pre_tokenizer_unsupported", "INVALID_ARGUMENT", "no-such-pre",
         set_kv("tokenizer.ggml.pre", STR, gstr(b"no-such-pre")))
    # Block count and the other hyperparameters.
    case("block_count_zero", "INVALID_ARGUMENT", "'llama.block_count' = 0 is outside [1, 1024]",
         set_kv("llama.block_count", U32, u32(0)))
    case("block_count_over_limit", "INVALID_ARGUMENT", "'llama.block_count' = 1025 is outside",
         set_kv("llama.block_count", U32, u32(1025)))
    case("block_count_u32_max", "INVALID_ARGUMENT", "'llama.block_count' = 4294967295 is outside",
         set_kv("llama.block_count", U32, u32(2**32 - 1)))
    case("block_count_negative", "INVALID_ARGUMENT", "'llama.block_count' = -1 is outside",
         set_kv("llama.block_count", I64, i64(-1)))
    case("block_count_past_tensors", "INVALID_ARGUMENT", "tensor 'blk.1.attn_norm.weight' is missing",
         set_kv("llama.block_count", U32, u32(2)))
    case("head_count_not_dividing_width", "INVALID_ARGUMENT", "does not divide embedding_length",
         set_kv("llama.attention.head_count", U32, u32(3)))
    case("head_count_kv_over_heads", "INVALID_ARGUMENT",
         "'llama.attention.head_count_kv' = 4 is outside [1, 2]",
         set_kv("llama.attention.head_count_kv", U32, u32(4)))
    case("context_length_huge", "INVALID_ARGUMENT", "'llama.context_length' = 2147483648",
         set_kv("llama.context_length", U32, u32(2**31)))
    case("rms_epsilon_nan", "INVALID_ARGUMENT", "layer_norm_rms_epsilon' = nan",
         set_kv("llama.attention.layer_norm_rms_epsilon", F32, struct.pack("<I", 0x7FC00000)))
    case("architecture_unsupported", "INVALID_ARGUMENT", "unsupported architecture 'gpt2'",
         set_kv("general.architecture", STR, gstr(b"gpt2")))
    case("architecture_missing", "NOT_FOUND", "'general.architecture' not found",
         lambda m: m.drop("general.architecture"))
    # Strings and arrays whose lengths and counts lie.
    case("string_length_negative", "DATA_LOSS", "string length 9223372036854775808",
         set_kv("general.name", STR, u64(2**63) + b"x"))
    case("string_length_u64_max", "DATA_LOSS", "string length 18446744073709551615",
         set_kv("general.name", STR, u64(2**64 - 1)))
    case("tensor_name_length_huge", "DATA_LOSS", "tensor 0 name",
         lambda m: m.raw_infos.update({"token_embd.weight": u64(2**62) + b"token_embd"}))
    case("key_length_huge", "DATA_LOSS", "metadata entry 0 key at offset 24: string length 9223372036854775808",
         lambda m: setattr(m, "first_key_length", 2**63))
    case("tokens_array_count_huge", "DATA_LOSS", "array of 4611686018427387904 string",
         set_kv("tokenizer.ggml.tokens", ARR, array(STR, TOKENS, count=2**62)))
    case("merges_array_count_huge", "DATA_LOSS", "array of 9223372036854775809 string",
         set_kv("tokenizer.ggml.merges", ARR, array(STR, MERGES, count=2**63 + 1)))
    case("token_type_array_count_huge", "DATA_LOSS", "array of 2305843009213693952 int32",
         set_kv("tokenizer.ggml.token_type", ARR, array(I32, TOKEN_TYPES, count=2**61)))
    case("n_kv_huge", "DATA_LOSS", "n_kv = 18446744073709551615",
         lambda m: setattr(m, "n_kv", 2**64 - 1))
    case("n_tensors_huge", "DATA_LOSS", "n_tensors = 1152921504606846976",
         lambda m: setattr(m, "n_tensors", 2**60))
    # Dimensions, names and types.
    case("n_dims_5", "INVALID_ARGUMENT", "n_dims = 5 is not in 1..4",
         lambda m: m.raw_infos.update({"output_norm.weight": tinfo(
             "output_norm.weight", [D_MODEL, 1, 1, 1, 1], T_F32, 0)}))
    case("n_dims_u32_max", "INVALID_ARGUMENT", "n_dims = 4294967295 is not in 1..4",
         lambda m: m.raw_infos.update({"output_norm.weight": tinfo(
             "output_norm.weight", [D_MODEL], T_F32, 0, n_dims=2**32 - 1)}))
    case("duplicate_tensor_name", "INVALID_ARGUMENT",
         "duplicate tensor name 'blk.0.attn_q.weight'",
         lambda m: m.tensor("blk.0.attn_k.weight").__setitem__(0, "blk.0.attn_q.weight"))
    case("duplicate_metadata_key", "INVALID_ARGUMENT", "duplicate metadata key 'llama.block_count'",
         lambda m: m.add("llama.block_count", U32, u32(1)))
    case("tensor_type_unknown", "INVALID_ARGUMENT", "unknown tensor type 1000",
         lambda m: m.tensor("blk.0.attn_q.weight").__setitem__(2, 1000))
    case("tensor_type_removed", "INVALID_ARGUMENT", "unknown tensor type 4",
         lambda m: m.tensor("blk.0.attn_q.weight").__setitem__(2, 4))
    case("value_type_unknown", "INVALID_ARGUMENT", "unknown value type 13",
         set_kv("general.name", 13, gstr(b"x")))
    case("array_element_type_unknown", "INVALID_ARGUMENT", "unknown array element type 99",
         set_kv("tokenizer.ggml.merges", ARR, u32(99) + u64(1) + b"\0" * 8))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "fixtures", "gguf", "attacks")
    os.makedirs(out_dir, exist_ok=True)
    rows = ["# file\texpected status code\tsubstring of the message (make_gguf_attacks.py)",
            "base_model.gguf\tOK\t"]
    with open(os.path.join(out_dir, "base_model.gguf"), "wb") as f:
        f.write(Model().bytes())
    for name, model, code, substring in attacks():
        data = model.bytes()
        with open(os.path.join(out_dir, name + ".gguf"), "wb") as f:
            f.write(data)
        rows.append("%s.gguf\t%s\t%s" % (name, code, substring))
    with open(os.path.join(out_dir, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("wrote %d files to %s" % (len(rows) - 1, out_dir))


if __name__ == "__main__":
    main()

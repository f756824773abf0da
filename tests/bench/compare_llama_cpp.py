#!/usr/bin/env python3
"""Decode speed of our CPU backend next to llama.cpp (llama-cpp-python), same machine,
same model file, alternating runs; prints the median tokens/s of each and their ratio.

  tests/bench/compare_llama_cpp.py --decode-bench build/tests/bench/decode_bench \\
      --model ~/.cache/smollm-serve/models/SmolLM2-135M-Instruct.Q4_1.gguf --threads 1 2

Ours: decode_bench's BM_Decode/<threads> (one sequence, context about 128 tokens).
llama.cpp: a 128-token prompt, then single-token evals for --seconds, timed here.
The host's load average is printed with each result: wall-clock numbers mean little on
a busy machine. With one thread, tokens per CPU-second are printed too (our benchmark's
CPU time; llama.cpp's process CPU time): those hold up better under load.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def ours_tokens_per_s(decode_bench, model, threads, seconds):
    env = dict(os.environ, SMOLLM_BENCH_MODEL=model)
    out = subprocess.run(
        [decode_bench, f"--benchmark_filter=BM_Decode/{threads}/", "--benchmark_format=json",
         f"--benchmark_min_time={seconds}"],
        env=env, check=True, capture_output=True, text=True).stdout
    run = json.loads(out)["benchmarks"][0]
    assert run["time_unit"] == "ms"
    return run["tokens/s"], 1000.0 / run["cpu_time"]  # wall, per CPU-second (one token a run)


class LlamaCpp:
    def __init__(self, model, threads):
        import llama_cpp  # imported here: --help works without it
        self.llm = llama_cpp.Llama(model_path=model, n_threads=threads, n_threads_batch=threads,
                                   n_ctx=4096, n_batch=128, verbose=False)
        vocab = self.llm.n_vocab()
        self.prompt = [(i * 7919 + 13) % vocab for i in range(128)]

    def tokens_per_s(self, seconds):
        self.llm.reset()
        self.llm.eval(self.prompt)
        vocab = self.llm.n_vocab()
        n, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while n < 8 or time.perf_counter() - start < seconds:
            self.llm.eval([(n * 31 + 7) % vocab])
            n += 1
        return n / (time.perf_counter() - start), n / (time.process_time() - cpu_start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decode-bench", required=True, help="path of the decode_bench binary")
    parser.add_argument("--model", required=True, action="append", help="GGUF file (repeatable)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per side")
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum time per run")
    args = parser.parse_args()

    print(f"{'model':<32} {'thr':>3} {'ours tok/s':>11} {'llama.cpp':>10} {'ratio':>6} "
          f"{'cpu-s ratio':>11}  load")
    for model in args.model:
        for threads in args.threads:
            llama = LlamaCpp(model, threads)
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(ours_tokens_per_s(args.decode_bench, model, threads, args.seconds))
                theirs.append(llama.tokens_per_s(args.seconds))
            del llama
            a = statistics.median(x[0] for x in ours)
            b = statistics.median(x[0] for x in theirs)
            # Per CPU-second only means something with one thread per side.
            cpu_ratio = (statistics.median(x[1] for x in ours) /
                         statistics.median(x[1] for x in theirs)) if threads == 1 else float("nan")
            load = os.getloadavg()[0]
            print(f"{os.path.basename(model)[:32]:<32} {threads:>3} {a:>11.2f} {b:>10.2f} "
                  f"{a / b:>6.2f} {cpu_ratio:>11.2f}  {load:.2f}   "
                  f"(ours {', '.join(f'{x[0]:.1f}' for x in ours)}; "
                  f"llama.cpp {', '.join(f'{x[0]:.1f}' for x in theirs)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

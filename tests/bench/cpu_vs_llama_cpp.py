#!/usr/bin/env python3
"""CPU speed of our runtime next to llama.cpp (llama-cpp-python) on the same GGUF files,
the same machine and the same thread count: prefill (pp128, pp512) and decode (tg128)
tokens/s, peak RSS, and the decode roofline.

  tests/bench/cpu_vs_llama_cpp.py --build build --threads 1 2 --rounds 3 --json out.json

Per model and thread count both sides run in their own child process, loaded once. Each
round runs every test on both sides back to back (ours first in even rounds, llama.cpp
first in odd ones), so that the two samples of a test in a round see the host in the same
state; a row gives the median over the rounds of each side, their ratio, and the median of
the rounds' own ratios (which holds up better where the host's memory bandwidth jumps
between levels from one minute to the next).
  ours: build/tests/bench/cpu_bench, the engine's path (Model, CpuBackend with the
        server's defaults, paged f16 KV, Forward with the engine's step limits).
  llama.cpp: llama_decode through llama-cpp-python's C bindings, default context
        parameters except n_ctx, n_batch = n_ubatch = 512 and the thread count.
  ppN: one N-token prompt from position 0 in one batch, logits of the last token.
  tg128: a 16-token prompt (untimed), then 128 greedy decode steps of one token, timed.
  tgN@D (with --depth D): the same after a D-token prompt (untimed, in batches of 512):
        N decode steps (--depth-steps, default 64) at a context of D tokens, where each
        step's attention reads D positions of keys and values per layer.
Each test repeats within a round until it has run --min-seconds.
Both sides hold a --ctx (default 4096) token context: our KV pages are written once at
start, llama.cpp clears its KV buffer at creation, so peak RSS counts a full context.
llama.cpp's RSS is given net of its Python interpreter (measured in its child before the
model loads). RSS is the child's VmHWM, read before it exits: the peak of its own address
space (its ru_maxrss would also count the parent's RSS at fork, which Linux carries
across exec, and this script's grows past a small model's).
Roofline: decode reads every weight once per token: the bytes of every tensor but the
token embedding (one row of it), plus all of it when the output projection is tied to it.
membw_bench measures streaming read bandwidth at the same thread count in each round, on
2 MiB huge pages as our backend allocates its repacked weights (and, for reference, on
4 KiB pages); roofline tok/s = best huge-page read bandwidth / bytes per token (KV reads
left out: small at tg128's context). The bandwidth a host gives can change by half within
minutes (other tenants of a shared memory bus), so each tg128 sample is also bracketed by
two short membw_bench runs, and its "paired" fraction of the roofline uses their mean: the
share of the memory bandwidth available at that moment that the decode reached.
Prefill's roofline is compute: int8_peak_bench measures the int8 multiply-accumulate rate
of the kernels' dot-product instructions (AVX-512 VNNI, or the AVX2 sequence under --isa
avx2) at the same thread count in each round; a ppN token costs one multiply-accumulate
per weight of every layer, the output projection once per prompt, and attention's
n_layers * n_heads * head_dim * (N + 1) on average; roofline tok/s = best rate / that.
--isa avx2 (or generic) adds a table with our kernels forced to that ISA (and
ONEDNN_MAX_CPU_ISA=AVX2 for ours unless --onednn-max-isa says otherwise). llama.cpp's
ggml-cpu is one build for one ISA: by default its native one runs in every table; with
--llama-avx2-python, the avx2 table runs llama.cpp from that interpreter instead, whose
llama-cpp-python was built for AVX2 alone, like for like with a CPU without AVX-512:
  python3 -m venv V && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
    -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" V/bin/pip install \
    llama-cpp-python
The host's load average goes with each row: on a busy host wall-clock rates mean little;
the ratio of tokens per CPU-second of each child holds up better there (at one thread;
with more, threads that spin while waiting count too).
"""
import argparse
import ctypes
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

TESTS = ("pp128", "pp512", "tg128")  # and tgN@D per --depth, added in main()
TG_PROMPT = 16


def parse_test(test):
    """ppN, tgN or tgN@D: (kind, N, prompt tokens before a tg test's timed steps)."""
    n, _, depth = test[2:].partition("@")
    return test[:2], int(n), int(depth) if depth else TG_PROMPT
MODELS_DIR = os.path.expanduser("~/.cache/smollm-serve/models")
Q4_1_135M = os.path.join(MODELS_DIR, "SmolLM2-135M-Instruct.Q4_1.gguf")
Q4_K_M_135M = os.path.join(MODELS_DIR, "SmolLM2-135M-Instruct.Q4_K_M-from-Q4_1.gguf")
MODEL_3B = "/tmp/synthout/smollm3-3b.gguf"


def make_135m_q4km():
    """Requantizes the 135M Q4_1 file to Q4_K_M (once): fine for speed, not for quality."""
    if os.path.exists(Q4_K_M_135M):
        return
    code = ("import ctypes, llama_cpp as l, sys\n"
            "p = l.llama_model_quantize_default_params()\n"
            "p.ftype = l.LLAMA_FTYPE_MOSTLY_Q4_K_M\np.allow_requantize = True\n"
            "sys.exit(l.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(),"
            " ctypes.byref(p)))\n")
    tmp = Q4_K_M_135M + ".tmp"
    r = subprocess.run([sys.executable, "-c", code, Q4_1_135M, tmp], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"requantizing {Q4_1_135M} failed:\n{r.stderr[-2000:]}")
    os.rename(tmp, Q4_K_M_135M)
    print(f"made {Q4_K_M_135M}: requantized from Q4_1 (fine for speed, not for quality)")


def rss_kib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def llama_worker(model, threads, ctx, min_seconds):
    """The llama.cpp child: the same line protocol as cpu_bench."""
    base_kib = rss_kib()
    start = time.perf_counter()
    import llama_cpp as l
    import numpy as np
    base_kib = max(base_kib, rss_kib())
    quiet = l.llama_log_callback(lambda level, text, data: None)
    l.llama_log_set(quiet, ctypes.c_void_p())
    l.llama_backend_init()
    mparams = l.llama_model_default_params()
    lm = l.llama_model_load_from_file(model.encode(), mparams)
    if not lm:
        sys.exit(f"llama.cpp cannot load {model}")
    cparams = l.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = ctx, 512, 512
    cparams.n_threads = cparams.n_threads_batch = threads
    lctx = l.llama_init_from_model(lm, cparams)
    n_vocab = l.llama_vocab_n_tokens(l.llama_model_get_vocab(lm))
    mem = l.llama_get_memory(lctx)

    def decode(tokens):
        arr = (l.llama_token * len(tokens))(*tokens)
        if l.llama_decode(lctx, l.llama_batch_get_one(arr, len(tokens))) != 0:
            raise RuntimeError("llama_decode failed")
        l.llama_synchronize(lctx)

    def prompt(n):
        return [(i * 7919 + 13) % n_vocab for i in range(n)]

    def once(test):
        """Wall and process CPU seconds of one run of `test`."""
        kind, n, depth = parse_test(test)
        l.llama_memory_clear(mem, True)
        if kind == "tg":
            tokens = prompt(depth)
            for first in range(0, depth, 512):  # at most n_batch tokens a call
                decode(tokens[first:first + 512])
        t, cpu = time.perf_counter(), time.process_time()
        if kind == "pp":
            decode(prompt(n))
        for _ in range(n if kind == "tg" else 0):
            logits = np.ctypeslib.as_array(l.llama_get_logits_ith(lctx, -1), shape=(n_vocab,))
            decode([int(logits.argmax())])
        return time.perf_counter() - t, time.process_time() - cpu

    once("pp128"), once("tg8")  # warm-up: pages in the weights
    print(json.dumps({"ready": True, "python_base_kib": base_kib, "threads": threads, "ctx": ctx,
                      "setup_seconds": time.perf_counter() - start,
                      "system_info": l.llama_print_system_info().decode()}), flush=True)
    for line in sys.stdin:
        test = line.strip()
        if not test:
            continue
        seconds = cpu = runs = 0
        while runs == 0 or seconds < min_seconds:
            wall, used = once(test)
            seconds, cpu, runs = seconds + wall, cpu + used, runs + 1
        print(json.dumps({"test": test, "tokens": parse_test(test)[1] * runs, "seconds": seconds,
                          "cpu_seconds": cpu, "runs": runs}), flush=True)
    l.llama_free(lctx)
    l.llama_model_free(lm)


class Child:
    """A worker process answering one JSON line per test line; peak RSS when closed."""

    def __init__(self, argv, env=None):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env)
        self.ready = self._reply()  # its first line, once it has loaded and warmed up

    def _reply(self):
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            sys.exit(f"{' '.join(self.proc.args)} failed:\n{self.log.read()[-3000:]}")
        reply = json.loads(line)
        if "error" in reply:
            sys.exit(f"{' '.join(self.proc.args)}: {reply}")
        return reply

    def run(self, test):
        """Tokens per second of wall time and per CPU-second of the child (all threads)."""
        self.proc.stdin.write(test + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        return reply["tokens"] / reply["seconds"], reply["tokens"] / reply["cpu_seconds"]

    def close(self):
        """Ends the child; its peak RSS in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        self.proc.stdin.close()
        _, status, _ = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        if self.proc.returncode != 0:
            self.log.seek(0)
            sys.exit(f"{' '.join(self.proc.args)} exited {self.proc.returncode}:\n"
                     f"{self.log.read()[-3000:]}")
        return peak


@functools.lru_cache(maxsize=None)
def gguf_reader(model):
    """The file's tensors and metadata, read once per model for every roofline."""
    import gguf
    return gguf.GGUFReader(model)


def decode_bytes_per_token(model):
    """Weight bytes one decode token reads (see the module's doc)."""
    reader = gguf_reader(model)
    tensors = {t.name: int(t.n_bytes) for t in reader.tensors}
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    row = int(embd.n_bytes) // int(embd.shape[-1])  # shape is [d_model, vocab]
    tied = "output.weight" not in tensors
    return sum(tensors.values()) - tensors["token_embd.weight"] + row + (
        tensors["token_embd.weight"] if tied else 0), tied


def prompt_macs_per_token(model, n):
    """Multiply-accumulates per token of an n-token prompt (see the module's doc)."""
    reader = gguf_reader(model)

    def meta(suffix):
        key = next(k for k in reader.fields if k.endswith(suffix))
        field = reader.fields[key]
        return int(field.parts[field.data[0]][0])

    layers = sum(int(t.n_elements) for t in reader.tensors
                 if t.name.startswith("blk.") and len(t.shape) == 2)
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    out = next((t for t in reader.tensors if t.name == "output.weight"), embd)
    n_heads, d_model = meta(".attention.head_count"), meta(".embedding_length")
    attention = meta(".block_count") * n_heads * (d_model // n_heads) * (n + 1)
    return layers + int(out.n_elements) / n + attention


def membw(args, threads, mib=None, passes=8, pages="huge"):
    out = subprocess.run([os.path.join(args.build, "tests/bench/membw_bench"), "--threads",
                          str(threads), "--mib", str(mib or args.membw_mib), "--passes",
                          str(passes), "--pages", pages], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def int8_peak(args, threads, isa):
    if isa == "generic":
        return {"isa": "generic"}  # scalar kernels: no dot-product instruction to measure
    argv = [os.path.join(args.build, "tests/bench/int8_peak_bench"), "--threads", str(threads)]
    if isa == "avx2":
        argv += ["--isa", "avx2"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_paired(args, child, test, threads):
    """One sample of `test`; for tg128 with the read bandwidth measured just before and after."""
    paired = test == "tg128"
    before = membw(args, threads, mib=512, passes=3)["read_gbps"] if paired else None
    wall, cpu = child.run(test)
    sample = {"tok_s": wall, "tok_per_cpu_s": cpu}
    if paired:
        after = membw(args, threads, mib=512, passes=3)["read_gbps"]
        sample["read_gbps_around"] = [before, after]
    return sample


def bench_row(args, model, threads, isa):
    """Both sides at one thread count: samples per test, peak RSS, bandwidth samples."""
    env = dict(os.environ)
    ours_argv = [os.path.join(args.build, "tests/bench/cpu_bench"), "--model", model,
                 "--threads", str(threads), "--ctx", str(args.ctx),
                 "--min-seconds", str(args.min_seconds)]
    if isa != "native":
        ours_argv += ["--isa", isa]
        env["ONEDNN_MAX_CPU_ISA"] = args.onednn_max_isa or "AVX2"
    elif args.onednn_max_isa:
        env["ONEDNN_MAX_CPU_ISA"] = args.onednn_max_isa
    if args.onednn_min_tokens is not None:
        ours_argv += ["--onednn-min-tokens", str(args.onednn_min_tokens)]
    ours = Child(ours_argv, env)
    # Loaded before llama.cpp maps the same file: our backend hands the pages of the
    # weights it repacks back to the kernel (MADV_PAGEOUT), which cannot reclaim pages that
    # another process maps too, and our RSS would then count them.
    python = args.llama_avx2_python if isa == "avx2" and args.llama_avx2_python else sys.executable
    llama = Child([python, os.path.abspath(__file__), "--llama-worker", "--model", model,
                   "--threads", str(threads), "--ctx", str(args.ctx),
                   "--min-seconds", str(args.min_seconds)])
    samples = {side: {t: [] for t in TESTS} for side in ("ours", "llama")}
    bw, bw_small, peaks = [], [], []
    for r in range(args.rounds):
        bw.append(membw(args, threads))
        bw_small.append(membw(args, threads, pages="small"))
        peaks.append(int8_peak(args, threads, isa))
        for test in TESTS:
            for side in (("ours", "llama") if r % 2 == 0 else ("llama", "ours")):
                child = ours if side == "ours" else llama
                samples[side][test].append(run_paired(args, child, test, threads))
    rss = {"ours": ours.close(), "llama": llama.close() - llama.ready["python_base_kib"],
           "llama_python_base": llama.ready["python_base_kib"]}
    return {"model": model, "threads": threads, "isa": isa, "samples": samples, "rss_kib": rss,
            "membw": bw, "membw_small_pages": bw_small, "int8_peak": peaks,
            "ours_ready": ours.ready, "llama_ready": llama.ready,
            "load": os.getloadavg()}


def median(row, side, test, key="tok_s"):
    return statistics.median(s[key] for s in row["samples"][side][test])


def paired_fractions(row, side, per_token):
    """Each tg128 sample's bytes/s over the mean read bandwidth measured around it."""
    return [s["tok_s"] * per_token / (statistics.mean(s["read_gbps_around"]) * 1e9)
            for s in row["samples"][side]["tg128"]]


def percents(fractions):
    return "[" + " ".join(f"{100 * f:.0f}" for f in fractions) + "]"


def print_table(rows, isa):
    print(f"\n### ours ({isa}) vs llama.cpp: tokens/s, medians\n")
    print("| model | thr | test | ours | llama.cpp | ratio | per-round ratios: median [rounds] "
          "| ratio per CPU-s | load 1m |")
    print("|---|---:|---|---:|---:|---:|---|---:|---:|")
    for row in rows:
        name = os.path.basename(row["model"]).replace(".gguf", "")
        for test in TESTS:
            a, b = median(row, "ours", test), median(row, "llama", test)
            cpu = median(row, "ours", test, "tok_per_cpu_s") / median(row, "llama", test,
                                                                       "tok_per_cpu_s")
            rounds = [o["tok_s"] / l["tok_s"] for o, l in
                      zip(row["samples"]["ours"][test], row["samples"]["llama"][test])]
            per_round = (f"{statistics.median(rounds):.2f} ["
                         + " ".join(f"{x:.2f}" for x in rounds) + "]")
            print(f"| {name} | {row['threads']} | {test} | {a:.1f} | {b:.1f} | {a / b:.2f} | "
                  f"{per_round} | {cpu:.2f} | {row['load'][0]:.1f} |")
        a, b = row["rss_kib"]["ours"] / 1024, row["rss_kib"]["llama"] / 1024
        print(f"| {name} | {row['threads']} | peak RSS MiB (ctx {row['ours_ready']['ctx']}) | "
              f"{a:.0f} | {b:.0f} | {a / b:.2f} | | | {row['load'][0]:.1f} |")
    print("\nPeak RSS: VmHWM of each child, resident pages of its mapped model file "
          "included; llama.cpp's net of its Python interpreter.")
    print("\nRoofline (decode reads every weight once a token; bandwidth: best streaming "
          "read of the run at that thread count on huge pages, with or without software "
          "prefetch; 4 KiB pages for reference):")
    for row in rows:
        per_token, tied = decode_bytes_per_token(row["model"])
        read = max(b["read_gbps"] for b in row["membw"]) * 1e9
        read_small = max(b["read_gbps"] for b in row["membw_small_pages"]) * 1e9
        copy = max(b["copy_gbps"] for b in row["membw"]) * 1e9
        roof = read / per_token
        a, b = median(row, "ours", "tg128"), median(row, "llama", "tg128")
        row["roofline"] = {"bytes_per_token": per_token, "tied_embeddings": tied,
                           "read_bytes_s": read, "read_small_pages_bytes_s": read_small,
                           "copy_bytes_s": copy, "tok_s": roof}
        paired = {side: paired_fractions(row, side, per_token) for side in ("ours", "llama")}
        row["roofline"]["paired_fractions"] = paired
        print(f"- {os.path.basename(row['model'])} thr {row['threads']}: "
              f"{per_token / 1e6:.1f} MB/token{' (tied output)' if tied else ''}; read "
              f"{read / 1e9:.1f} GB/s (4 KiB pages {read_small / 1e9:.1f}, copy "
              f"{copy / 1e9:.1f}) -> {roof:.1f} tok/s; "
              f"ours tg128 {a:.1f} = {100 * a / roof:.0f}%, llama.cpp {b:.1f} = "
              f"{100 * b / roof:.0f}%; paired (bandwidth around each sample), median "
              f"[samples]: ours {100 * statistics.median(paired['ours']):.0f}% "
              f"{percents(paired['ours'])}, llama.cpp "
              f"{100 * statistics.median(paired['llama']):.0f}% {percents(paired['llama'])}")
    print("\nPrefill roofline (int8 multiply-accumulates a prompt token costs; rate: best "
          "int8 dot-product throughput of the run at that thread count):")
    for row in rows:
        peak = max(p.get("int8_macs_per_s", 0) for p in row["int8_peak"])
        if peak == 0:
            print(f"- {os.path.basename(row['model'])} thr {row['threads']}: no int8 peak "
                  f"for {row['int8_peak'][0].get('isa')}")
            continue
        cells = []
        row["prefill_roofline"] = {"int8_macs_per_s": peak, "isa": row["int8_peak"][0]["isa"]}
        for test in (t for t in TESTS if t.startswith("pp")):
            macs = prompt_macs_per_token(row["model"], int(test[2:]))
            roof = peak / macs
            a, b = median(row, "ours", test), median(row, "llama", test)
            row["prefill_roofline"][test] = {"macs_per_token": macs, "tok_s": roof}
            cells.append(f"{test} {macs / 1e9:.2f} G MAC/token -> {roof:.0f} tok/s, ours "
                         f"{100 * a / roof:.0f}%, llama.cpp {100 * b / roof:.0f}%")
        print(f"- {os.path.basename(row['model'])} thr {row['threads']}: "
              f"{row['int8_peak'][0]['isa']} {peak / 1e9:.0f} G MAC/s; " + "; ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="build directory with tests/bench/")
    parser.add_argument("--model", action="append",
                        help=f"GGUF file (repeatable); default {Q4_K_M_135M} (made from the "
                             f"Q4_1 file next to it when missing) and {MODEL_3B}")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="each test repeats within a round until it has run this long")
    parser.add_argument("--ctx", type=int, default=4096, help="context both sides hold")
    parser.add_argument("--isa", action="append", default=[], choices=["avx2", "generic"],
                        help="also a table with our kernels forced to this ISA (repeatable)")
    parser.add_argument("--onednn-min-tokens", type=int,
                        help="ours: matmuls of at least this many tokens through oneDNN "
                             "(default: the server's setting)")
    parser.add_argument("--onednn-max-isa", help="ONEDNN_MAX_CPU_ISA for ours")
    parser.add_argument("--llama-avx2-python",
                        help="a python whose llama-cpp-python is built for AVX2 alone: "
                             "llama.cpp's side of the --isa avx2 table")
    parser.add_argument("--depth", type=int, nargs="*", default=[],
                        help="also decode at these contexts (tokens of prompt first)")
    parser.add_argument("--depth-steps", type=int, default=64,
                        help="decode steps timed at each --depth")
    parser.add_argument("--membw-mib", type=int, default=1024)
    parser.add_argument("--json", help="write every raw sample here")
    parser.add_argument("--llama-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.llama_worker:
        return llama_worker(args.model[0], args.threads[0], args.ctx, args.min_seconds)
    global TESTS
    TESTS += tuple(f"tg{args.depth_steps}@{d}" for d in args.depth)
    args.model = args.model or [Q4_K_M_135M, MODEL_3B]
    if Q4_K_M_135M in args.model:
        make_135m_q4km()
        print(f"note: {os.path.basename(Q4_K_M_135M)} is requantized from Q4_1 by llama.cpp "
              "(fine for speed, not for quality)")
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()}; rounds {args.rounds}, min {args.min_seconds}s a test, "
          f"ctx {args.ctx}", flush=True)
    started = time.time()
    tables = []
    for isa in ["native"] + args.isa:
        rows = []
        for model in args.model:
            for threads in args.threads:
                rows.append(bench_row(args, model, threads, isa))
                print(f"  done {os.path.basename(model)} thr {threads} ({isa}): "
                      f"{time.time() - started:.0f}s, load {os.getloadavg()[0]:.1f}", flush=True)
        ready = rows[0]["ours_ready"]
        if isa == "native":
            peer = ""
        elif isa == "avx2" and args.llama_avx2_python:
            peer = ", forced; llama.cpp built for AVX2 alone"
        else:
            peer = ", forced; llama.cpp stays on its native build"
        print_table(rows, ready["isa"] + " kernels" + peer)
        tables.append({"isa": isa, "rows": rows})
    for table in tables:
        info = table["rows"][0]["llama_ready"]["system_info"].strip()
        print(f"\nllama.cpp ({table['isa']} table): {info}")
    print(f"total {time.time() - started:.0f}s; load average now {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "tables": tables, "seconds": time.time() - started},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Overload: more work than smollm-server's admission limits allow.

A server with a small batch, queue and KV pool gets bursts of Generate calls and chat
sessions far beyond them. Expected: every refused call is RESOURCE_EXHAUSTED carrying
google.rpc.RetryInfo (a positive delay) and ErrorInfo, and every chat turn refused
in-stream (ChatError 8) its retry_after (a positive delay); no other error code appears; the
process never dies; its RSS (sampled from /proc every 100 ms) stays within RSS_BOUND_MIB
of its RSS before the bursts; afterwards it serves again and every KV page is free.

  overload_test.py --server build/service/smollm-server --model SmolLM2.gguf [--sanitized]
"""

import asyncio
import math
import random
import re
import time

import grpc

import harness
import loadgen

# Headroom over the pre-burst RSS. The bursts hold a few hundred streams with their
# request and response buffers; growth beyond this would mean per-refusal leaks or
# unbounded buffering (measured growth is a few MiB, see tests/load/README.md).
RSS_BOUND_MIB = 64
FLAGS = ["--max_running=2", "--max_queued_requests=3", "--kv_cache_mib=8",
         "--max_context=512", "--token_buffer=8", "--max_sessions=64"]
# Tokens per admitted call (a session turn takes the lower bound); fewer under sanitizers.
TOKENS = (8, 24)


class Tally:
    def __init__(self):
        self.codes = {}
        self.missing_retry = []  # RESOURCE_EXHAUSTED without RetryInfo / ErrorInfo
        self.delays = []
        self.refusals = {}  # RESOURCE_EXHAUSTED messages (numbers dropped): count
        self.unexpected = []  # (code, message) of the first few other errors

    def other(self, code, message):
        if len(self.unexpected) < 3:
            self.unexpected.append((code, message))

    def add(self, code):
        self.codes[code] = self.codes.get(code, 0) + 1


async def one_generate(stub, pb, rng, eos, tally, long_prompt):
    words = rng.randint(80, 120) if long_prompt else rng.randint(5, 30)
    prompt = " ".join(rng.choice(loadgen.WORDS) for _ in range(words))
    sampling = pb.SamplingParams(temperature=0.7, seed=rng.getrandbits(32),
                                 max_tokens=rng.randint(*TOKENS))
    sampling.logit_bias[eos] = -math.inf
    call = stub.Generate(pb.GenerateRequest(prompt=prompt, sampling=sampling), timeout=120)
    try:
        async for _ in call:
            pass
        tally.add("OK")
    except grpc.aio.AioRpcError as e:
        tally.add(e.code().name)
        if e.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
            tally.other(e.code().name, e.details())
        else:
            reason, delay = harness.trailer_details(e.trailing_metadata())
            if reason is None or delay is None or delay <= 0:
                tally.missing_retry.append((reason, delay, e.details()))
            else:
                tally.delays.append(delay)
            shape = re.sub(r"[0-9.]+", "N", e.details() or "")
            tally.refusals[shape] = tally.refusals.get(shape, 0) + 1


async def one_session(stub, pb, rng, tally, ids):
    """A session whose two turns race the Generate bursts for the queue and the pool."""
    call = stub.Chat(timeout=120)
    try:
        await call.write(pb.ChatRequest(open=pb.OpenSession(
            sampling=pb.SamplingParams(max_tokens=TOKENS[0], seed=rng.getrandbits(32)))))
        opened = await call.read()
        ids.append(opened.session.session_id)
        for turn in range(2):
            await call.write(pb.ChatRequest(turn=pb.UserTurn(
                content="Tell me about %s, part %d." % (rng.choice(["owls", "tides"]), turn))))
            while True:
                message = await call.read()
                if message.HasField("error"):
                    tally.add("chat_error:%d" % message.error.code)
                    if message.error.code != 8:
                        tally.other(message.error.code, message.error.message)
                    else:
                        # A refused turn carries its retry delay (ChatError.retry_after).
                        delay = (message.error.retry_after.seconds +
                                 message.error.retry_after.nanos / 1e9)
                        if not message.error.HasField("retry_after") or delay <= 0:
                            tally.missing_retry.append(("chat_error", delay,
                                                        message.error.message))
                        else:
                            tally.delays.append(delay)
                    break
                if message.HasField("turn_end"):
                    tally.add("OK")
                    break
        await call.done_writing()
        while await call.read() is not grpc.aio.EOF:
            pass
    except grpc.aio.AioRpcError as e:
        tally.add("chat:" + e.code().name)
        tally.other(e.code().name, e.details())


async def burst(target, pb, rpc, eos, seed, generates, sessions, long_prompt):
    rng = random.Random(seed)
    tally, ids = Tally(), []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = rpc.InferenceStub(channel)
        jobs = [one_generate(stub, pb, random.Random(rng.random()), eos, tally, long_prompt)
                for _ in range(generates)]
        jobs += [one_session(stub, pb, random.Random(rng.random()), tally, ids)
                 for _ in range(sessions)]
        rng.shuffle(jobs)
        await asyncio.gather(*jobs)
        for sid in ids:
            try:
                await stub.DeleteSession(pb.DeleteSessionRequest(session_id=sid), timeout=10)
            except grpc.aio.AioRpcError as e:
                tally.add("delete:" + e.code().name)
    return tally


def main():
    global TOKENS
    args = harness.common_args(__doc__.splitlines()[0]).parse_args()
    if args.sanitized:
        TOKENS = (2, 4)
    pb, rpc = harness.Api.load(args.repo)
    checks = harness.Checks()
    server = harness.start_server(args, FLAGS)
    try:
        eos = run_one_and_eos(server, pb, rpc, checks)
        rss_before = harness.rss_kib(server.proc.pid)
        sampler = harness.RssSampler(server.proc.pid, period=0.1)
        scale = 1 if args.sanitized else 2
        rounds = [("short prompts", 60 * scale, 6 * scale, False),
                  ("long prompts", 40 * scale, 4 * scale, True),
                  ("sessions first", 10 * scale, 16 * scale, False)]
        if args.sanitized:  # long prefills take minutes there
            del rounds[1]
        totals = {}
        start = time.time()
        for i, (name, generates, sessions, long_prompt) in enumerate(rounds):
            tally = asyncio.run(burst(server.target, pb, rpc, eos, 100 + i, generates,
                                      sessions, long_prompt))
            print("%-15s %s, RetryInfo delays %s s" % (
                name, dict(sorted(tally.codes.items())),
                sorted(set(round(d, 3) for d in tally.delays))[:4]), flush=True)
            for shape, n in tally.refusals.items():
                print("    %4d x %s" % (n, shape), flush=True)
            for code, n in tally.codes.items():
                totals[code] = totals.get(code, 0) + n
            checks.expect(not tally.missing_retry,
                          "%s: RESOURCE_EXHAUSTED without RetryInfo/ErrorInfo or a "
                          "ChatError 8 without retry_after: %s" % (
                              name, tally.missing_retry[:3]))
            allowed = {"OK", "RESOURCE_EXHAUSTED", "chat_error:8"}
            checks.expect(set(tally.codes) <= allowed,
                          "%s: codes beyond OK/RESOURCE_EXHAUSTED: %s; first: %s" % (
                              name, tally.codes, tally.unexpected))
            checks.expect(server.proc.poll() is None, "%s: the server died" % name)
        elapsed = time.time() - start
        samples = sampler.stop()
        peak = sampler.peak()
        print("bursts took %.1f s; RSS before %d MiB, peak %d MiB (bound +%d MiB), %d samples;"
              " load average %s" % (elapsed, rss_before // 1024, peak // 1024, RSS_BOUND_MIB,
                                    len(samples), harness.load_average()), flush=True)
        checks.expect(totals.get("RESOURCE_EXHAUSTED", 0) > 0,
                      "no call was refused: the bursts did not overload the server")
        checks.expect(peak - rss_before < RSS_BOUND_MIB * 1024,
                      "RSS grew %d KiB, beyond %d MiB" % (peak - rss_before, RSS_BOUND_MIB))
        quiet = harness.wait_quiet(server)
        checks.expect(quiet == (0, 0, 0), "not quiet after the bursts: (running, waiting, "
                      "used pages) = %s" % (quiet,))
        used, free, cached, total = harness.kv_pages(server)
        checks.expect(used == 0 and free + cached == total,
                      "KV pages not all free: used %d free %d cached %d of %d" % (
                          used, free, cached, total))
        m = harness.metrics(server)
        pressure = {k: m[k] for k in ("smollm_preemptions_total",
                                      "smollm_kv_cache_evictions_total",
                                      "smollm_session_kv_dropped_total",
                                      "smollm_kv_cache_capacity_pages")}
        print("KV pressure: %s" % pressure, flush=True)
        checks.expect(pressure["smollm_kv_cache_evictions_total"] > 0,
                      "the small KV pool never had to evict a cached page")
        refused = sum(v for k, v in m.items() if k.startswith("smollm_rpcs_finished_total")
                      and "code=RESOURCE_EXHAUSTED" in k)
        checks.expect(refused == totals.get("RESOURCE_EXHAUSTED", 0),
                      "the server counted %d RESOURCE_EXHAUSTED calls, the clients %d" % (
                          refused, totals.get("RESOURCE_EXHAUSTED", 0)))
        run_one_and_eos(server, pb, rpc, checks)  # it serves again
    finally:
        server.kill()
    checks.finish("overload")


def run_one_and_eos(server, pb, rpc, checks):
    """One Generate that must succeed; returns the model's end-of-sequence id."""
    with grpc.insecure_channel(server.target) as channel:
        stub = rpc.InferenceStub(channel)
        info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=30)
        ends = [m.end for m in stub.Generate(pb.GenerateRequest(
            prompt="Hello", sampling=pb.SamplingParams(max_tokens=4, temperature=0)),
            timeout=60) if m.HasField("end")]
        checks.expect(len(ends) == 1, "a plain Generate did not end normally")
        return info.eos_token_id


if __name__ == "__main__":
    main()

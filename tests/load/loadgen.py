"""Load generator for smollm-server: ramps concurrent streams over mixed traffic.

Each worker loops over one-shot Generate calls and multi-turn Chat sessions; a share of
them is cancelled by the client (Generate: the call is cancelled; Chat: a CancelTurn) or
disconnected (the worker's own channel closes mid-stream). Per stage it reports
requests/s, tokens/s, time to first token and inter-token latency p50/p99, and outcomes
by gRPC code, as a printed table and JSON.

  loadgen.py --target HOST:PORT --ramp 1,2,4,8 --stage_seconds 20 --json out.json
  loadgen.py --server build/service/smollm-server --model SmolLM2.gguf --ramp 1,2,4,8,16

A "request" is one Generate call or one Chat turn. TTFT runs from sending it to its
first token; inter-token latency is the gap between deltas divided by their tokens (one
sample per token, as the server's own histogram counts it).
"""

import argparse
import asyncio
import json
import math
import random
import sys
import time

import grpc

import harness

WORDS = ("river stone lamp orchard violin harbor pepper comet lantern meadow cipher quartz "
         "falcon glacier ember willow saddle prism tundra velvet anchor cobalt thistle "
         "marble").split()


class Mix:
    """What the workers send; shares are probabilities per request or turn."""

    def __init__(self, chat_share=0.4, cancel_share=0.1, disconnect_share=0.05,
                 max_tokens=(16, 48), turns=(2, 3), deadline=60.0):
        self.chat_share, self.cancel_share = chat_share, cancel_share
        self.disconnect_share, self.max_tokens = disconnect_share, max_tokens
        self.turns, self.deadline = turns, deadline


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Stage:
    """What one concurrency level measured."""

    def __init__(self, concurrency):
        self.concurrency = concurrency
        self.ttft, self.itl = [], []
        self.outcomes = {}
        self.tokens = 0
        self.ok = 0
        self.wall = 0.0
        self.session_ids = []

    def outcome(self, code):
        self.outcomes[code] = self.outcomes.get(code, 0) + 1
        if code == "OK":
            self.ok += 1

    def summary(self):
        ms = lambda v: None if v is None else round(v * 1000.0, 1)  # noqa: E731
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.wall, 2),
            "requests_ok": self.ok,
            "requests_per_s": round(self.ok / self.wall, 2) if self.wall else 0,
            "tokens": self.tokens,
            "tokens_per_s": round(self.tokens / self.wall, 1) if self.wall else 0,
            "ttft_ms_p50": ms(percentile(self.ttft, 50)),
            "ttft_ms_p99": ms(percentile(self.ttft, 99)),
            "itl_ms_p50": ms(percentile(self.itl, 50)),
            "itl_ms_p99": ms(percentile(self.itl, 99)),
            "outcomes": dict(sorted(self.outcomes.items())),
        }


class Worker:
    """One concurrent stream slot: runs requests back to back until the stage ends."""

    def __init__(self, target, channel, stage, mix, rng, eos, end_time):
        self.pb, self.rpc = harness.Api.pb, harness.Api.rpc
        self.target, self.channel, self.stage = target, channel, stage
        self.mix, self.rng, self.eos, self.end_time = mix, rng, eos, end_time

    def prompt(self):
        n = self.rng.randint(4, 40)
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def sampling(self, ban_eos):
        s = self.pb.SamplingParams(temperature=0.8, top_p=0.95, seed=self.rng.getrandbits(32),
                                   max_tokens=self.rng.randint(*self.mix.max_tokens))
        if ban_eos:
            s.logit_bias[self.eos] = -math.inf
        return s

    def plan(self):
        """None, "cancel" or "disconnect", and after how many deltas."""
        r = self.rng.random()
        if r < self.mix.cancel_share:
            return "cancel", self.rng.randint(1, 4)
        if r < self.mix.cancel_share + self.mix.disconnect_share:
            return "disconnect", self.rng.randint(1, 4)
        return None, 0

    async def run(self):
        while time.time() < self.end_time:
            if self.rng.random() < self.mix.chat_share:
                await self.chat()
            else:
                await self.generate()

    def record_delta(self, sent, last, delta):
        """Books one delta's tokens; returns the new time of the last delta."""
        now = time.time()
        n = len(delta.token_ids)
        if n == 0:
            return last
        self.stage.tokens += n
        if last is None:
            self.stage.ttft.append(now - sent)
        else:
            self.stage.itl.extend([(now - last) / n] * n)
        return now

    async def generate(self):
        action, after = self.plan()
        channel = self.channel
        if action == "disconnect":
            channel = grpc.aio.insecure_channel(self.target)
        stub = self.rpc.InferenceStub(channel)
        request = self.pb.GenerateRequest(prompt=self.prompt(), sampling=self.sampling(True))
        sent, last, deltas = time.time(), None, 0
        call = stub.Generate(request, timeout=self.mix.deadline)
        try:
            async for message in call:
                if message.HasField("delta"):
                    last = self.record_delta(sent, last, message.delta)
                    deltas += 1
                if action and deltas >= after:
                    if action == "cancel":
                        call.cancel()
                    else:
                        await channel.close(grace=None)
                    self.stage.outcome(action.upper())
                    return
            self.stage.outcome("OK")
        except grpc.RpcError as e:
            self.stage.outcome(e.code().name)
        except asyncio.CancelledError:
            self.stage.outcome(action.upper() if action else "CLIENT_CANCELLED")
        finally:
            if channel is not self.channel:
                await channel.close(grace=None)

    async def chat(self):
        pb = self.pb
        action, after = self.plan()
        channel = self.channel
        if action == "disconnect":
            channel = grpc.aio.insecure_channel(self.target)
        call = self.rpc.InferenceStub(channel).Chat(timeout=self.mix.deadline)
        turns = self.rng.randint(*self.mix.turns)
        acted_turn = self.rng.randrange(turns) if action else -1
        try:
            await call.write(pb.ChatRequest(open=pb.OpenSession(
                system_prompt="Answer briefly.", sampling=self.sampling(False))))
            opened = await call.read()
            if opened is grpc.aio.EOF or not opened.HasField("session"):
                self.stage.outcome("NO_SESSION")
                return
            self.stage.session_ids.append(opened.session.session_id)
            for turn in range(turns):
                if not await self.chat_turn(call, turn == acted_turn and action, after, channel):
                    return
            await call.done_writing()
            while await call.read() is not grpc.aio.EOF:
                pass
        except grpc.RpcError as e:
            self.stage.outcome(e.code().name)
        except asyncio.CancelledError:
            self.stage.outcome("CLIENT_CANCELLED")
        finally:
            if channel is not self.channel:
                await channel.close(grace=None)

    async def chat_turn(self, call, action, after, channel):
        """One turn; False when the stream is over (disconnected or failed in-stream)."""
        pb = self.pb
        sampling = pb.SamplingParams(max_tokens=self.rng.randint(*self.mix.max_tokens))
        await call.write(pb.ChatRequest(turn=pb.UserTurn(content=self.prompt(),
                                                         sampling=sampling)))
        sent, last, deltas, cancelled = time.time(), None, 0, False
        while True:
            message = await call.read()
            if message is grpc.aio.EOF:
                self.stage.outcome("EOF_MID_TURN")
                return False
            if message.HasField("error"):
                self.stage.outcome("chat_error:" + CODE_NAMES.get(message.error.code, "UNKNOWN"))
                return False
            if message.HasField("delta"):
                last = self.record_delta(sent, last, message.delta)
                deltas += 1
                if action == "disconnect" and deltas >= after:
                    await channel.close(grace=None)
                    self.stage.outcome("DISCONNECT")
                    return False
                if action == "cancel" and deltas >= after and not cancelled:
                    await call.write(pb.ChatRequest(cancel=pb.CancelTurn()))
                    cancelled = True
            if message.HasField("turn_end"):
                reason = message.turn_end.finish_reason
                if cancelled and reason == pb.FINISH_REASON_CANCELLED:
                    self.stage.outcome("CANCEL")
                else:
                    self.stage.outcome("OK")
                return True


CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


async def run_stage(target, concurrency, seconds, mix, seed, eos):
    """Runs `concurrency` workers for `seconds` (they finish their last request)."""
    stage = Stage(concurrency)
    channel = grpc.aio.insecure_channel(target)
    start = time.time()
    workers = [Worker(target, channel, stage, mix, random.Random(seed * 1000 + i), eos,
                      start + seconds) for i in range(concurrency)]
    await asyncio.gather(*(w.run() for w in workers))
    stage.wall = time.time() - start
    await delete_sessions(channel, stage.session_ids)
    await channel.close()
    return stage


async def delete_sessions(channel, ids):
    """Deletes the sessions a stage opened (those already gone are NOT_FOUND: fine)."""
    stub = harness.Api.rpc.InferenceStub(channel)
    for sid in ids:
        try:
            await stub.DeleteSession(harness.Api.pb.DeleteSessionRequest(session_id=sid),
                                     timeout=10)
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise


async def model_eos(target):
    async with grpc.aio.insecure_channel(target) as channel:
        info = await harness.Api.rpc.InferenceStub(channel).GetModelInfo(
            harness.Api.pb.GetModelInfoRequest(), timeout=30)
        return info.eos_token_id


def run_ramp(target, ramp, seconds, mix, seed=1):
    """Runs the stages in order; returns their Stage objects."""
    async def go():
        eos = await model_eos(target)
        return [await run_stage(target, c, seconds, mix, seed + i, eos)
                for i, c in enumerate(ramp)]
    return asyncio.run(go())


def print_table(summaries, out=sys.stdout):
    cols = ("concurrency", "requests_per_s", "tokens_per_s", "ttft_ms_p50", "ttft_ms_p99",
            "itl_ms_p50", "itl_ms_p99")
    print("%5s %8s %8s %9s %9s %8s %8s  outcomes" % ("conc", "req/s", "tok/s", "ttft p50",
                                                     "ttft p99", "itl p50", "itl p99"),
          file=out)
    for s in summaries:
        row = ["-" if s[c] is None else s[c] for c in cols]
        print("%5s %8s %8s %9s %9s %8s %8s  %s" % tuple(row + [
            " ".join("%s=%d" % kv for kv in s["outcomes"].items())]), file=out)


def highest_within(summaries, slo_ms):
    """The last stage whose p99 TTFT is under slo_ms (None when none is)."""
    best = None
    for s in summaries:
        if s["ttft_ms_p99"] is not None and s["ttft_ms_p99"] < slo_ms:
            best = s
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="HOST:PORT of a running server")
    parser.add_argument("--server", help="smollm-server binary to start instead")
    parser.add_argument("--model", help="GGUF model for --server")
    parser.add_argument("--server_flags", default="--kv_cache_mib=256 --max_running=64",
                        help="extra flags for the started server")
    parser.add_argument("--repo", default=harness.REPO)
    parser.add_argument("--ramp", default="1,2,4,8")
    parser.add_argument("--stage_seconds", type=float, default=20)
    parser.add_argument("--chat_share", type=float, default=0.4)
    parser.add_argument("--cancel_share", type=float, default=0.1)
    parser.add_argument("--disconnect_share", type=float, default=0.05)
    parser.add_argument("--max_tokens", default="16,48", help="min,max per request")
    parser.add_argument("--ttft_slo_ms", type=float, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()
    if not args.target and not (args.server and args.model):
        parser.error("give --target, or --server and --model")
    harness.Api.load(args.repo)
    server = None
    if not args.target:
        server = harness.start_server(args, args.server_flags.split())
        args.target = server.target
    mix = Mix(args.chat_share, args.cancel_share, args.disconnect_share,
              tuple(int(v) for v in args.max_tokens.split(",")))
    try:
        stages = run_ramp(args.target, [int(c) for c in args.ramp.split(",")],
                          args.stage_seconds, mix, args.seed)
    finally:
        if server:
            server.kill()
    summaries = [s.summary() for s in stages]
    print_table(summaries)
    best = highest_within(summaries, args.ttft_slo_ms)
    report = {"target": args.target, "load_average": harness.load_average(),
              "stages": summaries,
              "highest_within_slo": best and {"concurrency": best["concurrency"],
                                              "tokens_per_s": best["tokens_per_s"],
                                              "slo_ms": args.ttft_slo_ms}}
    print("load average: %s; highest concurrency with p99 TTFT < %.0f ms: %s" % (
        report["load_average"], args.ttft_slo_ms,
        "none" if best is None else "%d (%.1f tokens/s)" % (best["concurrency"],
                                                            best["tokens_per_s"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()

"""Chaos: SIGTERM and SIGKILL under load, slow readers and clients that vanish.

  chaos_test.py --server build/service/smollm-server --model SmolLM2.gguf [--sanitized]

1. SIGTERM under load: every Generate call and Chat turn the server accepted before the
   signal finishes normally within --drain_timeout (none ends in an error after it
   streamed tokens); calls after it get UNAVAILABLE (ErrorInfo DRAINING); Chat streams
   end with UNAVAILABLE (DRAINING) once their turn is done, naming the session as
   resumable; the process exits 0; a new server rebuilds a session from its history.
2. SIGTERM with generations longer than the drain window: they end UNAVAILABLE
   (DRAINING, resumable) right after the window; exit 0.
3. SIGKILL under load: every open call fails UNAVAILABLE promptly (no hang); a server
   restarted on the same port serves the same client channel again.
4. Slow readers pause (smollm_requests_paused) without starving other calls; a client
   process killed mid-stream (its calls never closed) leaves no sequence running and,
   once its sessions are deleted, no KV page used; the server stays healthy.
"""

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time

import grpc

import harness
from chaos_client import Calls, SLOW_READER_OPTIONS, VANISH_SENTINEL

PROMPTS = ["Tell me about the sea.", "Describe a forest walk.", "Explain how clocks work.",
           "Write about a quiet town.", "Talk about mountains.", "Describe winter."]


def sigterm_under_load(args, pb, rpc, checks):
    tokens = 8 if args.sanitized else 40
    server = harness.start_server(args, ["--max_running=4", "--drain_timeout=60s",
                                         "--kv_cache_mib=64", "--token_buffer=16"])
    try:
        asyncio.run(_sigterm_body(args, server, pb, rpc, checks, tokens))
    finally:
        server.kill()
    return server.target


async def _sigterm_body(args, server, pb, rpc, checks, tokens):
    calls = Calls(server.target, pb, rpc)
    eos = await calls.eos()
    # Sessions with one finished turn each: two stay idle, two run a turn at SIGTERM.
    sessions = [await calls.open_session("Answer briefly.") for _ in range(4)]
    for i, s in enumerate(sessions):
        end = await s.turn(PROMPTS[i], max_tokens=tokens // 2)
        checks.expect(end is not None, "warm-up turn %d did not end" % i)
    running_turns = [asyncio.ensure_future(s.turn(PROMPTS[i], max_tokens=tokens))
                     for i, s in enumerate(sessions[:2])]
    gens = [calls.start_generate(p, tokens, eos) for p in PROMPTS]
    await calls.until(lambda: sum(g.first_token is not None for g in gens) >= 3 and
                      all(s.turn_first_token is not None for s in sessions[:2]), 60)
    sent = time.time()
    server.proc.send_signal(signal.SIGTERM)
    refused = await calls.until_refused(eos, 5)
    checks.expect(refused is not None and refused[0] == grpc.StatusCode.UNAVAILABLE and
                  refused[1] == "DRAINING",
                  "a call after SIGTERM got %s, not UNAVAILABLE/DRAINING" % (refused,))
    ends = await asyncio.gather(*(g.task for g in gens))
    turn_ends = await asyncio.gather(*running_turns)
    idle_status = await asyncio.gather(*(s.closed() for s in sessions))
    lost = 0
    for g, (code, reason, end) in zip(gens, ends):
        accepted = g.first_token is not None and g.first_token < sent
        if code == grpc.StatusCode.OK:
            checks.expect(end is not None and end.usage.completion_tokens == tokens,
                          "a drained Generate ended short: %s" % end)
        elif accepted or g.tokens:
            lost += 1
            checks.expect(False, "an accepted Generate ended %s (%s) after %d tokens" % (
                code, reason, g.tokens))
        else:
            checks.expect(code == grpc.StatusCode.UNAVAILABLE,
                          "an unstarted Generate ended %s" % code)
    for i, end in enumerate(turn_ends):
        ok = end is not None and end.finish_reason != pb.FINISH_REASON_CANCELLED
        lost += 0 if ok else 1
        checks.expect(ok, "session %d's running turn did not finish: %s" % (i, end))
    for i, (code, reason, message) in enumerate(idle_status):
        checks.expect(code == grpc.StatusCode.UNAVAILABLE and reason == "DRAINING" and
                      "session" in message,
                      "chat stream %d ended %s %s %r, not UNAVAILABLE/DRAINING naming the "
                      "session" % (i, code, reason, message))
    exit_code = await calls.wait_exit(server.proc, 90)
    checks.expect(exit_code == 0, "the drained server exited %s" % exit_code)
    drained = [json.loads(l) for l in server.lines if '"drained"' in l]
    checks.expect(drained and drained[0].get("in_time") is True,
                  "no in-time 'drained' log line: %s" % drained)
    print("SIGTERM: %d Generate calls, %d running turns, %d idle streams; lost accepted "
          "turns: %d; exit %s %.1f s after the signal" % (
              len(gens), len(running_turns), len(sessions), lost, exit_code,
              time.time() - sent), flush=True)
    await calls.close()
    # Resume: a fresh replica rebuilds session 0 from the history its client kept.
    replica = harness.start_server(args, ["--kv_cache_mib=64"])
    try:
        again = Calls(replica.target, pb, rpc)
        rebuilt = await again.open_session("Answer briefly.", history=sessions[0].history)
        end = await rebuilt.turn("And then?", max_tokens=4)
        checks.expect(end is not None and end.usage.prompt_tokens > sessions[0].history_tokens,
                      "the rebuilt session did not continue its history: %s" % end)
        await rebuilt.close()
        await again.close()
    finally:
        replica.kill()


def drain_window_exceeded(args, pb, rpc, checks):
    server = harness.start_server(args, ["--max_running=2", "--drain_timeout=1s"])

    async def body():
        calls = Calls(server.target, pb, rpc)
        eos = await calls.eos()
        gens = [calls.start_generate(p, 900, eos) for p in PROMPTS[:2]]
        await calls.until(lambda: all(g.first_token for g in gens), 60)
        sent = time.time()
        server.proc.send_signal(signal.SIGTERM)
        ends = await asyncio.gather(*(g.task for g in gens))
        took = time.time() - sent
        for code, reason, _ in ends:
            checks.expect(code == grpc.StatusCode.UNAVAILABLE and reason == "DRAINING",
                          "a generation past the drain window ended %s %s" % (code, reason))
        checks.expect(all("resumed" in g.details for g in gens),
                      "the end status does not say the session can be resumed: %s" % [
                          g.details for g in gens])
        checks.expect(took < 8, "generations past a 1 s drain window ended after %.1f s" % took)
        exit_code = await calls.wait_exit(server.proc, 30)
        checks.expect(exit_code == 0, "the server exited %s" % exit_code)
        print("drain window exceeded: 2 long generations ended UNAVAILABLE/DRAINING %.1f s "
              "after SIGTERM; exit %s" % (took, exit_code), flush=True)
        await calls.close()
    try:
        asyncio.run(body())
    finally:
        server.kill()


def sigkill_under_load(args, pb, rpc, checks):
    server = harness.start_server(args, ["--max_running=8"])
    port = server.port

    async def body():
        nonlocal server
        calls = Calls(server.target, pb, rpc)
        eos = await calls.eos()
        gens = [calls.start_generate(p, 400, eos) for p in PROMPTS[:4]]
        session = await calls.open_session("Be brief.")
        turn = asyncio.ensure_future(session.turn("Count slowly.", max_tokens=400))
        idle = await calls.open_session("Be brief.")
        await calls.until(lambda: all(g.first_token for g in gens) and
                          session.turn_first_token is not None, 60)
        killed = time.time()
        server.proc.send_signal(signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(
            *(g.task for g in gens), turn, idle.closed(), return_exceptions=True), 20)
        took = time.time() - killed
        codes = [r[0] for r in results[:4]] + [session.status, results[5][0]]
        checks.expect(all(c == grpc.StatusCode.UNAVAILABLE for c in codes),
                      "after SIGKILL the calls ended %s, not all UNAVAILABLE" % codes)
        checks.expect(took < 5, "after SIGKILL the calls took %.1f s to fail" % took)
        server.proc.wait()
        server = harness.start_server(args, ["--port=%d" % port])
        served = await calls.serves_again(30)
        checks.expect(served, "the client channel did not reach the restarted server")
        print("SIGKILL: %d calls failed UNAVAILABLE within %.2f s; restarted on port %d, "
              "the same channel served again: %s" % (len(codes), took, port, served),
              flush=True)
        await calls.close()
    try:
        asyncio.run(body())
    finally:
        server.kill()


def slow_and_vanished_clients(args, pb, rpc, checks):
    server = harness.start_server(args, ["--max_running=8", "--token_buffer=4",
                                         "--kv_cache_mib=64"])
    try:
        asyncio.run(_slow_readers(server, pb, rpc, checks, args.sanitized))
        _vanished_client(args, server, pb, rpc, checks)
        quiet = harness.wait_quiet(server)
        checks.expect(quiet == (0, 0, 0), "after the vanished client: (running, waiting, "
                      "used pages) = %s" % (quiet,))
        checks.expect(server.proc.poll() is None, "the server died")

        async def healthy():
            calls = Calls(server.target, pb, rpc)
            code, _, end = await calls.start_generate("Hi", 4, await calls.eos()).task
            await calls.close()
            return code == grpc.StatusCode.OK and end is not None
        checks.expect(asyncio.run(healthy()), "the server does not serve after the chaos")
    finally:
        server.kill()


async def _slow_readers(server, pb, rpc, checks, sanitized):
    """Two clients read one message per 0.5 s. gRPC absorbs about 64 KiB per stream
    (the server's write buffer and the client's window) before a write blocks, so their
    messages are made large (20 top logprobs per token) to reach the pause in seconds."""
    calls = Calls(server.target, pb, rpc)
    slow_calls = Calls(server.target, pb, rpc, options=SLOW_READER_OPTIONS)
    eos = await calls.eos()
    slow = [slow_calls.start_generate(p, 900, eos, read_delay=0.5, top_logprobs=20)
            for p in PROMPTS[:2]]
    await calls.until(lambda: all(g.first_token for g in slow), 60)
    fast = [calls.start_generate(p, 24, eos) for p in PROMPTS[2:5]]
    fast_ends = await asyncio.wait_for(asyncio.gather(*(g.task for g in fast)), 60)
    checks.expect(all(c == grpc.StatusCode.OK for c, _, _ in fast_ends),
                  "calls beside slow readers ended %s" % [c for c, _, _ in fast_ends])
    paused, deadline = 0, time.time() + 45
    while not sanitized and paused < 1 and time.time() < deadline:
        await asyncio.sleep(0.5)  # the gauge is published once a second
        paused = harness.metrics(server)["smollm_requests_paused"]
    sampled = harness.metrics(server)["smollm_engine_sampled_tokens_total"]
    await asyncio.sleep(2)
    grown = harness.metrics(server)["smollm_engine_sampled_tokens_total"] - sampled
    if not sanitized:
        checks.expect(paused >= 1, "no sequence paused for the slow readers in 45 s")
        checks.expect(grown <= 8, "paused sequences still sampled %d tokens in 2 s" % grown)
    for g in slow:
        g.call.cancel()
    await asyncio.gather(*(g.task for g in slow))
    await slow_calls.close()
    print("slow readers: %d paused after %d and %d tokens read (engine then sampled %d "
          "tokens in 2 s); %d calls beside them finished OK" % (
              paused, slow[0].tokens, slow[1].tokens, grown, len(fast)), flush=True)
    await calls.close()


def _vanished_client(args, server, pb, rpc, checks):
    client = subprocess.Popen(
        [sys.executable, os.path.join(harness.HERE, "chaos_client.py"), server.target,
         args.repo], stdout=subprocess.PIPE, text=True)
    ids = []
    line = ""
    deadline = time.time() + 90
    while time.time() < deadline:
        line = client.stdout.readline()
        if not line or line.startswith(VANISH_SENTINEL):
            break
    if line.startswith(VANISH_SENTINEL):
        ids = line.split()[1:]
    running, deadline = 0, time.time() + 5
    while ids and running < 5 and time.time() < deadline:  # the gauge lags up to a second
        running = harness.metrics(server)["smollm_requests_running"]
        time.sleep(0.2)
    checks.expect(running >= 5, "the client's 5 sequences were not seen running")
    client.kill()  # SIGKILL: the sockets close without a gRPC cancel or end of stream
    client.wait()
    checks.expect(len(ids) == 2, "the client process did not start streaming: %r" % line)
    with grpc.insecure_channel(server.target) as channel:
        stub = rpc.InferenceStub(channel)
        time.sleep(0.5)
        for sid in ids:
            stub.DeleteSession(pb.DeleteSessionRequest(session_id=sid), timeout=30)
    print("vanished client: killed with %s sequences running, its 2 sessions deleted" %
          running, flush=True)


def main():
    args = harness.common_args(__doc__.splitlines()[0]).parse_args()
    pb, rpc = harness.Api.load(args.repo)
    checks = harness.Checks()
    start = time.time()
    sigterm_under_load(args, pb, rpc, checks)
    drain_window_exceeded(args, pb, rpc, checks)
    sigkill_under_load(args, pb, rpc, checks)
    slow_and_vanished_clients(args, pb, rpc, checks)
    print("chaos took %.1f s; load average %s" % (time.time() - start, harness.load_average()))
    checks.finish("chaos")


if __name__ == "__main__":
    main()

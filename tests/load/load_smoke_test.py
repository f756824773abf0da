"""Load smoke: a short loadgen ramp against a fresh smollm-server, with its books checked.

  load_smoke_test.py --server build/service/smollm-server --model SmolLM2.gguf [--sanitized]

Expected: only OK, client cancels and client disconnects; tokens and finished requests at
every stage; the server generated at least the tokens the clients received and counted
at least their cancels; afterwards nothing runs or waits and no KV page is used.
"""

import time

import harness
import loadgen


def main():
    args = harness.common_args(__doc__.splitlines()[0]).parse_args()
    harness.Api.load(args.repo)
    checks = harness.Checks()
    server = harness.start_server(args, ["--kv_cache_mib=64", "--max_running=8",
                                         "--token_buffer=8"])
    ramp, seconds = ([1, 2], 5) if args.sanitized else ([1, 2, 4], 7)
    mix = loadgen.Mix(chat_share=0.4, cancel_share=0.15, disconnect_share=0.1,
                      max_tokens=(4, 8) if args.sanitized else (8, 24))
    start = time.time()
    try:
        stages = loadgen.run_ramp(server.target, ramp, seconds, mix, seed=3)
        summaries = [s.summary() for s in stages]
        loadgen.print_table(summaries)
        received = sum(s.tokens for s in stages)
        client_stops = sum(s["outcomes"].get("CANCEL", 0) for s in summaries)
        for s in summaries:
            unexpected = {k: v for k, v in s["outcomes"].items()
                          if k not in ("OK", "CANCEL", "DISCONNECT")}
            checks.expect(not unexpected, "stage %d: unexpected outcomes %s" % (
                s["concurrency"], unexpected))
            checks.expect(s["requests_ok"] > 0 and s["tokens"] > 0,
                          "stage %d finished nothing" % s["concurrency"])
            checks.expect(s["ttft_ms_p50"] is not None and s["itl_ms_p50"] is not None,
                          "stage %d measured no latencies" % s["concurrency"])
        quiet = harness.wait_quiet(server)
        checks.expect(quiet == (0, 0, 0), "not idle after the load: (running, waiting, used "
                      "pages) = %s" % (quiet,))
        m = harness.metrics(server)
        # The engine's count: smollm_generation_tokens_total leaves out Generate calls the
        # client cancelled (their reactor ends without reporting the final event).
        sampled = m["smollm_engine_sampled_tokens_total"]
        checks.expect(sampled >= received, "the engine sampled %d tokens, the clients "
                      "received %d" % (sampled, received))
        checks.expect(m["smollm_cancellations_total"] >= client_stops,
                      "the server counted %d cancellations, the clients made %d cancels" % (
                          m["smollm_cancellations_total"], client_stops))
        checks.expect(m["smollm_sessions_active"] == 0, "sessions left: %d" %
                      m["smollm_sessions_active"])
        checks.expect(server.proc.poll() is None, "the server died")
    finally:
        server.kill()
    print("load smoke took %.1f s; load average %s" % (time.time() - start,
                                                        harness.load_average()))
    checks.finish("load_smoke")


if __name__ == "__main__":
    main()

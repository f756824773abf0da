"""Load smoke: a short loadgen ramp against a fresh smollm-server, with its books checked.

  load_smoke_test.py --server build/service/smollm-server --model SmolLM2.gguf [--sanitized]

Expected: the first scrape after the "serving" line shows the KV capacity; only OK, client
cancels and client disconnects; tokens and finished requests at every stage; the server
counted every generation's sampled tokens (cancelled and disconnected ones included: the
service's total equals the engine's) and at least the tokens the clients received and
their cancels; afterwards nothing runs or waits and no KV page is used.
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
    # The engine gauges are there from the start, not after the first stats period.
    capacity = harness.metrics(server)["smollm_kv_cache_capacity_pages"]
    checks.expect(capacity > 0, "the first scrape after serving shows KV capacity %d" %
                  capacity)
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
        # Every generation reports the tokens it sampled once it ended, cancelled and
        # disconnected ones included, so the service's total equals the engine's (which the
        # stats pump publishes about once a second: wait for it to catch up).
        deadline = time.time() + 5
        while True:
            m = harness.metrics(server)
            generated = m["smollm_generation_tokens_total"]
            sampled = m["smollm_engine_sampled_tokens_total"]
            if generated == sampled or time.time() > deadline:
                break
            time.sleep(0.3)
        checks.expect(generated == sampled, "generations reported %d tokens, the engine "
                      "sampled %d" % (generated, sampled))
        checks.expect(generated >= received, "generations reported %d tokens, the clients "
                      "received %d" % (generated, received))
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

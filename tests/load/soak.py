"""Soak: steady mixed load on smollm-server with its RSS sampled every few seconds.

  soak.py --server build/service/smollm-server --model SmolLM2.gguf --minutes 10
  soak.py --target HOST:PORT --pid PID --metrics_port N --minutes 10

Passes when (1) the RSS after the warm-up never exceeds the warm-up's peak by more than
--tolerance_mib (a leak grows it steadily; the allocator's working set does not), and
(2) once the load stops and the sessions it opened are deleted, nothing runs or waits and
no KV page is used. Prints the RSS at start, end of warm-up, peak and end, the slope of a
least-squares line through the post-warm-up samples, and the load's figures.
"""

import argparse
import asyncio
import json
import sys
import time

import harness
import loadgen


class Target:
    """A server to soak: started here, or one already running (pid, ports)."""

    def __init__(self, args):
        self.process = None
        if args.target:
            self.target, self.pid = args.target, args.pid
            self.metrics_port = args.metrics_port
        else:
            self.process = harness.start_server(args, args.server_flags.split())
            self.target, self.pid = self.process.target, self.process.proc.pid
            self.metrics_port = self.process.metrics_port

    def alive(self):
        return self.process is None or self.process.proc.poll() is None

    def close(self):
        if self.process:
            self.process.kill()


def slope_kib_per_min(samples):
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mx = sum(t for t, _ in samples) / n
    my = sum(k for _, k in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    return 60.0 * sum((t - mx) * (k - my) for t, k in samples) / var


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--target")
    parser.add_argument("--pid", type=int, help="the server's pid, with --target")
    parser.add_argument("--metrics_port", type=int, help="its metrics port, with --target")
    parser.add_argument("--server")
    parser.add_argument("--model")
    parser.add_argument("--repo", default=harness.REPO)
    # The KV pool is allocated untouched and enters the RSS page by page as it is first
    # used: a small pool is fully touched within the warm-up, so that later growth means
    # something else.
    parser.add_argument("--server_flags", default="--kv_cache_mib=12 --max_running=16")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sample_seconds", type=float, default=3)
    parser.add_argument("--warmup_fraction", type=float, default=0.3)
    parser.add_argument("--tolerance_mib", type=float, default=16)
    parser.add_argument("--sanitized", action="store_true",
                        help="a sanitizer build: the allocator's quarantine grows RSS by "
                             "design, so only the KV pages are checked")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (args.target and args.pid and args.metrics_port) and not (args.server and args.model):
        parser.error("give --target, --pid and --metrics_port, or --server and --model")
    harness.Api.load(args.repo)
    checks = harness.Checks()
    server = Target(args)
    try:
        report = soak(args, server, checks)
    finally:
        server.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    checks.finish("soak")


def soak(args, server, checks):
    seconds = args.minutes * 60
    sampler = harness.RssSampler(server.pid, period=args.sample_seconds)
    # Under sanitizers the server is some twenty times slower: shorter replies and a
    # longer deadline, so that queueing alone never ends a request.
    mix = (loadgen.Mix(max_tokens=(2, 8), deadline=300) if args.sanitized
           else loadgen.Mix(max_tokens=(8, 32)))

    async def load():
        eos = await loadgen.model_eos(server.target)
        return await loadgen.run_stage(server.target, args.concurrency, seconds, mix, 7, eos)
    stage = asyncio.run(load())
    samples = sampler.stop()
    checks.expect(server.alive(), "the server died during the soak")
    warm = seconds * args.warmup_fraction
    during = [k for t, k in samples if t <= warm]
    after = [(t, k) for t, k in samples if t > warm]
    summary = stage.summary()
    report = {
        "minutes": args.minutes, "concurrency": args.concurrency,
        "load_average": harness.load_average(), "load": summary,
        "rss_mib": {
            "start": samples[0][1] / 1024, "warmup_peak": max(during) / 1024,
            "peak_after_warmup": max(k for _, k in after) / 1024 if after else None,
            "end": samples[-1][1] / 1024},
        "slope_kib_per_min_after_warmup": round(slope_kib_per_min(after), 1),
        "samples": len(samples),
    }
    r = report["rss_mib"]
    print("soak %.1f min at %d streams: %d requests OK, %.1f tokens/s, outcomes %s" % (
        args.minutes, args.concurrency, summary["requests_ok"], summary["tokens_per_s"],
        summary["outcomes"]))
    print("RSS MiB: start %.1f, warm-up peak %.1f, peak after warm-up %s, end %.1f; slope "
          "after warm-up %.1f KiB/min; %d samples; load average %s" % (
              r["start"], r["warmup_peak"], "%.1f" % r["peak_after_warmup"]
              if after else "-", r["end"], report["slope_kib_per_min_after_warmup"],
              len(samples), report["load_average"]), flush=True)
    unexpected = {k: v for k, v in summary["outcomes"].items()
                  if k not in ("OK", "CANCEL", "DISCONNECT")}
    checks.expect(not unexpected, "unexpected outcomes: %s" % unexpected)
    checks.expect(summary["requests_ok"] > 0, "no request finished")
    if args.sanitized:
        print("sanitizer build: RSS not judged (the allocator quarantines freed memory)")
    else:
        checks.expect(bool(after), "no RSS sample after the warm-up")
        checks.expect(not after or r["peak_after_warmup"] <= r["warmup_peak"] + args.tolerance_mib,
                      "RSS grew after the warm-up: %.1f MiB peak vs %.1f MiB in warm-up (+%.0f "
                      "allowed)" % (r["peak_after_warmup"] or 0, r["warmup_peak"],
                                    args.tolerance_mib))
    quiet = harness.wait_quiet(server)
    checks.expect(quiet == (0, 0, 0), "not idle after the soak: (running, waiting, used pages)"
                  " = %s" % (quiet,))
    used, free, cached, total = harness.kv_pages(server)
    report["kv_pages_idle"] = {"used": used, "free": free, "cached": cached, "total": total}
    print("idle KV pages: used %d, free %d, cached %d of %d" % (used, free, cached, total))
    checks.expect(used == 0 and free + cached == total, "KV pages not returned when idle")
    return report


if __name__ == "__main__":
    sys.exit(main())

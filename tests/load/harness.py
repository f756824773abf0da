"""Shared pieces of the load tests: stubs, servers, metrics, RSS sampling, status details."""

import argparse
import os
import sys
import tempfile
import threading
import time

import grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2, status_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e", "python"))
import server_process  # noqa: E402  (ServerProcess, parse_metrics, metric)
import stubs  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


class Api:
    """The generated smollm.v1 modules (pb: messages, rpc: service stubs), made once."""
    pb = None
    rpc = None

    @classmethod
    def load(cls, repo=REPO):
        if cls.pb is None:
            out = tempfile.mkdtemp(prefix="smollm_load_stubs_")
            cls.pb, cls.rpc, _, _ = stubs.generate(repo, out)
        return cls.pb, cls.rpc


def common_args(description):
    """The arguments every load test takes (CTest passes --server, --model, --repo)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--server", required=True, help="the smollm-server binary")
    parser.add_argument("--model", required=True, help="the GGUF model")
    parser.add_argument("--repo", default=REPO)
    parser.add_argument("--sanitized", action="store_true",
                        help="the server is a sanitizer build (much slower): less work")
    return parser


def start_server(args, flags):
    """A smollm-server on loopback with `flags` (after the defaults, so they win)."""
    base = ["--threads=2", "--max_context=1024", "--log_level=info"]
    return server_process.ServerProcess(args.server, args.model, base + flags)


def metrics(server):
    """{sample name + sorted labels: value} of one /metrics scrape."""
    import urllib.request
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.metrics_port,
                                  timeout=10).read().decode()
    out = {}
    for family in server_process.parse_metrics(body).values():
        for name, labels, value in family["samples"]:
            key = name + "".join("{%s=%s}" % kv for kv in sorted(labels.items()))
            out[key] = value
    return out


def kv_pages(server):
    """(used, free, cached, total) KV pages as the server last published them."""
    m = metrics(server)
    return (m["smollm_kv_cache_pages{state=used}"], m["smollm_kv_cache_pages{state=free}"],
            m["smollm_kv_cache_pages{state=cached}"], m["smollm_kv_cache_capacity_pages"])


def wait_quiet(server, timeout=30):
    """Waits until nothing runs, waits or holds a KV page; returns the last (used, ...) seen.

    The engine gauges are published about once a second, so quiet must be seen on two
    scrapes a second apart.
    """
    deadline = time.time() + timeout
    seen = 0
    last = None
    while time.time() < deadline:
        m = metrics(server)
        last = (m["smollm_requests_running"], m["smollm_requests_waiting"],
                m["smollm_kv_cache_pages{state=used}"])
        seen = seen + 1 if last == (0, 0, 0) else 0
        if seen >= 2:
            return last
        time.sleep(0.6)
    return last


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


class RssSampler:
    """Samples a process's RSS from /proc every `period` seconds on a thread."""

    def __init__(self, pid, period=0.2):
        self.pid, self.period = pid, period
        self.samples = []  # (seconds since start, KiB)
        self._stop = threading.Event()
        self._t0 = time.time()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.time() - self._t0, rss_kib(self.pid)))
            except (OSError, RuntimeError):
                return  # the process is gone
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples

    def peak(self):
        return max(k for _, k in self.samples) if self.samples else 0


def _parse_details(status):
    reason = delay = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            delay = info.retry_delay.ToTimedelta().total_seconds()
    return reason, delay


def status_details(error):
    """(ErrorInfo reason or None, RetryInfo delay in seconds or None) of a sync RpcError."""
    return _parse_details(rpc_status.from_call(error))


def trailer_details(trailers):
    """status_details from trailing metadata (a grpc.aio call's or AioRpcError's)."""
    for key, value in trailers or ():
        if key == "grpc-status-details-bin":
            return _parse_details(status_pb2.Status.FromString(value))
    return None, None


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Checks:
    """Collects failed expectations so that a run reports all of them, then exits 1."""

    def __init__(self):
        self.failures = []

    def expect(self, ok, message):
        if not ok:
            self.failures.append(message)
            print("FAIL: " + message, flush=True)
        return ok

    def finish(self, name):
        if self.failures:
            print("%s: %d failed expectation(s)" % (name, len(self.failures)), flush=True)
            sys.exit(1)
        print("%s: passed" % name, flush=True)

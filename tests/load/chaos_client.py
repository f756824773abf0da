"""asyncio client pieces of the chaos test, and the client process that the test kills.

As a program (`chaos_client.py TARGET REPO`) it opens long Generate calls and chat turns,
prints VANISH_SENTINEL and its session ids once all of them stream, then waits to be
killed: its calls are never cancelled or closed.
"""

import asyncio
import math
import sys
import time

import grpc

import harness

VANISH_SENTINEL = "STREAMING"
# A slow reader's channel: a small fixed HTTP/2 stream window (no BDP probing to grow it),
# so that unread messages back up to the server within a few hundred bytes instead of
# the transport absorbing them.
SLOW_READER_OPTIONS = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]


class Generation:
    """One Generate call read on a task; `task` gives (code, ErrorInfo reason, TurnEnd)."""

    def __init__(self, stub, request, read_delay):
        self.call = stub.Generate(request, timeout=120)
        self.first_token = None  # wall time of the first token
        self.tokens = 0
        self.details = ""
        self.task = asyncio.ensure_future(self._read(read_delay))

    async def _read(self, read_delay):
        end = None
        try:
            async for message in self.call:
                if message.delta.token_ids and self.first_token is None:
                    self.first_token = time.time()
                self.tokens += len(message.delta.token_ids)
                if message.HasField("end"):
                    end = message.end
                if read_delay:
                    await asyncio.sleep(read_delay)
            return grpc.StatusCode.OK, None, end
        except grpc.aio.AioRpcError as e:
            self.details = e.details() or ""
            reason, _ = harness.trailer_details(e.trailing_metadata())
            return e.code(), reason, None
        except asyncio.CancelledError:
            return grpc.StatusCode.CANCELLED, None, None


class Session:
    """A Chat stream; keeps the (user, assistant) history a client needs to rebuild it."""

    def __init__(self, stub, pb):
        self.pb = pb
        self.call = stub.Chat(timeout=180)
        self.session_id = None
        self.history = []  # ChatMessage pairs of the finished turns
        self.history_tokens = 0
        self.turn_first_token = None
        self.status = None  # the stream's end code once it failed

    async def open(self, system_prompt, history):
        pb = self.pb
        await self.call.write(pb.ChatRequest(open=pb.OpenSession(
            system_prompt=system_prompt, history=history or [],
            sampling=pb.SamplingParams(temperature=0.7, seed=11))))
        opened = await self.call.read()
        self.session_id = opened.session.session_id
        self.history = list(history or [])
        return self

    async def turn(self, text, max_tokens):
        """The TurnEnd, or None when the stream failed (status) or answered an error."""
        pb = self.pb
        self.turn_first_token = None
        reply = ""
        try:
            await self.call.write(pb.ChatRequest(turn=pb.UserTurn(
                content=text, sampling=pb.SamplingParams(max_tokens=max_tokens))))
            while True:
                message = await self.call.read()
                if message is grpc.aio.EOF or message.HasField("error"):
                    return None
                if message.delta.token_ids and self.turn_first_token is None:
                    self.turn_first_token = time.time()
                reply += message.delta.text
                if message.HasField("turn_end"):
                    end = message.turn_end
                    self.history += [pb.ChatMessage(role="user", content=text),
                                     pb.ChatMessage(role="assistant", content=reply)]
                    self.history_tokens = end.usage.prompt_tokens + end.usage.completion_tokens
                    return end
        except grpc.aio.AioRpcError as e:
            self.status = e.code()
            return None

    async def closed(self):
        """Reads until the server ends the stream: (code, ErrorInfo reason, message)."""
        try:
            while await self.call.read() is not grpc.aio.EOF:
                pass
            return grpc.StatusCode.OK, None, ""
        except grpc.aio.AioRpcError as e:
            self.status = e.code()
            reason, _ = harness.trailer_details(e.trailing_metadata())
            return e.code(), reason, e.details() or ""

    async def close(self):
        await self.call.done_writing()
        return await self.closed()


class Calls:
    """One channel to a server and the calls on it."""

    def __init__(self, target, pb, rpc, options=None):
        self.pb = pb
        self.channel = grpc.aio.insecure_channel(target, options=options)
        self.stub = rpc.InferenceStub(self.channel)

    async def eos(self):
        info = await self.stub.GetModelInfo(self.pb.GetModelInfoRequest(), timeout=30)
        return info.eos_token_id

    def start_generate(self, prompt, tokens, eos, read_delay=0, top_logprobs=0):
        """A sampled, EOS-banned call that runs exactly `tokens` tokens if undisturbed."""
        sampling = self.pb.SamplingParams(temperature=0.7, seed=5, max_tokens=tokens)
        sampling.logit_bias[eos] = -math.inf
        logprobs = self.pb.LogprobOptions(top_logprobs=top_logprobs)
        return Generation(self.stub, self.pb.GenerateRequest(
            prompt=prompt, sampling=sampling, logprobs=logprobs), read_delay)

    async def open_session(self, system_prompt, history=None):
        return await Session(self.stub, self.pb).open(system_prompt, history)

    @staticmethod
    async def until(predicate, timeout):
        deadline = time.time() + timeout
        while not predicate():
            if time.time() > deadline:
                raise TimeoutError("condition not met in %.0f s" % timeout)
            await asyncio.sleep(0.02)

    async def until_refused(self, eos, timeout):
        """New calls until one is refused: its (code, ErrorInfo reason); None on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                await self.stub.GetModelInfo(self.pb.GetModelInfoRequest(), timeout=5)
            except grpc.aio.AioRpcError as e:
                reason, _ = harness.trailer_details(e.trailing_metadata())
                return e.code(), reason
            await asyncio.sleep(0.02)
        return None

    @staticmethod
    async def wait_exit(proc, timeout):
        deadline = time.time() + timeout
        while proc.poll() is None and time.time() < deadline:
            await asyncio.sleep(0.05)
        return proc.poll()

    async def serves_again(self, timeout):
        """True once this channel's GetModelInfo succeeds (it reconnects by itself)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                await self.stub.GetModelInfo(self.pb.GetModelInfoRequest(), timeout=5,
                                             wait_for_ready=True)
                return True
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)
        return False

    async def close(self):
        await self.channel.close(grace=None)


async def _vanish(target):
    pb, rpc = harness.Api.pb, harness.Api.rpc
    calls = Calls(target, pb, rpc)
    eos = await calls.eos()
    gens = [calls.start_generate("Story number %d:" % i, 900, eos) for i in range(3)]
    sessions = [await calls.open_session("Be long-winded.") for _ in range(2)]
    turns = [asyncio.ensure_future(s.turn("Tell a very long story.", 900)) for s in sessions]
    await calls.until(lambda: all(g.first_token for g in gens) and
                      all(s.turn_first_token for s in sessions), 60)
    print(VANISH_SENTINEL, *[s.session_id for s in sessions], flush=True)
    await asyncio.sleep(3600)  # killed long before
    del turns


if __name__ == "__main__":
    harness.Api.load(sys.argv[2])
    asyncio.run(_vanish(sys.argv[1]))

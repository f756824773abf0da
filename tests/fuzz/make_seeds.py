#!/usr/bin/env python3
"""Writes the checked-in seed corpora of the fuzz targets under tests/fuzz/corpus/.

tokenizer_fuzzer: an options byte then text; chat_template_fuzzer: FuzzedDataProvider
input (the last byte picks the mode: 3 = template detection on the rest) and the
template texts; request_fuzzer: a type byte then a serialized smollm.v1 request, encoded
from text format by protoc. The GGUF fuzzer's seeds are the GGUF fixtures themselves
(tests/fixtures/gguf/attacks and malformed), which run.sh passes to it.
Usage: python3 tests/fuzz/make_seeds.py
"""
import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")

TEXTS = [
    "Hello world", "hello world!", " leading and  double  spaces\n\ttabs\r\n",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><|im_end|><|im_start|>", "<|im_start<|im_end|>|>",
    "numbers 1234567890 3.14159 -42", "can't won't I'm they're we've",
    "caf\u00e9 na\u00efve \u00fcber \u0444\u0440\u0430\u0437\u0430 \u4e2d\u6587 \u65e5\u672c\u8a9e",
    "emoji \U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467 flags \U0001f1eb\U0001f1f7",
    "def f(x):\n    return x ** 2  # square\n", "<think>\n\n</think>\n<tool_call>{}</tool_call>",
]
RAW = [b"\xff\xfe invalid \xc3\x28 utf8 \xed\xa0\x80", b"\x00\x01\x02\x03\x04\x1f\x7f",
       b"\xf0\x9f\x98", b""]

REQUESTS = [
    ("GenerateRequest", 0, 'prompt: "Hello" sampling { temperature: 0.7 top_k: 40 top_p: 0.9 '
     'max_tokens: 16 stop: "\\n" stop_token_ids: 2 logit_bias { key: 5 value: -100 } } '
     'logprobs { enabled: true top_logprobs: 5 } priority: 3'),
    ("GenerateRequest", 0, 'messages { messages { role: "system" content: "Be brief." } '
     'messages { role: "user" content: "Hi" } } enable_thinking: false'),
    ("GenerateRequest", 0, 'prompt: "next turn" session_id: "0123456789abcdef0123456789abcdef"'),
    ("GenerateRequest", 0, 'prompt: "x" sampling { temperature: 1e9 repetition_penalty: 0 '
     'presence_penalty: 3 max_tokens: 0 } priority: 11'),
    ("ChatRequest", 1, 'open { system_prompt: "You are terse." enable_thinking: true '
     'sampling { seed: 42 min_p: 0.05 repetition_window: 128 } '
     'history { role: "user" content: "a" } history { role: "assistant" content: "b" } }'),
    ("ChatRequest", 1, 'open { session_id: "ffffffffffffffffffffffffffffffff" }'),
    ("ChatRequest", 1, 'turn { content: "And then?" sampling { frequency_penalty: -2 } '
     'logprobs { top_logprobs: 21 } }'),
    ("ChatRequest", 1, 'cancel { }'),
    ("ChatRequest", 1, 'rewind { }'),
    ("TokenizeRequest", 2, 'text: "<|im_start|>hi" add_bos: true parse_special: true'),
    ("GetSessionRequest", 3, 'session_id: "0123456789abcdef0123456789abcdef"'),
    ("DeleteSessionRequest", 4, 'session_id: "0123456789ABCDEF0123456789abcdef"'),
]


def write(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def encode(message, text):
    return subprocess.run(
        ["protoc", "-I", os.path.join(ROOT, "proto"), "-I",
         os.path.join(ROOT, "third_party", "googleapis"), "-I", "/usr/include",
         "--encode=smollm.v1." + message, "smollm/v1/inference.proto"],
        input=text.encode(), stdout=subprocess.PIPE, check=True, cwd=ROOT).stdout


def main():
    for i, text in enumerate(TEXTS):
        write("tokenizer_fuzzer", bytes([i % 8]) + text.encode())
    for i, raw in enumerate(RAW):
        write("tokenizer_fuzzer", bytes([(i * 3) % 8]) + raw)
    for name in ("smollm2_chat_template.jinja", "smollm3_chat_template.jinja"):
        with open(os.path.join(ROOT, "tests", "fixtures", "chat_template", name), "rb") as f:
            write("chat_template_fuzzer", f.read() + b"\x03")
    for i, text in enumerate(TEXTS[:8]):
        # Conversations: FuzzedDataProvider takes strings from the front and choices
        # from the back, so a text followed by a few choice bytes.
        write("chat_template_fuzzer", text.encode() + bytes([i, 1, 0, 2, i % 3, 0]))
    for message, kind, text in REQUESTS:
        write("request_fuzzer", bytes([kind]) + encode(message, text))
    print("seeds written under", CORPUS)


if __name__ == "__main__":
    sys.exit(main())

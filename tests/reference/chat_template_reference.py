#!/usr/bin/env python3
"""Reference renderings of the chat templates, made with Hugging Face transformers.

Run by hand from the repository root (needs .venv with transformers, jinja2 and gguf):

  .venv/bin/python tests/reference/chat_template_reference.py fixtures \
      --smollm2-gguf /path/to/SmolLM2-135M-Instruct.Q4_1.gguf \
      --smollm3-template ../shared/reference/smollm3_chat_template.jinja
  .venv/bin/python tests/reference/chat_template_reference.py printable-table \
      > runtime/tokenizer/json_value_printable.cc

`fixtures` writes tests/fixtures/chat_template/: the two templates as text files and
chat_template_cases.json, which holds every conversation with its inputs and the exact text
transformers renders (apply_chat_template(tokenize=False) on a PreTrainedTokenizerFast that
carries the template, with strftime_now pinned to each case's date), plus a JSON corpus with
what Python's json.dumps(ensure_ascii=False) and str() print for each document.
`printable-table` prints the C++ table of code points for which str.isprintable() is false.
"""

import argparse
import datetime
import hashlib
import json
import pathlib
import random
import sys
import unicodedata

FIXTURE_DIR = pathlib.Path("tests/fixtures/chat_template")

# transformers' historical default ChatML template: our fallback family renders it.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)

XML_TOOLS = json.dumps([
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the weather in a city \u2014 with \"quotes\" and 'apostrophes'",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Z\u00fcrich or \u6771\u4eac"},
            "days": {"type": "integer", "minimum": 1, "maximum": 14, "default": 3}},
            "required": ["city"]}}},
])
# Every corner of Python's repr: quotes, escapes, non-printable characters, numbers, duplicates.
XML_TOOLS_HARD = (
    '[{"name": "lookup", "description": "It\'s a tool\\nwith a newline\\tand tab, a backslash \\\\,'
    ' a bell \\u0007, DEL \\u007f, NEL \\u0085, nbsp\\u00a0, soft\\u00adhyphen, zwsp\\u200b,'
    ' line sep\\u2028, private \\ue000, tag \\udb40\\udc01, emoji \\ud83d\\ude00, caf\\u00e9",'
    ' "strict": true, "version": 1.50, "threshold": 1e-7, "tiny": 0.0001, "big":'
    ' 12345678901234567890123, "huge": 1e22, "edge": 1e16, "below": 999999999999999.9,'
    ' "neg_zero": -0.0, "int_neg_zero": -0, "none": null, "list": [1, 2.5, "x", false, {}, []],'
    ' "quote\\"key": "both \' and \\"", "dup": 1, "dup": 2},'
    ' "a plain string tool: search(query) -> list"]'
)
PYTHON_TOOLS = json.dumps([
    {"name": "add", "description": "Add two numbers.",
     "parameters": {"a": {"type": "number"}, "b": {"type": "number"}}, "returns": "number"},
    "def web_search(query: str) -> list[str]: \"\"\"Search the web.\"\"\"",
])
TOOL_CALL = '[{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]'

U = "user"
A = "assistant"
S = "system"
T = "tool"


def msg(role, content, **extra):
    m = {"role": role, "content": content}
    m.update(extra)
    return m


def smollm3_cases():
    weather_turns = [
        msg(U, "What's the weather in Paris?"),
        msg(A, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
        msg(T, '{"temperature": 18, "sky": "sunny"}'),
        msg(A, "It is 18 \u00b0C and sunny in Paris."),
    ]
    return [
        ("no_system_default_think", [msg(U, "Hello!")], dict(add_generation_prompt=True)),
        ("no_system_think_off", [msg(U, "Hello!")],
         dict(add_generation_prompt=True, enable_thinking=False)),
        ("no_system_think_on_explicit", [msg(U, "Hi"), msg(A, "Hello."), msg(U, "Bye")],
         dict(add_generation_prompt=True, enable_thinking=True)),
        ("system_multi_turn_think", [
            msg(S, "You are a pirate."), msg(U, "Hello"), msg(A, "Arr, hello!"),
            msg(U, "Where is the treasure?")], dict(add_generation_prompt=True)),
        ("system_flag_no_think_beats_enable", [
            msg(S, "Be brief. /no_think"), msg(U, "2+2?"), msg(A, "4"), msg(U, "3+3?")],
         dict(add_generation_prompt=True, enable_thinking=True)),
        ("system_flag_think_beats_disable", [
            msg(S, "/think Reason carefully."), msg(U, "Why is the sky blue?")],
         dict(add_generation_prompt=True, enable_thinking=False)),
        ("system_both_flags", [msg(S, "/think and also /no_think"), msg(U, "Hi")],
         dict(add_generation_prompt=True)),
        ("system_only_flag", [msg(S, "/no_think"), msg(U, "Hi")],
         dict(add_generation_prompt=True)),
        ("system_override", [
            msg(S, "You are a raw completion model. /system_override /no_think  \n"),
            msg(U, "Hi"), msg(A, "Hello"), msg(U, "Again")], dict(add_generation_prompt=True)),
        ("system_override_ignores_tools", [
            msg(S, "/system_override Plain header."), msg(U, "Hi")],
         dict(add_generation_prompt=False, xml_tools=XML_TOOLS)),
        ("custom_instructions_kwarg", [msg(U, "Tell me a joke.")],
         dict(add_generation_prompt=True, custom_instructions="You are a vampire technologist.  ")),
        ("custom_instructions_kwarg_system_wins", [msg(S, "System text."), msg(U, "Joke?")],
         dict(add_generation_prompt=True, custom_instructions="Ignored.", enable_thinking=False)),
        ("xml_tools_call_and_result", [msg(S, "Use tools when needed.")] + weather_turns,
         dict(add_generation_prompt=False, xml_tools=XML_TOOLS, enable_thinking=False)),
        ("xml_tools_hard_json", [msg(U, "Look something up.")],
         dict(add_generation_prompt=True, xml_tools=XML_TOOLS_HARD)),
        ("python_tools", [msg(U, "Add 2 and 3.")],
         dict(add_generation_prompt=True, python_tools=PYTHON_TOOLS)),
        ("both_tools_system", [msg(S, "Custom rules here."), msg(U, "Go")],
         dict(add_generation_prompt=True, xml_tools=XML_TOOLS, python_tools=PYTHON_TOOLS,
              enable_thinking=False)),
        ("empty_tool_lists", [msg(U, "Hi")],
         dict(add_generation_prompt=True, xml_tools="[]", python_tools="[]")),
        ("tool_calls_field_null_content", [
            msg(U, "Weather in Paris?"), msg(A, None, tool_calls=TOOL_CALL),
            msg(T, "18C, sunny", tool_call_id="call_1"), msg(A, "Sunny, 18C.")],
         dict(add_generation_prompt=False, xml_tools=XML_TOOLS)),
        ("assistant_think_blocks_think_mode", [
            msg(U, "Q1"), msg(A, "\n\n<think>\nLet me see.\n</think>\nAnswer one."),
            msg(U, "Q2")], dict(add_generation_prompt=True)),
        ("assistant_think_blocks_no_think_mode", [
            msg(U, "Q1"), msg(A, "<think>\nHidden.\n</think>\n\nAnswer one.\n"), msg(U, "Q2")],
         dict(add_generation_prompt=True, enable_thinking=False)),
        ("unicode_content", [
            msg(S, "R\u00e9ponds en fran\u00e7ais. \u4f60\u597d\u00a0\u3000\n\t"),
            msg(U, "\u00bfQu\u00e9 tal? \U0001f600 \u0645\u0631\u062d\u0628\u0627 e\u0301"),
            msg(A, "\u00c7a va \U0001f44d\u200d")], dict(add_generation_prompt=True)),
        ("empty_contents", [msg(S, ""), msg(U, ""), msg(A, ""), msg(U, "")],
         dict(add_generation_prompt=True)),
        ("generation_prompt_off_no_think", [msg(U, "Hi"), msg(A, "Hello!")],
         dict(add_generation_prompt=False, enable_thinking=False)),
        ("late_system_is_skipped", [
            msg(U, "Hi"), msg(S, "A late system message."), msg(U, "Still there?")],
         dict(add_generation_prompt=True, enable_thinking=False)),
        ("system_message_only", [msg(S, "Only a system message. \u2003")],
         dict(add_generation_prompt=True)),
        ("whitespace_kept_in_turns", [
            msg(U, "  leading and trailing  \n"), msg(A, "\n \nreply with space\n\n"),
            msg(T, "\n")], dict(add_generation_prompt=False)),
    ]


def smollm2_cases():
    return [
        ("user_only", [msg(U, "Hello!")], dict(add_generation_prompt=True)),
        ("user_only_no_prompt", [msg(U, "Hello!")], dict(add_generation_prompt=False)),
        ("system_and_user", [msg(S, "You are a pirate."), msg(U, "Hi")],
         dict(add_generation_prompt=True)),
        ("multi_turn", [
            msg(U, "Hi"), msg(A, "Hello! How can I help?"), msg(U, "Tell me a joke."),
            msg(A, "Why did the chicken cross the road?")], dict(add_generation_prompt=False)),
        ("tool_messages", [
            msg(U, "Weather?"), msg(A, "", tool_calls=TOOL_CALL), msg(T, "18C"),
            msg(A, "It is 18C.")], dict(add_generation_prompt=True)),
        ("late_system", [msg(U, "Hi"), msg(S, "Be terse."), msg(U, "Why?")],
         dict(add_generation_prompt=True)),
        ("unicode", [msg(U, "\u4f60\u597d \U0001f600 \u00e9\u00e8 \u0645\u0631\u062d\u0628\u0627"),
                     msg(A, "\u3053\u3093\u306b\u3061\u306f\u00a0!")],
         dict(add_generation_prompt=True)),
        ("empty_contents", [msg(S, ""), msg(U, ""), msg(A, "")], dict(add_generation_prompt=True)),
        ("thinking_flags_ignored", [msg(S, "Be brief /no_think"), msg(U, "2+2?")],
         dict(add_generation_prompt=True, enable_thinking=False)),
        ("tools_ignored", [msg(U, "Look it up.")],
         dict(add_generation_prompt=True, xml_tools=XML_TOOLS, python_tools=PYTHON_TOOLS)),
        ("system_only", [msg(S, "Only system.")], dict(add_generation_prompt=True)),
        ("assistant_only", [msg(A, "I speak first.")], dict(add_generation_prompt=False)),
        ("whitespace_kept", [msg(U, "\n  spaced  \n"), msg(A, "\n<think>\nx\n</think>\n")],
         dict(add_generation_prompt=True)),
    ]


def chatml_cases():
    return [
        ("user_only", [msg(U, "Hello!")], dict(add_generation_prompt=True)),
        ("system_multi_turn", [msg(S, "Sys"), msg(U, "Hi"), msg(A, "Hey")],
         dict(add_generation_prompt=False)),
        ("tool_and_unicode", [msg(U, "\u00fcber \U0001f600"), msg(T, "{\"ok\": true}")],
         dict(add_generation_prompt=True)),
        ("empty_content", [msg(U, "")], dict(add_generation_prompt=True)),
    ]


DATES = [(2025, 3, 5), (2026, 1, 1), (1999, 12, 31), (2025, 10, 28), (2024, 2, 29)]


class _PinnedDatetime(datetime.datetime):
    """Stands in for datetime.datetime inside transformers so strftime_now is reproducible."""

    pinned = None

    @classmethod
    def now(cls, tz=None):  # noqa: ARG003 - same signature as datetime.now
        return cls.pinned


def make_renderer():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast
    import transformers.utils.chat_template_utils as chat_utils

    chat_utils.datetime = _PinnedDatetime
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")))

    def render(template, messages, options, date):
        _PinnedDatetime.pinned = _PinnedDatetime(*date, 12, 0, 0)
        kwargs = {}
        for key in ("enable_thinking", "custom_instructions"):
            if key in options:
                kwargs[key] = options[key]
        for key in ("xml_tools", "python_tools"):
            if key in options:
                kwargs[key] = json.loads(options[key])
        py_messages = []
        for m in messages:
            pm = dict(m)
            if "tool_calls" in pm:
                pm["tool_calls"] = json.loads(pm["tool_calls"])
            py_messages.append(pm)
        tokenizer.chat_template = template
        return tokenizer.apply_chat_template(
            py_messages, tokenize=False, add_generation_prompt=options["add_generation_prompt"],
            **kwargs)

    return render


def random_string(rng):
    pools = [
        "abcXYZ 019", "\"'\\/", "\n\t\r\b\f\x00\x01\x1f\x7f",
        "\u00a0\u00ad\u00e9\u0301\u0378\u0600\u061c\u1680\u2000\u200b\u200d\u2028\u2029\u202e"
        "\u2060\u3000\ud7ff\ue000\uf8ff\ufeff\ufffd\uffff",
        "\u4e2d\u6587\u0645\u0631\u05d0\u0e01\u1100\U0001f600\U0001f44d\U000e0001\U000f0000"
        "\U0010fffd\U0001d11e\U00020000",
    ]
    n = rng.randint(0, 12)
    return "".join(rng.choice(rng.choice(pools)) for _ in range(n))


def random_number_text(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(-10**rng.randint(1, 30), 10**rng.randint(1, 30)))
    if kind == 1:  # an arbitrary finite double, printed by repr
        import struct
        while True:
            value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            if value == value and abs(value) != float("inf"):
                return repr(value)
    if kind == 2:  # many significant digits: exercises correct rounding
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        return f"{rng.choice(['', '-'])}{rng.randint(0, 999)}.{digits}e{rng.randint(-330, 310)}"
    if kind == 3:
        return rng.choice(["0", "-0", "0.0", "-0.0", "1E400", "-1e400", "1e-400", "5e-324",
                           "1.7976931348623157e308", "0.1", "1e16", "1e15", "0.0001", "0.00001",
                           "123456789012345678", "2.5E+3", "1e22", "9007199254740993"])
    if kind == 4:
        return f"{rng.randint(-99999, 99999)}.{rng.randint(0, 99999)}"
    return f"{rng.randint(1, 9)}e{rng.randint(-20, 20)}"


def random_value(rng, depth):
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return json.loads(random_number_text(rng))
    if kind in (3, 4):
        return random_string(rng)
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def json_corpus():
    rng = random.Random(20250705)
    texts = [
        "null", "true", "false", "0", "-0", "17", "-17", "1.0", "-0.0", "1e5", "1E-5", "2.50",
        "NaN", "Infinity", "-Infinity", "[]", "{}", " \t\r\n[ 1 , 2 ]\n", '""', '"\\u00e9\\u4e2d"',
        '"\\ud83d\\ude00"', '"\\/\\b\\f\\n\\r\\t\\"\\\\"', '{"b": 1, "a": 2, "b": 3}',
        '{"": {"": []}}', '[1e400, -1e400, 1e-400, -1e-400, 0.1, 100000000000000000000000]',
        '"\\u0000 \\u001f \\u007f \\u0080 \\u00a0 \\u2028"', '"it\'s"', '"say \\"hi\\""',
        '"both \' and \\""', "[" * 20 + "]" * 20,
        '{"nested": {"list": [1, {"x": null}], "s": "\\u0007"}}',
    ]
    for i in range(160):
        value = random_value(rng, 0)
        texts.append(json.dumps(value, ensure_ascii=bool(i % 2), indent=None if i % 3 else 1))
    for _ in range(60):
        texts.append(random_number_text(rng))
    corpus = []
    for text in texts:
        value = json.loads(text)
        corpus.append({"input": text, "dumps": json.dumps(value, ensure_ascii=False),
                       "str": str(value)})
    invalid = ["", " ", "[1,]", '{"a": 1,}', "01", "1.", ".5", "+1", "1e", "1e+", "-", "--1",
               '"\\x"', '"a\nb"', '"\t"', "[", "]", '{"a" 1}', "{1: 2}", "nan", "-NaN", "inf",
               "tru", "nul", '"abc', "[1 2]", '{"a": 1 "b": 2}', "\ufeff[]", "[1]x", "1 2",
               "'single'", '"\\u12"', '"\\u12G4"', "[-]", "0x10", "Infinity1", "\u00a0[]"]
    for text in invalid:
        try:
            json.loads(text)
        except ValueError:
            continue
        raise SystemExit(f"expected json.loads to reject {text!r}")
    return corpus, invalid


def write_fixtures(args):
    import gguf
    import jinja2
    import transformers

    smollm3_text = pathlib.Path(args.smollm3_template).read_text(encoding="utf-8")
    model_bytes = pathlib.Path(args.smollm2_gguf).read_bytes()
    reader = gguf.GGUFReader(args.smollm2_gguf)
    field = reader.fields["tokenizer.chat_template"]
    smollm2_text = bytes(field.parts[field.data[0]]).decode("utf-8")

    render = make_renderer()
    templates = {"smollm3": smollm3_text, "smollm2": smollm2_text, "chatml": CHATML_TEMPLATE}
    cases = []
    for family, family_cases in (("smollm3", smollm3_cases()), ("smollm2", smollm2_cases()),
                                 ("chatml", chatml_cases())):
        for index, (name, messages, options) in enumerate(family_cases):
            date = DATES[index % len(DATES)]
            expected = render(templates[family], messages, options, date)
            if family == "smollm3":
                # llama.cpp's converter stores the template without the [:] slices.
                converted = render(smollm3_text.replace("[:]", ""), messages, options, date)
                if converted != expected:
                    raise SystemExit(f"{name}: the [:]-less variant renders differently")
            case = {"family": family, "name": name, "messages": messages}
            case.update(options)
            case["date"] = datetime.date(*date).strftime("%d %B %Y")
            case["date_ymd"] = list(date)
            case["expected"] = expected
            cases.append(case)
    corpus, invalid = json_corpus()

    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    (FIXTURE_DIR / "smollm3_chat_template.jinja").write_text(smollm3_text, encoding="utf-8")
    (FIXTURE_DIR / "smollm2_chat_template.jinja").write_text(smollm2_text, encoding="utf-8")
    document = {
        "generator": "tests/reference/chat_template_reference.py fixtures",
        "transformers_version": transformers.__version__,
        "jinja2_version": jinja2.__version__,
        "python_version": sys.version.split()[0],
        "unicode_version": unicodedata.unidata_version,
        "smollm2_gguf_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "smollm3_template_sha256": hashlib.sha256(smollm3_text.encode()).hexdigest(),
        "chatml_template": CHATML_TEMPLATE,
        "cases": cases,
        "json_corpus": corpus,
        "json_invalid": invalid,
    }
    out = FIXTURE_DIR / "chat_template_cases.json"
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = {f: sum(c["family"] == f for c in cases) for f in templates}
    print(f"wrote {out}: {counts} cases, {len(corpus)} JSON documents", file=sys.stderr)


def print_printable_table():
    ranges = []
    start = None
    for cp in range(0x80, 0x110000):
        printable = chr(cp).isprintable()
        if not printable and start is None:
            start = cp
        if printable and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    lines = [
        "// Python's str.isprintable() beyond ASCII, as a table of the non-printable ranges.",
        f"// Generated from Python {sys.version.split()[0]} (Unicode {unicodedata.unidata_version})"
        " by tests/reference/chat_template_reference.py printable-table; do not edit.",
        '#include "runtime/tokenizer/json_value_text.h"',
        "",
        "#include <algorithm>",
        "#include <iterator>",
        "",
        "namespace smollm::runtime {",
        "namespace {",
        "",
        "struct CodePointRange {",
        "  char32_t first;",
        "  char32_t last;",
        "};",
        "",
        "// Sorted, disjoint, inclusive ranges of non-ASCII code points that are not printable.",
        "constexpr CodePointRange kNotPrintable[] = {",
    ]
    for i in range(0, len(ranges), 4):
        row = ", ".join(f"{{0x{a:X}, 0x{b:X}}}" for a, b in ranges[i:i + 4])
        lines.append(f"    {row},")
    lines += [
        "};",
        "",
        "}  // namespace",
        "",
        "bool IsPythonPrintable(char32_t code_point) {",
        "  if (code_point < 0x80) return code_point >= 0x20 && code_point != 0x7F;",
        "  if (code_point > 0x10FFFF) return false;",
        "  // The first range that ends at or after the code point decides.",
        "  const CodePointRange* it = std::lower_bound(",
        "      std::begin(kNotPrintable), std::end(kNotPrintable), code_point,",
        "      [](const CodePointRange& range, char32_t c) { return range.last < c; });",
        "  return it == std::end(kNotPrintable) || code_point < it->first;",
        "}",
        "",
        "}  // namespace smollm::runtime",
    ]
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fixtures = sub.add_parser("fixtures", help="write tests/fixtures/chat_template/")
    fixtures.add_argument("--smollm2-gguf", required=True)
    fixtures.add_argument("--smollm3-template", required=True)
    sub.add_parser("printable-table", help="print runtime/tokenizer/json_value_printable.cc")
    args = parser.parse_args()
    if args.command == "fixtures":
        write_fixtures(args)
    else:
        print_printable_table()


if __name__ == "__main__":
    main()

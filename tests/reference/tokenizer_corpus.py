"""The tokenizer conformance corpus: hard strings as bytes, in a fixed order.

Shared by tokenizer_reference.py (token ids from llama.cpp) and
tokenizer_split_reference.py (Llama 3 pre-tokenizer splits from the `regex` module).
Deterministic: hand-written cases first, then seeded random mixtures.
"""
import random

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<file_sep>",
            "<filename>", "<gh_stars>", "<issue_start>", "<jupyter_code>", "<jupyter_output>",
            "<empty_output>"]

HAND_WRITTEN = [
    # Empty and whitespace.
    "", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", " \n", "\n ", "\n\n\n", "\r\n\r\n",
    "   \t\t  \n\n  ", "a\r\n\r\nb", "trailing   ", "   leading", "a \n b", "a\t\tb",
    " \t \t", "x\n\n\ny", "line1\nline2\r\nline3\rline4", "\x0b\x0c", "a\x0bb\x0cc",
    "word\u00a0word", "ideo\u3000space", "line\u2028sep\u2029para", "next\u0085line",
    "ogham\u1680space", "thin\u2009space\u202fnarrow", "zero\u200bwidth", "\ufeffBOM",
    "a\x1cb\x1dc\x1ed\x1fe", "nul\x00byte", "\x01\x02\x7f", "mongolian\u180evs",
    # Contractions, both cases.
    "I'm", "I'M", "don't", "DON'T", "we'll", "WE'LL", "they've", "THEY'VE", "she'd",
    "SHE'D", "you're", "YOU'RE", "it's", "IT'S", "It'S", "'s", "'", "''", "'''", "'re'",
    "rock 'n' roll", "O'Neil's car", "l'homme", "can't won't shan't", "'ll've'd'm't",
    "the cat's 'tis", " 's", "x'S", "x'Ll", "x'lL", "'\u017f", "'\u212a",
    # Numbers.
    "0", "7", "12", "123", "1234", "12345", "1234567890", "3.14159", "1,000,000",
    "12:30:45", "2024-01-01", "-42", "+3e-10", "0x1F", "v1.2.3", "\u0663\u0664\u0665",
    "\u0967\u0968\u0969", "\u2460\u2461\u2462", "\u00bd \u00be", "\u216b", "x\u00b2 + y\u00b3",
    "12345678901234567890123456789", "\uff11\uff12\uff13", "\u4e00\u4e8c\u4e09",
    "room 101a", "a1b2c3", " 1 2 3", "   42",
    # Scripts.
    "\u4e2d\u6587\u6d4b\u8bd5", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "Hello\u4e16\u754c", "\u4f60\u597d\uff0c\u4e16\u754c\uff01",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u", "Gr\u00f6\u00dfe Stra\u00dfe", "\u0130stanbul \u0131l\u0131k",
    "\u0bb5\u0ba3\u0b95\u0bcd\u0b95\u0bae\u0bcd", "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0",
    "\u0532\u0561\u0580\u0565\u0582", "\u1230\u120b\u121d", "\u1780\u1798\u17d2\u1796\u17bb\u1787\u17b6",
    "\u0f56\u0f7c\u0f51\u0f0b", "\u0d2e\u0d32\u0d2f\u0d3e\u0d33\u0d02", "\u00e9\u00e8\u00ea\u00eb \u00c9\u00c8",
    # Emoji, flags, ZWJ sequences, keycaps, skin tones.
    "\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f3f3\ufe0f\u200d\U0001f308", "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5", "\u2764\ufe0f",
    "\U0001f9d1\U0001f3ff\u200d\U0001f4bb", "1\ufe0f\u20e3", "a\U0001f600b", "\U0001f600 \U0001f600",
    "I \u2764\ufe0f NY", "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    # Combining marks.
    "e\u0301", "Ame\u0301lie", "n\u0303", "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307",
    "\u1100\u1161\u11a8", "a\u0301\u0302\u0303\u0304", " \u0301", "\u0301x",
    # Punctuation and symbols.
    "\u201cquotes\u201d \u2018single\u2019 \u2014 \u2013 \u2026 \u00ab\u00bb \u00bf\u00a1",
    "\u2200x\u2208\u211d: x\u00b2\u22650", "\u20ac100 \u00a350 \u00a51000 \u20b9500",
    "\u250c\u2500\u2510\n\u2514\u2500\u2518", "\u2192\u21d2\u2194", "\u2122\u00ae\u00a9", "!!!???...",
    "...", "--", "-->", "<=>", "@user #tag $var %p ^x &y *z", "a.b,c;d:e", "(nested [brackets {x}])",
    " !", " !!", "! ", "!\n", "!\r\n\r\n", " .\n\n", "a!\n\nb",
    "\u2ffc\u2ffd", "\U00031350", "\u1c89x", "a\u1c89b", "1\U00010d40\U00010d41 2",
    "\u2ffc\u2ffd\u2ffe\u2fff", "x\U0001e030y", "'\u017ft", "'\u017f\u017f", "\u0345'S",
    # Code.
    "def foo(x):\n    return x * 2\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "const f = async () => { await fetch('/api?q=1&r=2'); };",
    "fn main() -> Result<(), Box<dyn Error>> {\n    println!(\"{}\", 42);\n    Ok(())\n}",
    "func (s *Server) Serve(l net.Listener) error {\n\treturn nil\n}",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "<div class=\"x\"><p>Hello &amp; bye</p></div>",
    "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
    "#!/bin/bash\nset -euo pipefail\necho \"$HOME\" | grep -E '^/h' && exit 0",
    "\\begin{equation} E = mc^2 \\end{equation}", "^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)$",
    "    indented\n        more\n\tTab\n", "x=1;y=2;z=x+y", "a->b, c::d, e<<f, g>>=h",
    "// comment\n/* block */\n# hash\n", "if x != y:\n\tpass\nelif x == 0:\n\tpass",
    "print('Hello, World!')", "std::vector<std::string> v{\"a\", \"b\"};",
    # Special-token text in ordinary text.
    "<|im_start|>user\nHello<|im_end|>\n", "<|endoftext|>", "a<|endoftext|>b",
    "<|im_start|><|im_start|>", "<|im_start", "<|im_end|", "|im_end|>", "<|IM_START|>",
    "<repo_name>x<file_sep>y", "<|endoftext|><|endoftext|>", " <|im_end|> ",
    "<jupyter_code>print(1)<jupyter_output>1<empty_output>", "<<|im_end|>>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
    "text<|im_end|>\n\n", "<filename>main.py<gh_stars>10", "<|im_start|>\n<|im_end|>",
    "<|endoftext|>Hello world<|endoftext|>", "<|<|im_end|>|>", "<issue_start>bug",
    "<|im_start|>user\n\u4e2d\u6587<|im_end|>", "<s></s><unk>",
    # Long words and runs.
    "a" * 1000, "ab" * 700, "supercalifragilisticexpialidocious" * 30,
    "1234567890" * 50, "\U0001f600" * 200, "\u4e2d" * 500, " " * 500, "\n" * 300,
    "-" * 400, "=" * 300, "\t" * 100, " \n" * 100, "aA1!" * 200, "\u0645\u0631" * 300,
    "x" + " " * 64 + "y", "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "https://example.com/path/to/resource?query=value&other=1#fragment",
    "user.name+tag@example-domain.co.uk",
]

# Invalid and odd UTF-8, as raw bytes. No 4-byte form above U+10FFFF (F4 90.., F5..F7):
# llama.cpp throws from inside llama_tokenize on those, which ends the process.
INVALID_BYTES = [
    b"\xff", b"\xfe\xff", b"\x80", b"\xbf", b"abc\x80def", b"\xc3", b"\xc3(", b"\xc3\xa9\xc3",
    b"\xe2\x82", b"\xe2\x82(", b"\xe2(\xa1", b"\xf0\x9f\x98", b"\xf0\x9f\x98 x", b"\xf0\x28\x8c\x28",
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\x80\xed\xb0\x80", b"\xc0\x80", b"\xc0\xaf",
    b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x88\x80\x80\x80",
    b"\xfc\x84\x80\x80\x80\x80", b"Hello \xff World", b"\xff\xfe\xfd\xfc", b"a\xc3b\xa9c",
    b"\x80\x80\x80", b"caf\xe9", b"na\xefve", b"\xe4\xb8", b"\xe4\xb8\xe4\xb8\xad",
    b"<|im_start|>\xff<|im_end|>", b"\xff<|endoftext|>\xfe", b"12\x8034", b"'\x80s",
    b" \xff", b"\xff ", b"\n\xff\n", b"\xf4\x8f\xbf\xbf", b"\xef\xbf\xbd", b"\xef\xbf\xbe",
]

FRAGMENTS = [
    "the", " quick", " brown", "Fox", " JUMPS", "over", "\u00e9t\u00e9", " na\u00efve",
    "\u4e2d\u6587", "\u65e5\u672c", "\ud55c\uad6d", "\u0645\u0631\u062d\u0628\u0627",
    "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
    "\u041f\u0440\u0438\u0432\u0435\u0442", "0", "42", "2024", "3.14", "1,000", "\u0663\u0664",
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "'s", "'T", "'re", "'LL", "'d", "'",
    ".", ",", "!", "?", "...", "--", "(", ")", "{", "}", "[", "]", "<", ">", "/", "\\", "\"",
    "#", "@", "$", "%", "&", "*", "+", "=", "_", "|", "~", "`", ";", ":",
    "\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1ef\U0001f1f5", "e\u0301", "\u200b",
    "\u00a0", "\u3000", "\u2028", "\u00bd", "\u00b2", "\u2014", "\u201c", "\u201d", "\u00ff",
] + SPECIALS


def random_cases(count=220, seed=20261126):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(1, 40)
        cases.append("".join(rng.choice(FRAGMENTS) for _ in range(n)))
    return cases


def random_byte_cases(count=30, seed=7):
    # Arbitrary bytes, minus F4..F7 lead bytes (see INVALID_BYTES).
    rng = random.Random(seed)
    alphabet = [b for b in range(256) if not 0xF4 <= b <= 0xF7]
    return [bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def corpus():
    """All cases as bytes, in fixture order."""
    out = [s.encode("utf-8") for s in HAND_WRITTEN]
    out += INVALID_BYTES
    out += [s.encode("utf-8") for s in random_cases()]
    out += random_byte_cases()
    seen = set()
    return [b for b in out if not (b in seen or seen.add(b))]

#!/usr/bin/env python3
"""Independent reference for GPT-2 byte-level BPE (standard library only).

Writes a small GPT-2-style tokenizer (vocab.json, merges.txt) and the expected token ids for a set of
texts to tests/vectors/gpt2_bpe/. The C# tokenizer under test must reproduce these encodings.

The algorithm follows the published GPT-2 encoder description:
  1. split the text around the special token <|endoftext|>;
  2. pre-tokenize each piece with the GPT-2 pattern
       's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
     (implemented by hand below because the stdlib `re` has no \\p{..} classes);
  3. map each pre-token's UTF-8 bytes to printable characters with the byte-to-unicode table;
  4. repeatedly merge the adjacent pair with the lowest merge rank until no pair is in the table;
  5. look the resulting symbols up in the vocabulary.
Run: python3 tests/vectors/gpt2_bpe_reference.py
"""
import json
import os
import unicodedata

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt2_bpe")
SPECIAL = "<|endoftext|>"


def byte_table():
    """GPT-2's reversible byte -> printable character map, in vocabulary order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    order = list(printable)
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            order.append(b)
            chars.append(256 + extra)
            extra += 1
    return order, {b: chr(c) for b, c in zip(order, chars)}


MERGES = [
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"),
    ("Ġ", "s"), ("r", "e"), ("a", "t"), ("Ġ", "c"), ("Ġ", "w"), ("e", "n"), ("o", "r"),
    ("l", "l"), ("Ġ", "m"), ("a", "n"), ("i", "s"), ("Ġ", "o"), ("e", "s"), ("Ġ", "Ġ"),
    ("ĠĠ", "ĠĠ"), ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld"), ("H", "e"), ("He", "ll"),
    ("Hell", "o"), ("'", "s"), ("Ã", "©"), ("c", "a"), ("ca", "f"), ("caf", "Ã©"),
    ("1", "2"), ("12", "3"), ("Ġ", "1"), ("Ċ", "Ċ"), ("Ġs", "at"), ("Ġm", "at"),
    ("Ġc", "at"), ("Ġa", "n"), ("Ġan", "d"), ("in", "g"), ("Ġ", "n"), ("u", "m"),
    # These two cross a letter / astral-letter boundary ("a" + first byte of U+1D400, last byte of
    # U+4E2D + first byte of U+20000): they only apply if a pre-tokenizer keeps astral letters in the
    # same \p{L} run as their neighbours, as GPT-2's pattern does.
    ("a", "ð"), ("Ń", "ð"),
]


def build_vocab():
    order, table = byte_table()
    vocab = {}
    for b in order:
        vocab[table[b]] = len(vocab)
    for a, b in MERGES:
        tok = a + b
        assert a in vocab and b in vocab, (a, b)
        assert tok not in vocab, tok
        vocab[tok] = len(vocab)
    vocab[SPECIAL] = len(vocab)
    return vocab


def is_white_space(ch):
    # Unicode White_Space (what \\s means in the regex engines GPT-2 tokenizers use); str.isspace()
    # also accepts the information separators U+001C..U+001F, which White_Space does not.
    return ch.isspace() and ch not in "\x1c\x1d\x1e\x1f"


def cls(ch):
    if is_white_space(ch):
        return "s"
    cat = unicodedata.category(ch)
    if cat.startswith("L"):
        return "L"
    if cat.startswith("N"):
        return "N"
    return "o"


def pretokenize(text):
    out = []
    i, n = 0, len(text)
    while i < n:
        hit = None
        for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if text.startswith(c, i):
                hit = c
                break
        if hit:
            out.append(hit)
            i += len(hit)
            continue
        done = False
        for want in ("L", "N", "o"):
            j = i + 1 if text[i] == " " else i
            if j < n and cls(text[j]) == want:
                k = j
                while k < n and cls(text[k]) == want:
                    k += 1
                out.append(text[i:k])
                i = k
                done = True
                break
        if done:
            continue
        # here text[i] is whitespace
        k = i
        while k < n and is_white_space(text[k]):
            k += 1
        if k == n or k - i == 1:
            out.append(text[i:k])  # \s+(?!\S) at end of text, or \s+ for a single whitespace
            i = k
        else:
            out.append(text[i:k - 1])  # \s+(?!\S): leave the last whitespace to the next token
            i = k - 1
    return out


def bpe(symbols, ranks):
    word = list(symbols)
    while len(word) > 1:
        best = None
        for p in zip(word, word[1:]):
            r = ranks.get(p)
            if r is not None and (best is None or r < best[0]):
                best = (r, p)
        if best is None:
            break
        a, b = best[1]
        merged, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                merged.append(a + b)
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = merged
    return word


def encode(text, vocab, ranks, table):
    ids = []
    pieces = text.split(SPECIAL)
    for idx, piece in enumerate(pieces):
        for tok in pretokenize(piece):
            mapped = "".join(table[b] for b in tok.encode("utf-8"))
            ids.extend(vocab[s] for s in bpe(mapped, ranks))
        if idx + 1 < len(pieces):
            ids.append(vocab[SPECIAL])
    return ids


TEXTS = [
    "Hello world",
    "the cat sat on the mat.",
    "  leading spaces and   multiple    spaces  ",
    "line1\nline2\n\n  indented",
    "it's they're we've I'm you'll he'd don't",
    "numbers 12345 and 3.14159! 1231",
    "café naïve résumé",
    "emoji \U0001F642 test \U0001F680\U0001F680",
    "tabs\tand\r\nCRLF",
    "",
    "hello<|endoftext|>world",
    "He said: \"Hello, world\" -- and then (again) Hello!!",
    "ümlaut Ünïcödé 北京 ١٢٣",
    "mixed123abc 456 ...,,, ;;",
    "astral letters a\U0001D400b \U0001D400\U0001D401c and CJK \u4e2d\U00020000\u6587",
    "combining e\u0301 x\u00b2 nbsp a\u00a0b ideographic\u3000space em\u2003dash",
    "separators \x1c\x1d and vt \x0b ff \x0c end  \n",
    "'S 'll're ''s x's",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    _, table = byte_table()
    vocab = build_vocab()
    ranks = {pair: r for r, pair in enumerate(MERGES)}
    with open(os.path.join(OUT, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(OUT, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in MERGES:
            f.write(f"{a} {b}\n")
    cases = [{"text": t, "ids": encode(t, vocab, ranks, table)} for t in TEXTS]
    with open(os.path.join(OUT, "encodings.json"), "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(" " + json.dumps(c, ensure_ascii=True) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main()

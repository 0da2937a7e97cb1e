#!/usr/bin/env python3
"""Independent reference for SentencePiece tokenizer.model files (standard library + the real
SentencePiece command-line tools: Debian's `sentencepiece` package, `apt-get install sentencepiece`,
which provides spm_train, spm_encode and spm_decode from the C++ implementation).

Trains two tiny models on a built-in corpus with Llama 2's training settings (byte_fallback,
split_digits, identity normalization, dummy prefix, whitespace-only pieces, unk/bos/eos = 0/1/2):
  sentencepiece/bpe.model      model_type=bpe     (the Llama 2 / Mistral kind)
  sentencepiece/unigram.model  model_type=unigram
then encodes a set of texts with spm_encode (ids and pieces, without and with BOS) and decodes the
ids back with spm_decode, and writes everything to sentencepiece/encodings.json. The C# tokenizer
under test (ZkLora.Model.HuggingFaceTokenizer over Microsoft.ML.Tokenizers) must reproduce these.

Every text is one line (spm_encode reads line by line). Texts include leading, trailing and
repeated spaces, digits (split one by one), accented letters seen in training, and characters
never seen in training (CJK, an emoji), which SentencePiece spells as <0xNN> byte pieces.

Run: python3 tests/vectors/sentencepiece_reference.py
"""
import json
import os
import subprocess
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentencepiece")

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    " leading space",
    "   three leading spaces",
    "trailing space ",
    "double  spaces  inside",
    "The year 2024 has 366 days, not 365.",
    "naïve café déjà vu",
    "日本語",
    "a llama 🦙 emoji",
    "Ω and ß and ñ",
    "tab\tseparated",
    "UPPER lower MiXeD",
    "x",
    "Zero knowledge proofs of low rank adaptation for a large weight matrix",
    "~#@ {braces} [brackets] 0 1 2 3 4 5 6 7 8 9",
    "Ünïcödé é́ combining and € euro",
    "",
]

CORPUS_LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello world, this is a small corpus for a tiny tokenizer.",
    "A llama is a domesticated South American camelid.",
    "Low rank adaptation adds a small update to a large weight matrix.",
    "Zero knowledge proofs show that a computation was done correctly.",
    "The contributor serves the adapter; the user runs the base model.",
    "Numbers like 12, 345 and 6789 appear in text as digits.",
    "A naïve café serves déjà vu with crème brûlée.",
    "Upper and lower case letters: ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz.",
    "Punctuation: commas, periods. Questions? Exclamations! (Parentheses) [brackets] {braces}",
    "  Indented lines keep their spaces  and double spaces too.",
    "Tokenizers split words into pieces; frequent pieces become tokens.",
]


def run(args, stdin=None, cwd=None):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, encoding="utf-8", check=True, cwd=cwd)
    return r.stdout


def train(workdir, kind):
    corpus = os.path.join(workdir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for i in range(40):
            for line in CORPUS_LINES:
                f.write(line + "\n")
    # Relative names: the trainer records its input path in the model file, which then stays the same on every run.
    run([
        "spm_train", "--input=corpus.txt", f"--model_prefix={kind}", f"--model_type={kind}",
        "--vocab_size=400", "--hard_vocab_limit=false", "--character_coverage=1.0",
        "--byte_fallback=true", "--split_digits=true", "--allow_whitespace_only_pieces=true",
        "--remove_extra_whitespaces=false", "--normalization_rule_name=identity", "--add_dummy_prefix=true",
        "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1", "--num_threads=1", "--minloglevel=2",
        "--input_sentence_size=0", "--shuffle_input_sentence=false", "--seed_sentencepiece_size=2000",
    ], cwd=workdir)
    return os.path.join(workdir, kind + ".model")


def encode(model, text, fmt, bos=False):
    args = ["spm_encode", f"--model={model}", f"--output_format={fmt}", "--minloglevel=2"]
    if bos:
        args.append("--extra_options=bos")
    line = run(args, stdin=text + "\n").rstrip("\n")
    # Pieces may contain no spaces (SentencePiece writes U+2581 for them), so splitting is safe.
    return [] if line == "" else line.split(" ")


def decode(model, ids):
    if not ids:
        return ""
    out = run(["spm_decode", f"--model={model}", "--input_format=id", "--minloglevel=2"],
              stdin=" ".join(str(i) for i in ids) + "\n")
    return out[:-1] if out.endswith("\n") else out


def main():
    os.makedirs(OUT, exist_ok=True)
    version = run(["spm_encode", "--version"]).strip()
    result = {"generator": "tests/vectors/sentencepiece_reference.py", "implementation": version, "models": {}}
    with tempfile.TemporaryDirectory() as work:
        for kind in ("bpe", "unigram"):
            trained = train(work, kind)
            target = os.path.join(OUT, f"{kind}.model")
            with open(trained, "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
            vocab = run(["spm_export_vocab", f"--model={target}", "--minloglevel=2"]).splitlines()
            cases = []
            for text in TEXTS:
                ids = [int(x) for x in encode(target, text, "id")]
                cases.append({
                    "text": text,
                    "ids": ids,
                    "pieces": encode(target, text, "piece"),
                    "ids_with_bos": [int(x) for x in encode(target, text, "id", bos=True)],
                    "decoded": decode(target, ids),
                })
            result["models"][kind] = {"file": f"{kind}.model", "model_type": kind, "vocab_size": len(vocab), "bos_id": 1, "eos_id": 2, "unk_id": 0, "cases": cases}
    with open(os.path.join(OUT, "encodings.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

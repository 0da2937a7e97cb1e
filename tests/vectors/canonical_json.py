#!/usr/bin/env python3
"""Known answers for zkLoRA canonical JSON and artifact encodings, from Python's json module
(independent of the project's F# writer):

  canonical(v) = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
  digest(v)    = sha256(canonical(v).encode("ascii")).hexdigest()

Each case has a NON-canonical input text (indented, keys in reverse order, raw UTF-8), its
canonical text and digest. The artifact samples follow docs/design.md section 4 and the field lists
documented in src/ZkLora.Proofs (Manifest.fs, Transcript.fs, Statement.fs); the statement's
statement_digest is the digest of the statement without that field.

Regenerate: python3 canonical_json.py > canonical_json.json
"""
import hashlib
import json

P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001


def canonical(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(v):
    return hashlib.sha256(canonical(v).encode("ascii")).hexdigest()


def reverse_keys(v):
    if isinstance(v, dict):
        return {k: reverse_keys(v[k]) for k in sorted(v, reverse=True)}
    if isinstance(v, list):
        return [reverse_keys(x) for x in v]
    return v


def case(name, v):
    return {"name": name, "input": json.dumps(reverse_keys(v), indent=2, ensure_ascii=False),
            "canonical": canonical(v), "sha256": digest(v)}


FP = {"scale_bits": 20, "value_bits": 63, "intermediate_bits": 127}
SCHEME = "poseidon-pasta-fp-p128pow5t3-salted-packed-v1"
BACKEND = "zklora-dotnet-halo2-ipa-pasta-v1"


def artifacts():
    commitment = "0x%064x" % (P - 12345)
    manifest = {
        "schema_version": "zklora.manifest.v1", "backend": BACKEND, "commitment_scheme": SCHEME,
        "adapters": [
            {"module_name": "base_model.model.transformer.h.0.attn.c_attn", "in_dim": 768, "rank": 4, "out_dim": 2304,
             "fixed_point": FP, "scaling": {"num": 2, "den": 1},
             "adapter_commitment": {"scheme": SCHEME, "value": commitment}},
            {"module_name": "h.1.mlp.c_fc", "in_dim": 3, "rank": 1, "out_dim": 2,
             "fixed_point": {"scale_bits": 0, "value_bits": 8, "intermediate_bits": 16},
             "scaling": {"num": -3602879701896397, "den": 36028797018963968},
             "adapter_commitment": {"scheme": SCHEME, "value": "0x" + "0" * 63 + "1"}},
        ]}
    x = [[1, -2, 3], [2 ** 62 - 1, -(2 ** 62 - 1), 0]]
    delta = [[5, -6], [0, 7]]
    entry = {"session_id": "sess-01_A", "module_name": "h.1.mlp.c_fc", "invocation_index": 3,
             "input_shape": [1, 2, 3], "output_shape": [1, 2, 2], "x": x, "delta": delta,
             "fixed_point": FP, "scaling_num": 1, "scaling_den": 2}
    transcript = {"schema_version": "zklora.transcript.v1", "entries": [entry, dict(entry, invocation_index=4)]}
    body = {"schema_version": "zklora.statement.v1", "backend": BACKEND, "circuit_id": "zklora-lora-v1:k=12",
            "session_id": "sess-01_A", "module_name": "h.1.mlp.c_fc", "invocation_index": 3,
            "input_shape": [1, 2, 3], "output_shape": [1, 2, 2], "x": x, "delta": delta, "fixed_point": FP,
            "scaling": {"num": 1, "den": 2}, "rank": 1,
            "adapter_commitment": {"scheme": SCHEME, "value": commitment}}
    statement = dict(body, statement_digest=digest(body))
    proof = bytes(range(256)) * 3
    meta = {"schema_version": "zklora.meta.v1", "backend": BACKEND, "circuit_id": "zklora-lora-v1:k=12",
            "statement_digest": digest(body), "proof_digest": hashlib.sha256(proof).hexdigest()}
    return {"manifest": case("manifest", manifest), "transcript": case("transcript", transcript),
            "statement": case("statement", statement), "meta": case("meta", meta), "proof_hex": proof.hex()}


def main():
    values = [
        ("empty object", {}),
        ("empty array", []),
        ("integers", {"zero": 0, "neg": -1, "big": 2 ** 300, "negbig": -(2 ** 255), "list": [1, 22, -333]}),
        ("escapes", {"s": "quote\" back\\slash /slash \b\f\n\r\t \u0000\u0001\u001f \u007f end"}),
        ("non-ascii", {"s": "h\u00e9llo \u65e5\u672c \U0001F600 \u20ac \ufeff"}),
        ("key order is code point order", {"b": 1, "a": 2, "B": 3, "\u00e9": 4, "\ue000": 5, "\U0001F600": 6, "": 7, "aa": 8}),
        ("nested", {"z": [{"y": [[], {}], "x": "v"}], "a": {"c": {"d": [1, [2, [3]]]}}}),
    ]
    print(json.dumps({"note": "Canonical JSON known answers from tests/vectors/canonical_json.py (Python json module).",
                      "values": [case(n, v) for n, v in values], "artifacts": artifacts()}, indent=1))


if __name__ == "__main__":
    main()

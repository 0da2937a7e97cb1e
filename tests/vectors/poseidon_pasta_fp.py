#!/usr/bin/env python3
"""Known answers for Poseidon P128Pow5T3 (width 3, rate 2, x^5, R_F = 8, R_P = 56) over the
Pasta fields, taken from an INDEPENDENT source: the zcash/halo2 repository (crate
halo2_poseidon, formerly halo2_gadgets/src/poseidon/primitives):

  * fp.rs / fq.rs          - the round constants, MDS and MDS^-1 that halo2 ships, produced by
                             the Poseidon authors' Sage script (generate_parameters_grain.sage
                             1 0 255 3 8 56 <p>) from daira/pasta-hadeshash;
  * test_vectors.rs        - permutation and ConstantLength<2> hash vectors, which halo2 took
                             from zcash-hackworks/zcash-test-vectors (orchard_poseidon/*.py,
                             a Python implementation).

Encodings in those files, converted here to plain integers:
  * `pallas::Base::from_raw([l0, l1, l2, l3])` takes CANONICAL little-endian 64-bit limbs
    (from_raw multiplies by R^2 to enter Montgomery form internally), so the value is
    l0 + l1*2^64 + l2*2^128 + l3*2^192. No Montgomery conversion is needed.
  * test vectors are `[u8; 32]` = `to_repr()`, the canonical little-endian byte encoding.

This script also carries a small big-integer Poseidon written from the description (not
from this project's F# code). It first checks that it reproduces every halo2 permutation
and hash vector with the transcribed constants (so the transcription and the encodings
above are right), then computes extra ConstantLength<L> hashes for other lengths L, which
halo2 does not publish. Capacity element = L * 2^64; the message is zero-padded to a
multiple of the rate; each block is added to the rate part and the state permuted; the
output is state[0].

Regenerate (needs a checkout of zcash/halo2):
    python3 poseidon_pasta_fp.py <halo2>/halo2_poseidon/src > poseidon_pasta_fp.json
"""
import json
import re
import sys

P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001
Q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001


def limbs_to_int(limbs):
    return sum(l << (64 * i) for i, l in enumerate(limbs))


def parse_from_raw(text):
    """Every from_raw([...]) in source order, as integers."""
    out = []
    for m in re.finditer(r"from_raw\(\[(.*?)\]\)", text, re.S):
        limbs = [int(x.replace("_", ""), 16) for x in re.findall(r"0x[0-9a-fA-F_]+", m.group(1))]
        assert len(limbs) == 4
        out.append(limbs_to_int(limbs))
    return out


def parse_constants(path, modulus):
    text = open(path).read()
    rc_part, mds_part = text.split("pub(crate) const MDS:")
    mds_part, inv_part = mds_part.split("pub(crate) const MDS_INV:")
    rc = parse_from_raw(rc_part)
    mds = parse_from_raw(mds_part)
    inv = parse_from_raw(inv_part)
    assert len(rc) == 192 and len(mds) == 9 and len(inv) == 9
    assert all(v < modulus for v in rc + mds + inv)
    # fp.rs states "Secure MDS: 0"; fq.rs does not, but halo2's verify_constants test
    # regenerates both fields' constants with SECURE_MDS = 0.
    m = re.search(r"// Secure MDS: (\d+)", text)
    secure = int(m.group(1)) if m else 0
    return ([rc[3 * i:3 * i + 3] for i in range(64)],
            [mds[3 * i:3 * i + 3] for i in range(3)],
            [inv[3 * i:3 * i + 3] for i in range(3)], secure)


def parse_byte_arrays(text):
    out = []
    for m in re.finditer(r"\[\s*((?:0x[0-9a-fA-F]{2},\s*){31}0x[0-9a-fA-F]{2},?)\s*\]", text):
        b = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", m.group(1)))
        out.append(int.from_bytes(b, "little"))
    return out


def parse_vectors(path, module):
    text = open(path).read()
    start = text.index("pub mod %s {" % module)
    end = text.index("pub mod fq {") if module == "fp" else len(text)
    body = text[start:end]
    perm_text, hash_text = body.split("pub fn hash()")
    perm = parse_byte_arrays(perm_text)
    hashes = parse_byte_arrays(hash_text)
    assert len(perm) % 6 == 0 and len(hashes) % 3 == 0
    return ([{"initial": perm[i:i + 3], "final": perm[i + 3:i + 6]} for i in range(0, len(perm), 6)],
            [{"input": hashes[i:i + 2], "output": hashes[i + 2]} for i in range(0, len(hashes), 3)])


def permute(state, rc, mds, m):
    s = list(state)
    for r in range(64):
        s = [(x + c) % m for x, c in zip(s, rc[r])]
        if r < 4 or r >= 60:
            s = [pow(x, 5, m) for x in s]
        else:
            s[0] = pow(s[0], 5, m)
        s = [sum(mds[i][j] * s[j] for j in range(3)) % m for i in range(3)]
    return s


def hash_constant_length(msg, rc, mds, m):
    L = len(msg)
    assert L >= 1
    padded = list(msg) + [0] * ((-L) % 2)
    s = [0, 0, (L << 64) % m]
    for i in range(0, len(padded), 2):
        s[0] = (s[0] + padded[i]) % m
        s[1] = (s[1] + padded[i + 1]) % m
        s = permute(s, rc, mds, m)
    return s[0]


def h(v):
    return "0x%064x" % v


def section(src, name, modulus):
    rc, mds, inv, secure = parse_constants("%s/%s.rs" % (src, name), modulus)
    perm, hashes = parse_vectors("%s/test_vectors.rs" % src, name)
    # The transcription and the encodings must reproduce halo2's own vectors.
    for tv in perm:
        assert permute(tv["initial"], rc, mds, modulus) == tv["final"], "permute vector mismatch"
    for tv in hashes:
        assert hash_constant_length(tv["input"], rc, mds, modulus) == tv["output"], "hash vector mismatch"
    for i in range(3):
        for j in range(3):
            assert sum(mds[i][k] * inv[k][j] for k in range(3)) % modulus == (1 if i == j else 0)
    extra = []
    for L in [1, 2, 3, 4, 5, 7, 10, 11]:
        msg = [(0x1234567 * (k + 1) ** 7 + L) % modulus for k in range(L)]
        if L == 3:
            msg = [0, modulus - 1, 1]
        extra.append({"input": [h(v) for v in msg], "output": h(hash_constant_length(msg, rc, mds, modulus))})
    return {
        "modulus": h(modulus),
        "secure_mds": secure,
        "round_constants": [[h(v) for v in row] for row in rc],
        "mds": [[h(v) for v in row] for row in mds],
        "mds_inv": [[h(v) for v in row] for row in inv],
        "permute": [{"initial": [h(v) for v in tv["initial"]], "final": [h(v) for v in tv["final"]]} for tv in perm],
        "hash_constant_length_2": [{"input": [h(v) for v in tv["input"]], "output": h(tv["output"])} for tv in hashes],
        "hash_constant_length_other": extra,
    }


def main():
    src = sys.argv[1]
    out = {
        "note": ("Poseidon P128Pow5T3 known answers. round_constants/mds/mds_inv, permute and "
                 "hash_constant_length_2 are transcribed from zcash/halo2 (halo2_poseidon/src/fp.rs, fq.rs, "
                 "test_vectors.rs; commit given in 'source_commit'); halo2 writes constants as "
                 "from_raw([l0,l1,l2,l3]) = canonical little-endian u64 limbs and test vectors as canonical "
                 "little-endian bytes (to_repr). All values here are canonical integers as 0x + 64 hex, "
                 "big-endian. hash_constant_length_other is computed by this script's Python big-integer "
                 "Poseidon after it reproduced every halo2 vector; capacity = L*2^64, zero padding to even length."),
        "source_commit": sys.argv[2] if len(sys.argv) > 2 else "unknown",
        "fp": section(src, "fp", P),
        "fq": section(src, "fq", Q),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

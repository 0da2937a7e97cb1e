#!/usr/bin/env python3
"""Known answers for the zkLoRA adapter commitment (src/ZkLora.Proofs/AdapterCommitment.fs
documents the scheme), computed independently with Python big integers and the Poseidon
P128Pow5T3 constants transcribed from halo2 (poseidon_pasta_fp.json, whose own script checks
them against halo2's test vectors).

message = [tag, in_dim, rank, out_dim, scale_bits, value_bits, intermediate_bits,
           num mod p, den, salt] + packed weights
tag     = int.from_bytes(b"zklora.adapter.v1", "big")
packing = A row-major then B row-major; u = w + value_bound; groups of k = 250 // value_bits,
          element = sum(u_i * 2^(value_bits*i)) with the group's first weight least significant
commitment = Poseidon ConstantLength<len(message)> hash.

Regenerate: python3 adapter_commitment.py > adapter_commitment.json
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001

consts = json.load(open(os.path.join(HERE, "poseidon_pasta_fp.json")))["fp"]
RC = [[int(v, 16) for v in row] for row in consts["round_constants"]]
MDS = [[int(v, 16) for v in row] for row in consts["mds"]]


def permute(s):
    s = list(s)
    for r in range(64):
        s = [(x + c) % P for x, c in zip(s, RC[r])]
        if r < 4 or r >= 60:
            s = [pow(x, 5, P) for x in s]
        else:
            s[0] = pow(s[0], 5, P)
        s = [sum(MDS[i][j] * s[j] for j in range(3)) % P for i in range(3)]
    return s


def poseidon_hash(msg):
    L = len(msg)
    padded = list(msg) + [0] * ((-L) % 2)
    s = [0, 0, (L << 64) % P]
    for i in range(0, len(padded), 2):
        s[0] = (s[0] + padded[i]) % P
        s[1] = (s[1] + padded[i + 1]) % P
        s = permute(s)
    return s[0]


def message(in_dim, rank, out_dim, cfg, num, den, salt, A, B):
    sb, vb, ib = cfg
    bound = 2 ** (vb - 1) - 1
    k = 250 // vb
    weights = [w for row in A for w in row] + [w for row in B for w in row]
    assert all(abs(w) <= bound for w in weights)
    packed = []
    for g in range(0, len(weights), k):
        group = weights[g:g + k]
        packed.append(sum((w + bound) << (vb * i) for i, w in enumerate(group)))
    tag = int.from_bytes(b"zklora.adapter.v1", "big")
    return [tag, in_dim, rank, out_dim, sb, vb, ib, num % P, den, salt] + packed


def h(v):
    return "0x%064x" % v


def main():
    rnd = random.Random(424242)
    cases = []
    shapes = [(1, 1, 1), (2, 1, 2), (3, 2, 4), (5, 3, 2), (4, 4, 4), (16, 2, 16)]
    configs = [(20, 63, 127), (0, 8, 16), (10, 24, 60), (16, 100, 250), (0, 2, 2)]
    for i, (in_dim, rank, out_dim) in enumerate(shapes * 2):
        cfg = configs[i % len(configs)]
        bound = 2 ** (cfg[1] - 1) - 1
        pick = lambda: max(-bound, min(bound, rnd.choice([bound, -bound, 0, rnd.randint(-bound, bound), rnd.randint(-1000, 1000)])))
        A = [[pick() for _ in range(in_dim)] for _ in range(rank)]
        B = [[pick() for _ in range(rank)] for _ in range(out_dim)]
        num, den = rnd.choice([(1, 1), (2, 1), (-3, 4), (1, 16), (2 ** 200 + 1, 3), (-(2 ** 249) + 1, 2 ** 249)])
        salt = rnd.choice([0, 1, P - 1, rnd.randrange(P)])
        msg = message(in_dim, rank, out_dim, cfg, num, den, salt, A, B)
        cases.append({
            "shape": [in_dim, rank, out_dim], "config": list(cfg), "num": str(num), "den": str(den),
            "salt": h(salt), "A": [[str(w) for w in r] for r in A], "B": [[str(w) for w in r] for r in B],
            "message": [h(v) for v in msg], "commitment": h(poseidon_hash(msg)),
        })
    print(json.dumps({"note": "Adapter commitment known answers from tests/vectors/adapter_commitment.py "
                              "(Python big integers + halo2's Poseidon constants).", "cases": cases}, indent=0))


if __name__ == "__main__":
    main()

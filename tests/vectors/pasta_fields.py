#!/usr/bin/env python3
"""Known-answer vectors for the Pasta fields, computed with Python's big integers only
(independent of the project's Montgomery code). Regenerate: python3 pasta_fields.py > pasta_fields.json"""
import json, random

P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001
Q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001

def sqrt_exists(a, m):
    return a == 0 or pow(a, (m - 1) // 2, m) == 1

def le_hex(v):
    return v.to_bytes(32, "little").hex()

def vectors(m, seed):
    rnd = random.Random(seed)
    special = [0, 1, 2, m - 1, m - 2, (m - 1) // 2, 2**64 - 1, 2**64, 2**128 + 5, 2**254]
    vals = special + [rnd.randrange(m) for _ in range(40)]
    out = []
    for i, a in enumerate(vals):
        b = vals[(i * 7 + 3) % len(vals)]
        e = rnd.randrange(2**200)
        out.append({
            "a": hex(a), "b": hex(b), "e": hex(e),
            "add": hex((a + b) % m), "sub": hex((a - b) % m), "mul": hex(a * b % m),
            "neg": hex(-a % m), "square": hex(a * a % m),
            "inv": hex(pow(a, -1, m)) if a else None,
            "pow": hex(pow(a, e, m)),
            "is_square": sqrt_exists(a, m),
            "bytes_le": le_hex(a),
        })
    root = pow(5, (m - 1) >> 32, m)
    return {"modulus": hex(m), "ops": out,
            "root_of_unity_2_32": hex(root),
            "root_of_unity_2_10": hex(pow(root, 2**22, m)),
            "mont_inv": hex((-pow(m, -1, 2**64)) % 2**64),
            "wide_reduce": [{"bytes_le": x.to_bytes(64, "little").hex(), "value": hex(x % m)}
                            for x in [0, 2**512 - 1, m, 2 * m + 3] + [rnd.randrange(2**512) for _ in range(5)]]}

print(json.dumps({"fp": vectors(P, 1), "fq": vectors(Q, 2)}, indent=1))

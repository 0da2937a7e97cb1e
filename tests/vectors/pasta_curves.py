#!/usr/bin/env python3
"""Known-answer vectors for the Pallas and Vesta curves (y^2 = x^3 + 5), computed with plain
Python big-integer affine arithmetic (independent of the project's projective F# code).
Regenerate: python3 pasta_curves.py > pasta_curves.json"""
import json, random

P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001
Q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001
B = 5

def on_curve(pt, m):
    if pt is None:
        return True
    x, y = pt
    return (y * y - x * x * x - B) % m == 0

def add(p1, p2, m):
    """Affine chord-and-tangent addition; None is the point at infinity."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1 = p1
    x2, y2 = p2
    if x1 == x2:
        if (y1 + y2) % m == 0:
            return None
        lam = 3 * x1 * x1 * pow(2 * y1, -1, m) % m
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, m) % m
    x3 = (lam * lam - x1 - x2) % m
    y3 = (lam * (x1 - x3) - y1) % m
    return (x3, y3)

def mul(k, pt, m):
    acc = None
    for bit in bin(k)[2:] if k > 0 else "":
        acc = add(acc, acc, m)
        if bit == "1":
            acc = add(acc, pt, m)
    return acc

def compress(pt):
    if pt is None:
        return "00" * 32
    x, y = pt
    return (x | ((y & 1) << 255)).to_bytes(32, "little").hex()

def jpoint(pt):
    return None if pt is None else {"x": hex(pt[0]), "y": hex(pt[1])}

def is_square(a, m):
    return a % m == 0 or pow(a, (m - 1) // 2, m) == 1

def curve(m, r, seed):
    rnd = random.Random(seed)
    g = (m - 1, 2)
    assert on_curve(g, m)
    assert mul(r, g, m) is None, "group order"
    assert not is_square(5, m), "5 is a non-residue, so x = 0 is not on the curve"
    scalars = [0, 1, 2, 3, 5, 255, 2**64 + 1, 2**128 - 1, r - 1, r - 2, (r - 1) // 2] + [rnd.randrange(r) for _ in range(12)]
    muls = []
    for k in scalars:
        pt = mul(k, g, m)
        assert on_curve(pt, m)
        muls.append({"k": hex(k), "point": jpoint(pt), "compressed": compress(pt)})
    sums = []
    for _ in range(8):
        a, b = rnd.randrange(r), rnd.randrange(r)
        pa, pb = mul(a, g, m), mul(b, g, m)
        sums.append({"a": hex(a), "b": hex(b), "sum": jpoint(add(pa, pb, m)),
                     "double_a": jpoint(add(pa, pa, m)), "diff": jpoint(add(pa, (pb[0], -pb[1] % m), m))})
    # Encodings a strict decoder must reject, with the reason.
    bad = []
    x = 1
    while is_square(x ** 3 + B, m):
        x += 1
    bad.append({"hex": x.to_bytes(32, "little").hex(), "reason": "not on curve"})
    bad.append({"hex": (x | (1 << 255)).to_bytes(32, "little").hex(), "reason": "not on curve"})
    bad.append({"hex": m.to_bytes(32, "little").hex(), "reason": "non-canonical"})
    bad.append({"hex": (m + 2).to_bytes(32, "little").hex(), "reason": "non-canonical"})
    bad.append({"hex": ((2**255 - 1)).to_bytes(32, "little").hex(), "reason": "non-canonical"})
    bad.append({"hex": (1 << 255).to_bytes(32, "little").hex(), "reason": "identity with sign"})
    return {"base_modulus": hex(m), "order": hex(r), "generator": jpoint(g),
            "first_non_residue_x": hex(x), "muls": muls, "sums": sums, "bad_encodings": bad}

print(json.dumps({"pallas": curve(P, Q, 11), "vesta": curve(Q, P, 12)}, indent=1))

#!/usr/bin/env python3
"""Known answers for the zkLoRA fixed-point contract (docs/design.md section 2), computed with Python's
decimal module and big integers only - independent of the project's F# code.

  quantize(v): Decimal(repr(v)) is the exact value of the shortest round-trip text of the
      double; multiply by 2^scale_bits in a context wide enough to be exact, round half away
      from zero (decimal.ROUND_HALF_UP rounds ties away from zero), error if outside
      +-(2^(value_bits-1) - 1). float32 inputs are widened to double first.
  div_round(n, d) = (n + d // 2) // d   (Python's // is floor division)
  delta_row: the three-stage relation with its bound checks.

Doubles are stored by their IEEE-754 bit pattern (hex) so the test reads exactly the double
this script used. Regenerate: python3 fixed_point.py > fixed_point.json
"""
import decimal
import json
import random
import struct

CTX = decimal.Context(prec=5000, rounding=decimal.ROUND_HALF_UP, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)

CONFIGS = [
    (20, 63, 127),  # default
    (0, 8, 16),
    (1, 8, 20),
    (10, 24, 60),
    (30, 64, 140),
    (16, 32, 250),
    (2, 10, 14),  # narrow intermediate range: raw/r bounds are hit often
    (0, 63, 127),  # scale 1: large doubles whose shortest text drops binary digits
]


def bounds(cfg):
    sb, vb, ib = cfg
    return 2 ** sb, 2 ** (vb - 1) - 1, 2 ** (ib - 1) - 1


def quantize(cfg, v):
    sb, vb, ib = cfg
    if v != v or v in (float("inf"), float("-inf")):
        return None
    d = decimal.Decimal(repr(v))
    scaled = CTX.multiply(d, CTX.power(decimal.Decimal(2), sb))
    q = int(scaled.to_integral_value(rounding=decimal.ROUND_HALF_UP, context=CTX))
    _, value_bound, _ = bounds(cfg)
    return q if abs(q) <= value_bound else None


def bits64(v):
    return struct.pack(">d", v).hex()


def from_bits64(h):
    return struct.unpack(">d", bytes.fromhex(h))[0]


def div_round(n, d):
    assert d > 0
    return (n + d // 2) // d


def delta_row(cfg, A, B, x, num, den):
    """Returns (delta list, None) or (None, stage) with stage in x, raw, r, delta."""
    scale, value_bound, inter_bound = bounds(cfg)
    if any(abs(v) > value_bound for v in x):
        return None, "x"
    h = []
    for row in A:
        raw = sum(a * xi for a, xi in zip(row, x))
        if abs(raw) > inter_bound:
            return None, "raw"
        h.append(div_round(raw, scale))
    out = []
    for row in B:
        r = sum(b * hj for b, hj in zip(row, h))
        if abs(r) > inter_bound:
            return None, "r"
        s = div_round(r, scale)
        d = div_round(s * num, den)
        if abs(d) > value_bound:
            return None, "delta"
        out.append(d)
    return out, None


def quantize_cases(rnd):
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.1, 0.2, 0.3, 1 / 3, -2 / 3,
                2.5e-7, -2.5e-7, 1e-7, 1e-05, 1.5e-5, 9.999999999999999e-06, 5e-324, -5e-324,
                2.2250738585072014e-308, 1e300, -1e300, 1.7976931348623157e308, 1e16, 1.2345e+20,
                123.456, -987.654321, 3.141592653589793, 2.0 ** 42, -(2.0 ** 42), 2.0 ** 42 - 2.0 ** -11,
                -(2.0 ** 42 - 2.0 ** -11), 127.4, 127.5, -127.5, -127.49999999999999, 2.0 ** 60 + 256,
                1152921504606846976.0, 4611686018427387904.0, 9.223372036854776e18, 0.30000000000000004]
    # exact halfway points of the 2^-20 and 2^-10 grids (ties must go away from zero)
    for k in [0, 1, 2, 3, 7, 1000, 123456, 2 ** 30 + 1]:
        for grid in (20, 10, 1, 0):
            v = (k + 0.5) / 2 ** grid
            specials += [v, -v]
    # random doubles over many magnitudes (most exercise the shortest-repr digits)
    for _ in range(150):
        e = rnd.randint(-40, 62)
        v = rnd.random() * 2.0 ** e * rnd.choice([1, -1])
        specials.append(v)
    # random bit patterns (includes subnormals and huge values)
    for _ in range(30):
        v = from_bits64("%016x" % rnd.getrandbits(64))
        if v == v and abs(v) != float("inf"):
            specials.append(v)
    return specials


def single_cases(rnd):
    vals = [0.1, -0.1, 1 / 3, 2.5e-7, 1e-7, 65504.0, 3.4028234663852886e38, 1.401298464324817e-45]
    vals += [rnd.uniform(-100, 100) for _ in range(40)]
    out = []
    for v in vals:
        b32 = struct.pack(">f", v)
        widened = struct.unpack(">f", b32)[0]  # exact float32 value as a Python float (double)
        out.append((b32.hex(), widened))
    return out


def rand_value(rnd, bound, mag_bits):
    m = min(bound, 2 ** mag_bits)
    pick = rnd.random()
    if pick < 0.05:
        return rnd.choice([bound, -bound])
    if pick < 0.1:
        return 0
    return rnd.randint(-m, m)


def delta_cases(rnd):
    cases = []
    for ci, cfg in enumerate(CONFIGS):
        scale, vb, ib = bounds(cfg)
        for t in range(40):
            in_dim, rank, out_dim = rnd.randint(1, 6), rnd.randint(1, 3), rnd.randint(1, 5)
            rows = rnd.randint(1, 3)
            # magnitudes chosen so that some cases hit each bound
            mag = rnd.choice([4, 10, cfg[0] + 4, cfg[1] // 2, cfg[1] - 1])
            A = [[rand_value(rnd, vb, mag) for _ in range(in_dim)] for _ in range(rank)]
            B = [[rand_value(rnd, vb, mag) for _ in range(rank)] for _ in range(out_dim)]
            X = [[rand_value(rnd, vb, mag) for _ in range(in_dim)] for _ in range(rows)]
            while True:
                num = rnd.choice([1, 1, -1, 2, 3, -7, 5, 0, rnd.randint(-2 ** 40, 2 ** 40)])
                den = rnd.choice([1, 2, 3, 4, 8, 16, 7, rnd.randint(1, 2 ** 40), rnd.randint(2 ** 39, 2 ** 40)])
                from math import gcd
                if gcd(num, den) == 1:
                    break
            results = []
            for x in X:
                d, err = delta_row(cfg, A, B, x, num, den)
                results.append({"delta": [str(v) for v in d]} if d is not None else {"error": err})
            cases.append({"config": list(cfg), "A": [[str(v) for v in r] for r in A],
                          "B": [[str(v) for v in r] for r in B], "x": [[str(v) for v in r] for r in X],
                          "num": str(num), "den": str(den), "rows": results})
    return cases


def main():
    rnd = random.Random(20251124)
    qcases = quantize_cases(rnd)
    quant = []
    for cfg in CONFIGS:
        for v in qcases:
            q = quantize(cfg, v)
            quant.append({"config": list(cfg), "bits": bits64(v), "repr": repr(v),
                          "q": None if q is None else str(q)})
    singles = []
    for b32, widened in single_cases(rnd):
        for cfg in CONFIGS[:2]:
            q = quantize(cfg, widened)
            singles.append({"config": list(cfg), "bits32": b32, "q": None if q is None else str(q)})
    divs = []
    for n in list(range(-12, 13)) + [rnd.randint(-2 ** 200, 2 ** 200) for _ in range(30)]:
        for d in [1, 2, 3, 4, 5, 7, 8, 1 << 20, rnd.randint(1, 2 ** 100)]:
            divs.append({"n": str(n), "d": str(d), "q": str(div_round(n, d))})
    print(json.dumps({
        "note": "Fixed-point contract known answers from tests/vectors/fixed_point.py (Python decimal + ints).",
        "quantize": quant,
        "quantize_single": singles,
        "div_round": divs,
        "delta": delta_cases(rnd),
    }, indent=0))


if __name__ == "__main__":
    main()

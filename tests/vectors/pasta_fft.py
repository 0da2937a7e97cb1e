#!/usr/bin/env python3
"""Known-answer vectors for evaluation domains, FFTs and polynomial helpers over the Pasta
fields, computed with Python big integers and textbook O(n^2) formulas only (independent of
the project's FFT code). Regenerate: python3 pasta_fft.py > pasta_fft.json

Conventions (matching docs/design.md §3: circuit field Fp, coset generator g = 5):
  omega_n = 5^((p-1)/n) mod p (a primitive n-th root of unity, n a power of two)
  evals[i]        = sum_j a_j * omega_n^(i*j)                 (FFT)
  coset_evals[i]  = sum_j a_j * (5 * omega_n^i)^j             (coset FFT)
  ext_evals[i]    = sum_j a_j * (5 * omega_{n*2^e}^i)^j       (extended coset FFT)
  lagrange l_i(x) = prod_{j != i} (x - omega^j) / (omega^i - omega^j)
"""
import json, random

P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001
Q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001
G = 5

def root(m, n):
    assert (m - 1) % n == 0
    return pow(G, (m - 1) // n, m)

def evaluate(m, coeffs, x):
    return sum(c * pow(x, j, m) for j, c in enumerate(coeffs)) % m

def dft(m, coeffs, n, shift=1):
    w = root(m, n)
    return [evaluate(m, coeffs, shift * pow(w, i, m) % m) for i in range(n)]

def interpolate(m, values):
    """Coefficients of the interpolant of values on the n-th roots (naive inverse DFT)."""
    n = len(values)
    w_inv = pow(root(m, n), -1, m)
    n_inv = pow(n, -1, m)
    return [n_inv * sum(v * pow(w_inv, i * j, m) for i, v in enumerate(values)) % m for j in range(n)]

def lagrange(m, n, i, x):
    w = root(m, n)
    num, den = 1, 1
    wi = pow(w, i, m)
    for j in range(n):
        if j != i:
            wj = pow(w, j, m)
            num = num * (x - wj) % m
            den = den * (wi - wj) % m
    return num * pow(den, -1, m) % m

def long_division_linear(m, coeffs, a):
    """Divide by (X - a) with generic polynomial long division from the top coefficient."""
    rem = list(coeffs)
    q = [0] * max(0, len(coeffs) - 1)
    for d in range(len(coeffs) - 1, 0, -1):
        c = rem[d]
        q[d - 1] = c
        rem[d] = 0
        rem[d - 1] = (rem[d - 1] + c * a) % m
    return q, rem[0] % m if coeffs else 0

def h(v):
    return hex(v)

def field_vectors(m, seed):
    rnd = random.Random(seed)
    rand = lambda: rnd.randrange(m)
    out = {"modulus": h(m), "ffts": [], "extended": [], "lagrange": [], "division": []}
    for k in [0, 1, 2, 3, 4, 5]:
        n = 1 << k
        coeffs = [rand() for _ in range(n)]
        if k == 3:
            coeffs[0], coeffs[1], coeffs[2] = 0, 1, m - 1
        values = [rand() for _ in range(n)]
        out["ffts"].append({
            "k": k, "omega": h(root(m, n)),
            "coeffs": [h(c) for c in coeffs],
            "evals": [h(v) for v in dft(m, coeffs, n)],
            "coset_evals": [h(v) for v in dft(m, coeffs, n, G)],
            "values": [h(v) for v in values],
            "interpolant": [h(c) for c in interpolate(m, values)],
        })
    for (k, e, ncoeffs) in [(2, 1, 6), (3, 2, 20), (4, 2, 64), (3, 0, 8)]:
        n, big = 1 << k, 1 << (k + e)
        coeffs = [rand() for _ in range(ncoeffs)]
        we = root(m, big)
        out["extended"].append({
            "k": k, "e": e, "omega_ext": h(we),
            "coeffs": [h(c) for c in coeffs],
            "ext_evals": [h(v) for v in dft(m, coeffs, big, G)],
            "vanishing_on_coset": [h((pow(G * pow(we, i, m), n, m) - 1) % m) for i in range(1 << e)],
        })
    for k in [2, 3, 4]:
        n = 1 << k
        x = rand()
        values = [rand() for _ in range(n)]
        rows = [0, 1, n - 1]
        out["lagrange"].append({
            "k": k, "x": h(x), "rows": [r if r != n - 1 else -1 for r in rows],
            "basis": [h(lagrange(m, n, r, x)) for r in rows],
            "values": [h(v) for v in values],
            "value_at_x": h(sum(v * lagrange(m, n, i, x) for i, v in enumerate(values)) % m),
            "vanishing_at_x": h((pow(x, n, m) - 1) % m),
        })
    for length in [1, 2, 7, 16]:
        coeffs = [rand() for _ in range(length)]
        a = rand()
        q, r = long_division_linear(m, coeffs, a)
        assert r == evaluate(m, coeffs, a)
        out["division"].append({"coeffs": [h(c) for c in coeffs], "a": h(a),
                                "quotient": [h(c) for c in q], "remainder": h(r)})
    return out

print(json.dumps({"fp": field_vectors(P, 11), "fq": field_vectors(Q, 12)}, indent=1))

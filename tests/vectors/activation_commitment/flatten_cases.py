#!/usr/bin/env python3
"""Known-answer cases for activation commitments, step 1 of 2 (independent of the .NET code).

For every case this script parses the JSON text with Python's own `json` module,
flattens `input_data` depth-first and converts each number with Python's `float()`
(so JSON integers go through float(int): round-half-even beyond 2**53, and "-0"
becomes +0.0), then writes the 8-byte big-endian IEEE-754 encoding of every value.
Step 2 (merkle.mjs) hashes those bytes with an independent BLAKE3 implementation.

Usage: python3 flatten_cases.py > cases.json
"""
import json
import struct
import sys


def flatten(node, out):
    if isinstance(node, bool) or not isinstance(node, (int, float, list)):
        raise TypeError(f"not a number or list: {node!r}")
    if isinstance(node, list):
        for child in node:
            flatten(child, out)
    else:
        out.append(float(node))


def nonce(pattern):
    return bytes((pattern * 32)[:32]) if isinstance(pattern, list) else bytes.fromhex(pattern)


seq = list(range(32))
cases = [
    ("empty", '{"input_data": []}', seq),
    ("nested_empty", '{"input_data": [[], [[]], []]}', seq),
    ("scalar", '{"input_data": 3.5}', seq),
    ("single", '{"input_data": [1]}', [0xA5]),
    ("two", '{"input_data": [1.0, 2.0]}', seq),
    ("three_nested", '{"input_data": [[1, 2], [3]]}', seq),
    ("five_mixed", '{"input_data": [0.5, -1.25, 3, 4e-3, 1E10]}', [0x00]),
    ("seven_deep", '{"input_data": [[[1, 2], [3]], [[4], [5, 6, 7]]]}', [0xFF]),
    ("signed_zeros", '{"input_data": [-0.0, -0, 0, 0.0, -0e0, -0E-5]}', seq),
    ("large_ints", '{"input_data": [9007199254740993, 9007199254740995, '
     '123456789012345678901234567890, -18446744073709551617, 4611686018427387903]}', seq),
    ("decimal_edges", '{"input_data": [0.1, 1e-320, 1.7976931348623157e308, 2.2250738585072014e-308, '
     '5e-324, 0.30000000000000004, 1.00000000000000011102230246251565404236316680908203125, '
     '-123.456e-7, 1e22, 1e23]}', seq),
    ("seventeen", '{"input_data": ' + json.dumps([[i * 0.25 - 2 for i in range(8)],
                                                  [[i * 1000 + 7 for i in range(8)]], [-1.5]]) + '}',
     [0x3C, 0x5A]),
    ("other_keys", '{"meta": {"x": [1, "s", null, true], "y": {}}, "input_data": [1, 2, 3],'
     ' "z": null, "w": "input_data"}', seq),
    ("thousand", '{"input_data": ' + json.dumps([[(r * 37 + c) * 0.125 - 500.0 for c in range(40)]
                                                for r in range(25)]) + '}', [0x11, 0x22, 0x33]),
]

result = []
for name, text, pattern in cases:
    values = []
    flatten(json.loads(text)["input_data"], values)
    result.append({
        "name": name,
        "json": text,
        "nonce": nonce(pattern).hex(),
        "values_be": [struct.pack(">d", v).hex() for v in values],
    })
json.dump(result, sys.stdout, indent=1)
sys.stdout.write("\n")

#!/usr/bin/env python3
"""Independent safetensors writer (standard library only) for the reader's known-answer test.

Writes tests/vectors/safetensors/sample.safetensors holding F32, F16, BF16 and F64 tensors (including a
scalar and an empty tensor) plus __metadata__, following the published format: an 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}}, then the little-endian data. The
expected values are written next to it as JSON (Python float repr round-trips exactly).
Run: python3 tests/vectors/safetensors_reference.py
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors")


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def pack(dtype, values):
    if dtype == "F32":
        return b"".join(struct.pack("<f", v) for v in values)
    if dtype == "F64":
        return b"".join(struct.pack("<d", v) for v in values)
    if dtype == "F16":
        return b"".join(struct.pack("<e", v) for v in values)
    if dtype == "BF16":  # values are chosen bf16-exact: the top half of their binary32 encoding
        out = b""
        for v in values:
            bits = struct.unpack("<I", struct.pack("<f", v))[0]
            assert bits & 0xFFFF == 0, v
            out += struct.pack("<H", bits >> 16)
        return out
    raise ValueError(dtype)


def main():
    os.makedirs(OUT, exist_ok=True)
    tensors = [
        # name, dtype, shape, values (row-major)
        ("weight.f32", "F32", [2, 3], [f32(v) for v in (0.1, -2.5, 3.0e-8, 1.0e30, -0.0, 7.0)]),
        ("weight.f16", "F16", [4], [1.0, -0.333251953125, 65504.0, 5.960464477539063e-08]),
        ("weight.bf16", "BF16", [2, 2], [1.5, -2.25, 0.0078125, 3.3895313892515355e38]),
        ("weight.f64", "F64", [3], [0.1, -1e-300, 12345.678901234567]),
        ("scalar", "F32", [], [f32(42.5)]),
        ("empty", "F32", [0, 3], []),
    ]
    header = {"__metadata__": {"format": "pt", "note": "zklora test vector"}}
    data = b""
    for name, dtype, shape, values in tensors:
        blob = pack(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(os.path.join(OUT, "sample.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + data)
    expected = {name: {"dtype": dtype, "shape": shape, "values": values} for name, dtype, shape, values in tensors}
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference constants) for known answers.

Writes tests/vectors/splitmix64.json: the first outputs for a few seeds.
Run: python3 tests/vectors/splitmix64_reference.py
"""
import json
import os

MASK = (1 << 64) - 1


def splitmix64(seed, n):
    state = seed & MASK
    out = []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return out


def main():
    seeds = [0, 1234567, 0x7A6B4C6F52410001, MASK]
    cases = [{"seed": str(s), "outputs": [str(x) for x in splitmix64(s, 5)]} for s in seeds]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "splitmix64.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

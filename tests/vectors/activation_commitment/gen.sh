#!/usr/bin/env bash
# Regenerates the activation-commitment known-answer vectors from independent tools:
# Python's json/float/struct for parsing and encoding, @noble/hashes (npm) for BLAKE3,
# and Debian's b3sum (if installed) as a second BLAKE3 cross-check.
# node_modules goes to a temporary directory, never into the repository.
# Usage: bash tests/vectors/activation_commitment/gen.sh > tests/ZkLora.Proofs.Tests/ActivationVectors.fs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/flatten_cases.py" > "$work/cases.json"
cp "$here/merkle.mjs" "$work/"
(cd "$work" && npm init -y >/dev/null 2>&1 && npm install --silent @noble/hashes@2.4.0 >/dev/null 2>&1)
node "$work/merkle.mjs" "$work/cases.json"

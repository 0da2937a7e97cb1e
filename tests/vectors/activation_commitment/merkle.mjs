// Known-answer cases for activation commitments, step 2 of 2 (independent of the .NET code).
//
// Reads cases.json from flatten_cases.py and computes, with the BLAKE3 of the npm package
// @noble/hashes (not the Blake3 NuGet package the project uses):
//   leaf_i = BLAKE3(be64(value_i) || nonce)
//   parent = BLAKE3(left || right); the leaf level, when odd, gets a 32-zero-byte right
//   neighbour (even a single leaf), higher odd levels too unless they are the root;
//   no values -> 32 zero bytes; one value -> root = BLAKE3(leaf || zeros).
// For chosen indices it also lists the opening path: the sibling at every level, bottom
// up, with 32 zero bytes where the sibling is padding.
// When Debian's b3sum is on PATH it cross-checks a few hashes against it as well.
// Prints the F# module tests/ZkLora.Proofs.Tests/ActivationVectors.fs.
//
// Usage: node merkle.mjs cases.json   (with @noble/hashes resolvable, see gen.sh)
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const concat = (a, b) => { const r = new Uint8Array(a.length + b.length); r.set(a); r.set(b, a.length); return r; };
const ZERO = new Uint8Array(32);

// Mirrors the original Python zkLoRA (src/zklora/polynomial_commit.py, _merkle_root): the
// leaf level is padded whenever its length is odd, even a single leaf; every higher level is
// padded when odd unless it is the root. So n = 1 gives root = BLAKE3(leaf || zeros).
function levels(leaves) {
  const all = [];
  let cur = leaves.length % 2 === 1 ? [...leaves, ZERO] : leaves;
  all.push(cur);
  while (cur.length > 1) {
    const next = [];
    for (let i = 0; i < cur.length; i += 2) next.push(blake3(concat(cur[i], cur[i + 1])));
    cur = next.length % 2 === 1 && next.length !== 1 ? [...next, ZERO] : next;
    all.push(cur);
  }
  return all;
}

function siblings(lv, index) {
  const out = [];
  let i = index;
  for (let k = 0; k < lv.length - 1; k++) {
    const s = i ^ 1;
    out.push(lv[k][s]); // padded levels: a missing neighbour is the ZERO appended above
    i >>= 1;
  }
  return out;
}

let b3sumChecked = 0;
function crossCheck(input, expected) {
  try {
    const dir = mkdtempSync(join(tmpdir(), 'b3-'));
    const f = join(dir, 'in.bin');
    writeFileSync(f, input);
    const got = execFileSync('b3sum', ['--no-names', f]).toString().trim();
    if (got !== hex(expected)) throw new Error(`b3sum disagrees: ${got} vs ${hex(expected)}`);
    b3sumChecked++;
  } catch (e) {
    if (e.code === 'ENOENT') return; // b3sum not installed: noble alone
    throw e;
  }
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// JSON.stringify of these ASCII strings escapes only '"', which F# string literals read the same way
const fs = (s) => JSON.stringify(s);
const lines = [];
for (const c of cases) {
  const nonce = unhex(c.nonce);
  const leaves = c.values_be.map((v) => blake3(concat(unhex(v), nonce)));
  const lv = levels(leaves);
  const root = leaves.length === 0 ? ZERO : lv[lv.length - 1][0];
  if (leaves.length > 0) crossCheck(concat(unhex(c.values_be[0]), nonce), leaves[0]);
  if (leaves.length > 0) crossCheck(concat(lv[0][0], lv[0][1]), lv[1][0]);
  const n = leaves.length;
  const idx = c.name === 'seventeen' ? [...Array(n).keys()]
    : [...new Set([0, Math.floor(n / 2), n - 1].filter((i) => i >= 0 && i < n))];
  const openings = idx.map((i) => `(${i}L, [| ${siblings(lv, i).map((s) => fs(hex(s))).join('; ')} |])`);
  const bits = n <= 20 ? `Some [| ${c.values_be.map(fs).join('; ')} |]` : 'None';
  lines.push(
    `      { Name = ${fs(c.name)}\n        Json = ${fs(c.json)}\n        Nonce = ${fs(c.nonce)}\n` +
    `        Count = ${n}L\n        ValueBits = ${bits}\n        Root = ${fs(hex(root))}\n` +
    `        Openings = [ ${openings.join(';\n                     ')} ] }`);
}
const header = `/// Known-answer vectors for activation commitments, produced by an independent
/// implementation: tests/vectors/activation_commitment/gen.sh (Python json/float/struct
/// for parsing and IEEE encoding, @noble/hashes BLAKE3 from npm for hashing, Debian's
/// b3sum as a cross-check). Generated: do not edit by hand; rerun gen.sh instead.
module ZkLora.Proofs.Tests.ActivationVectors

type Vector =
    { Name: string
      /// exact file text
      Json: string
      /// nonce, 64 hex digits
      Nonce: string
      Count: int64
      /// big-endian IEEE-754 bits of every value, depth-first (None for long lists)
      ValueBits: string[] option
      /// Merkle root, 64 hex digits
      Root: string
      /// (index, sibling path bottom-up) for chosen indices
      Openings: (int64 * string[]) list }

let vectors: Vector list =
    [
`;
process.stdout.write(header + lines.join('\n') + '\n    ]\n');
console.error(`cases: ${cases.length}, b3sum cross-checks: ${b3sumChecked}`);

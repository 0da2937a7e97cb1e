// Known-answer vectors for zkLoRA's hash-to-curve (try-and-increment over BLAKE3, version 1),
// computed with the npm package @noble/hashes (BLAKE3) and JavaScript BigInt field arithmetic:
// independent of the project's F# code.
//
// Construction (see src/ZkLora.Math/Curves/HashToCurve.fs):
//   DST = ASCII "zklora/hash-to-curve/v1/" + "pallas" | "vesta"
//   for counter c = 0, 1, ...:
//     msg = LE32(|DST|) || DST || LE32(|D|) || D || LE32(index) || LE32(c)   (D = UTF-8 domain)
//     h = BLAKE3-XOF(msg, 65 bytes); x = LE(h[0..63]) mod p
//     if x^3 + 5 is a square: y = sqrt with parity h[64] & 1; return (x, y)
//
// Regenerate (node_modules stays outside the repository):
//   mkdir -p /tmp/h2c && cd /tmp/h2c && npm init -y && npm install @noble/hashes
//   node <repo>/tests/vectors/hash_to_curve.mjs > <repo>/tests/vectors/hash_to_curve.json
// (run from /tmp/h2c, or set NOBLE_HASHES to the package directory).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const nobleDir = process.env.NOBLE_HASHES ?? join(process.cwd(), 'node_modules', '@noble', 'hashes');
const { blake3 } = await import(pathToFileURL(join(nobleDir, 'blake3.js')).href);

const P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001n;
const Q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001n;

const mod = (a, m) => ((a % m) + m) % m;
function powMod(b, e, m) {
  let r = 1n; b = mod(b, m);
  while (e > 0n) { if (e & 1n) r = (r * b) % m; b = (b * b) % m; e >>= 1n; }
  return r;
}
const isSquare = (a, m) => a === 0n || powMod(a, (m - 1n) / 2n, m) === 1n;

// Tonelli-Shanks (textbook form) for an odd prime m and a square a.
function sqrt(a, m) {
  if (a === 0n) return 0n;
  let s = 0n, t = m - 1n;
  while ((t & 1n) === 0n) { t >>= 1n; s++; }
  let z = 2n;
  while (isSquare(z, m)) z++;
  let M = s, c = powMod(z, t, m), tt = powMod(a, t, m), R = powMod(a, (t + 1n) / 2n, m);
  while (tt !== 1n) {
    let i = 0n, t2 = tt;
    while (t2 !== 1n) { t2 = (t2 * t2) % m; i++; }
    let b = c;
    for (let j = 0n; j < M - i - 1n; j++) b = (b * b) % m;
    M = i; c = (b * b) % m; tt = (tt * c) % m; R = (R * b) % m;
  }
  if ((R * R) % m !== mod(a, m)) throw new Error('not a square');
  return R;
}

const le32 = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0; for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const leToBig = (bytes) => { let v = 0n; for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]); return v; };
const hex = (v) => '0x' + v.toString(16);

function hashToCurve(curve, m, domain, index) {
  const dst = new TextEncoder().encode('zklora/hash-to-curve/v1/' + curve);
  const d = new TextEncoder().encode(domain);
  for (let c = 0; ; c++) {
    const msg = concat(le32(dst.length), dst, le32(d.length), d, le32(index), le32(c));
    const h = blake3(msg, { dkLen: 65 });
    const x = leToBig(h.subarray(0, 64)) % m;
    const rhs = mod(x * x * x + 5n, m);
    if (!isSquare(rhs, m)) continue;
    let y = sqrt(rhs, m);
    if ((y & 1n) !== BigInt(h[64] & 1)) y = m - y;
    return { index, counter: c, x: hex(x), y: hex(y) };
  }
}

const cases = [
  { domain: 'zklora/ipa/test', indices: [0, 1, 2, 3, 4, 5, 6, 7, 1000, 65535] },
  { domain: '', indices: [0, 1] },
  { domain: 'ünïcødé ✓ domain', indices: [0, 42] },
];
const out = {};
for (const [curve, m] of [['pallas', P], ['vesta', Q]]) {
  out[curve] = cases.map(({ domain, indices }) => ({ domain, points: indices.map((i) => hashToCurve(curve, m, domain, i)) }));
}
// Also the raw BLAKE3 XOF of one message, to localise a failure to hashing vs. field maths.
out.blake3_xof_65_of_abc = Buffer.from(blake3(new TextEncoder().encode('abc'), { dkLen: 65 })).toString('hex');
console.log(JSON.stringify(out, null, 1));

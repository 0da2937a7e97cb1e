// Known-answer vectors for the zkLoRA Fiat–Shamir transcript (src/ZkLora.Math/Transcript),
// computed by an independent re-implementation of its documented encoding with the npm
// package @noble/hashes (BLAKE3) and BigInt. Each challenge is recomputed from scratch as
// BLAKE3-XOF(whole stream so far), not with an incremental hasher.
//
// Regenerate (the package is installed outside the repo):
//   d=$(mktemp -d) && (cd "$d" && npm init -y >/dev/null && npm install @noble/hashes) &&
//   NOBLE_HASHES_DIR="$d/node_modules/@noble/hashes" node tests/vectors/transcript.mjs > tests/vectors/transcript.json
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = process.env.NOBLE_HASHES_DIR ?? join(process.cwd(), 'node_modules', '@noble', 'hashes');
const { blake3 } = await import(pathToFileURL(join(dir, 'blake3.js')).href);

const P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001n;
const Q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001n;
const MOD = { Fp: P, Fq: Q };
const enc = new TextEncoder();
const hex = (b) => Buffer.from(b).toString('hex');
const le64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const leInt = (v, len) => { const b = Buffer.alloc(len); let x = v; for (let i = 0; i < len; i++) { b[i] = Number(x & 0xffn); x >>= 8n; } return b; };
const fromLe = (b) => { let x = 0n; for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]); return x; };

// record(tag, label, data) = tag || LE64(|label|) || label || LE64(|data|) || data
const record = (tag, label, data) => {
  const l = enc.encode(label);
  return Buffer.concat([Buffer.from([tag]), le64(l.length), Buffer.from(l), le64(data.length), Buffer.from(data)]);
};

function run(domain, ops) {
  let stream = record(0x00, 'zklora-transcript-v1', enc.encode(domain));
  let squeezes = 0;
  const out = [];
  for (const op of ops) {
    switch (op.op) {
      case 'bytes':
        stream = Buffer.concat([stream, record(0x01, op.label, Buffer.from(op.data, 'hex'))]);
        out.push(op); break;
      case 'scalar': {
        const v = BigInt(op.value) % MOD[op.field];
        stream = Buffer.concat([stream, record(0x02, op.label, leInt(v, 32))]);
        out.push({ ...op, value: '0x' + v.toString(16) }); break;
      }
      case 'point':
        stream = Buffer.concat([stream, record(0x03, op.label, Buffer.from(op.data, 'hex'))]);
        out.push(op); break;
      case 'challenge':
      case 'squeeze_bytes': {
        const len = op.op === 'challenge' ? 64 : op.len;
        const kind = op.op === 'challenge' ? op.field : 'bytes';
        const data = Buffer.concat([le64(squeezes), le64(len), Buffer.from(enc.encode(kind))]);
        stream = Buffer.concat([stream, record(0x04, op.label, data)]);
        squeezes++;
        const xof = blake3(stream, { dkLen: len });
        if (op.op === 'challenge') out.push({ ...op, xof: hex(xof), value: '0x' + (fromLe(xof) % MOD[op.field]).toString(16) });
        else out.push({ ...op, out: hex(xof) });
        break;
      }
      default: throw new Error('unknown op ' + op.op);
    }
  }
  return { domain, ops: out };
}

const seq = (n, f) => Buffer.from(Array.from({ length: n }, (_, i) => f(i) & 0xff)).toString('hex');

const vectors = [
  run('zklora-test', [
    { op: 'bytes', label: 'msg', data: Buffer.from('hello').toString('hex') },
    { op: 'scalar', field: 'Fp', label: 'x', value: '12345' },
    { op: 'point', label: 'C', data: seq(32, (i) => i) },
    { op: 'challenge', field: 'Fp', label: 'alpha' },
    { op: 'bytes', label: 'empty', data: '' },
    { op: 'challenge', field: 'Fp', label: 'beta' },
    { op: 'challenge', field: 'Fq', label: 'gamma' },
    { op: 'squeeze_bytes', label: 'nonce', len: 48 },
    { op: 'scalar', field: 'Fq', label: 'y', value: '0x' + (Q - 1n).toString(16) },
    { op: 'scalar', field: 'Fp', label: 'z', value: '0x' + (P - 1n).toString(16) },
    { op: 'challenge', field: 'Fp', label: 'delta' },
  ]),
  run('', [
    { op: 'challenge', field: 'Fp', label: '' },
    { op: 'bytes', label: 'λ-unicode label', data: seq(1500, (i) => i * 7 + 3) },
    { op: 'point', label: 'W', data: seq(32, (i) => 255 - i) },
    { op: 'challenge', field: 'Fp', label: 'x' },
    { op: 'bytes', label: 'big', data: seq(5000, (i) => (i * i) ^ (i >> 3)) },
    { op: 'challenge', field: 'Fq', label: 'y' },
    { op: 'squeeze_bytes', label: 'long', len: 200 },
  ]),
];
console.log(JSON.stringify({ version: 'zklora-transcript-v1', transcripts: vectors }, null, 1));

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, mkdtempSync, rmSync, readdirSync as ls, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, FileAccessError } from '../src/io/errors.js';
import { parseSafetensors, serializeSafetensors, checkFinite, checkAllFinite, type TensorInput } from '../src/io/safetensors.js';
import { parseNpy, parseNpyF32, serializeNpy } from '../src/io/npy.js';
import { floatToHalf, halfToFloat } from '../src/io/util.js';
import {
  readFileBytes,
  writeFileAtomic,
  loadSafetensorsFile,
  saveSafetensorsFile,
  loadNpyFile,
  saveNpyFile,
} from '../src/io/fs.js';
import { paramSpecs, type CellType, type ModelConfig } from '../src/nn/config.js';
import { mulberry32 } from '../src/util/rng.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Assert that fn throws a FormatError whose message contains every needle (case-sensitive). */
function throwsFormat(fn: () => unknown, ...needles: (string | RegExp)[]): FormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected a FormatError containing ${needles.join(' / ')}, nothing was thrown`);
  assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
  for (const n of needles) {
    if (typeof n === 'string') assert.ok(err.message.includes(n), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(n)}`);
    else assert.match(err.message, n);
  }
  return err;
}

/** Build a safetensors file from a raw header string (not padded) and data bytes. */
function raw(header: string | object, data: Uint8Array | number = 0, hlenOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, hlenOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}


function sampleTensors(): Record<string, TensorInput> {
  return {
    'rnn.weight_ih_l0': { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, -2, 3.5, 0, 1e-30, -1e30]) },
    half: { dtype: 'F16', shape: [4], data: [0.5, -2, 65504, 2 ** -24] },
    brain: { dtype: 'BF16', shape: [2], data: [1, -3.5] },
    dbl: { dtype: 'F64', shape: [2], data: new Float64Array([0.1, -1e-3]) },
    ids: { dtype: 'I64', shape: [3], data: [0, -5, 2147483647] },
    i32: { dtype: 'I32', shape: [2, 1], data: new Int32Array([-2147483648, 7]) },
    'rnn.weight_ih_l0_mask': { dtype: 'U8', shape: [3, 2], data: new Uint8Array([1, 0, 1, 1, 0, 0]) },
    flags: { dtype: 'BOOL', shape: [3], data: [1, 0, 1] },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
  };
}

describe('safetensors', () => {
  test('round trip of every dtype, with metadata', () => {
    const src = sampleTensors();
    const bytes = serializeSafetensors(src, { format: 'pt', cell: 'gru', 'ünïcode': 'ok "quoted"' });
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(hlen % 8, 0, 'header padded to 8 bytes');
    const { tensors, metadata } = parseSafetensors(bytes, 'rt.safetensors');
    assert.deepEqual(metadata, { format: 'pt', cell: 'gru', 'ünïcode': 'ok "quoted"' });
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(src).sort());
    for (const [name, t] of Object.entries(src)) {
      const got = tensors.get(name)!;
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, [...t.shape], name);
      const want = Array.from(t.data as ArrayLike<number>, (v) => (t.dtype === 'F32' || t.dtype === 'F64' ? Math.fround(v) : v));
      assert.deepEqual(Array.from(got.data), want, name);
    }
    assert.ok(tensors.get('half')!.data instanceof Float32Array);
    assert.ok(tensors.get('ids')!.data instanceof Int32Array);
    assert.ok(tensors.get('flags')!.data instanceof Uint8Array);
    // Every tensor is aligned to its element size, so F32/I32 are zero-copy views.
    assert.equal(tensors.get('rnn.weight_ih_l0')!.data.buffer, bytes.buffer);
    assert.equal(tensors.get('i32')!.data.buffer, bytes.buffer);
    // Parsed tensors serialize back to identical bytes (except F64, which was decoded to float32).
    const noF64 = serializeSafetensors({ ...src, dbl: { dtype: 'F64', shape: [2], data: [0.5, -1] } }, metadata);
    const back = parseSafetensors(noF64).tensors;
    assert.deepEqual(serializeSafetensors(back, metadata), noF64);
  });

  test('unaligned input buffers are copied, not misread', () => {
    const bytes = serializeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const t = parseSafetensors(shifted.subarray(1)).tensors.get('a')!;
    assert.deepEqual(Array.from(t.data), [1, 2, 3]);
    assert.notEqual(t.data.buffer, shifted.buffer);
  });

  test('F16 encoding rounds to nearest even and handles subnormals and overflow', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      if (Number.isNaN(v)) assert.ok(Number.isNaN(halfToFloat(floatToHalf(v))));
      else assert.equal(floatToHalf(v), h, `half 0x${h.toString(16)}`);
    }
    assert.equal(floatToHalf(1e6), 0x7c00);
    assert.equal(floatToHalf(-1e6), 0xfc00);
    assert.equal(floatToHalf(2 ** -26), 0);
    assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // tie to even
    assert.equal(halfToFloat(floatToHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  });

  test('names that are special in JS objects are ordinary tensor names', () => {
    const bytes = serializeSafetensors(
      new Map<string, TensorInput>([
        ['__proto__', { dtype: 'F32', shape: [1], data: [1] }],
        ['0', { dtype: 'F32', shape: [1], data: [2] }],
        ['constructor', { dtype: 'F32', shape: [1], data: [3] }],
      ]),
    );
    const { tensors } = parseSafetensors(bytes);
    assert.deepEqual([...tensors.keys()], ['__proto__', '0', 'constructor']);
    assert.deepEqual(Array.from(tensors.get('__proto__')!.data), [1]);
  });

  test('truncated files and forged header lengths', () => {
    throwsFormat(() => parseSafetensors(new Uint8Array(5), 'a.st'), 'a.st', 'truncated', 'at least 8');
    throwsFormat(() => parseSafetensors(raw('{}', 0, 1000n), 'a.st'), 'a.st', 'header length', 'truncated', '1000');
    throwsFormat(() => parseSafetensors(raw('{}', 0, 2n ** 62n), 'a.st'), 'absurd');
    throwsFormat(() => parseSafetensors(raw('{}', 0, 200n * 1024n * 1024n), 'a.st'), 'absurd');
    throwsFormat(() => parseSafetensors(raw('', 0), 'a.st'), 'header', "starting with '{'");
    const good = serializeSafetensors({ w: { dtype: 'F32', shape: [4], data: [1, 2, 3, 4] } });
    throwsFormat(() => parseSafetensors(good.subarray(0, good.length - 3), 'cut.st'), 'cut.st', 'w', 'truncated', 'past the end');
  });

  test('invalid or non-object JSON header', () => {
    throwsFormat(() => parseSafetensors(raw('{"a": '), 'j.st'), 'j.st', 'header', 'invalid JSON');
    throwsFormat(() => parseSafetensors(raw('{"a":1,}'), 'j.st'), 'invalid JSON');
    throwsFormat(() => parseSafetensors(raw('{} x'), 'j.st'), 'invalid JSON', 'after the JSON value');
    throwsFormat(() => parseSafetensors(raw('[1, 2]'), 'j.st'), 'header', "starting with '{'");
    throwsFormat(() => parseSafetensors(raw(' {}'), 'j.st'), "starting with '{'");
    throwsFormat(() => parseSafetensors(raw('{"a":' + '['.repeat(100000)), 'deep.st'), 'nesting');
    const bad = raw('{"a":"xx"}');
    bad[14] = 0xff; // invalid UTF-8 inside the string
    throwsFormat(() => parseSafetensors(bad, 'u.st'), 'UTF-8');
    // trailing spaces (the padding) are fine
    assert.equal(parseSafetensors(raw('{}      ')).tensors.size, 0);
  });

  test('entries: dtype, shape, data_offsets, keys', () => {
    const e = (v: unknown, data: number | Uint8Array = 0): Uint8Array => raw({ t: v }, data);
    throwsFormat(() => parseSafetensors(e({ dtype: 'Q8', shape: [1], data_offsets: [0, 1] }, 1), 'd.st'), 'd.st', 't', 'unknown dtype "Q8"', 'F32');
    throwsFormat(() => parseSafetensors(e({ dtype: 'I16', shape: [1], data_offsets: [0, 2] }, 2)), 'unsupported dtype "I16"');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [-1], data_offsets: [0, 0] })), 't', 'shape[0]', 'non-negative integer', '-1');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [1.5], data_offsets: [0, 0] })), 'shape[0]', '1.5');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: ['2'], data_offsets: [0, 0] })), 'shape[0]');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: 4, data_offsets: [0, 16] }, 16)), 'expected an array');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2 ** 40], data_offsets: [0, 0] })), 'absurdly large');
    throwsFormat(
      () => parseSafetensors(e({ dtype: 'F32', shape: [2 ** 31, 2 ** 31, 2 ** 31], data_offsets: [0, 0] })),
      'overflows',
    );
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: new Array(100).fill(1), data_offsets: [0, 4] }, 4)), 'rank');
    throwsFormat(
      () => parseSafetensors(e({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] }, 20), 'm.st'),
      'm.st',
      't',
      'needs 24 bytes',
      'span 20',
    );
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2], data_offsets: [0, 8] }, 4)), 'past the end');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }, 8)), 'end is before begin');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2], data_offsets: [0] }, 8)), 'data_offsets', '[begin, end]');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2], data_offsets: [0, 1e300] }, 8)), 'data_offsets');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2] }, 8)), 'missing "data_offsets"');
    throwsFormat(() => parseSafetensors(e({ dtype: 'F32', shape: [2], data_offsets: [0, 8], extra: 1 }, 8)), 'unexpected key "extra"');
    throwsFormat(() => parseSafetensors(e([1, 2])), 't', 'expected an object');
    throwsFormat(() => parseSafetensors(raw({ '': { dtype: 'F32', shape: [], data_offsets: [0, 4] } }, 4)), 'empty tensor name');
  });

  test('holes, overlaps, trailing bytes, duplicates', () => {
    const t = (b: number, e: number, n = (e - b) / 4) => ({ dtype: 'F32', shape: [n], data_offsets: [b, e] });
    throwsFormat(() => parseSafetensors(raw({ a: t(0, 8), b: t(4, 12) }, 12), 'o.st'), 'o.st', 'b', 'overlap', '"a"');
    throwsFormat(() => parseSafetensors(raw({ a: t(0, 8), b: t(12, 16) }, 16), 'h.st'), 'b', 'hole', 'bytes 8..12');
    throwsFormat(() => parseSafetensors(raw({ a: t(4, 8) }, 8)), 'hole', 'bytes 0..4');
    throwsFormat(() => parseSafetensors(raw({ a: t(0, 8) }, 12), 'x.st'), 'x.st', '4 bytes after the last tensor');
    throwsFormat(
      () => parseSafetensors(raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), 'dup.st'),
      'dup.st',
      'duplicate key "a"',
    );
    // zero-size tensors may sit anywhere on a boundary
    const ok = parseSafetensors(raw({ a: t(0, 8), z: t(8, 8), y: t(0, 0), b: t(8, 12) }, 12));
    assert.deepEqual([...ok.tensors.keys()], ['a', 'z', 'y', 'b']);
  });

  test('__metadata__ must be a string map', () => {
    throwsFormat(() => parseSafetensors(raw({ __metadata__: { n: 2 } }), 'md.st'), 'md.st', '__metadata__', '"n"', 'expected a string');
    throwsFormat(() => parseSafetensors(raw({ __metadata__: null })), '__metadata__');
    assert.deepEqual(parseSafetensors(raw({ __metadata__: {} })).metadata, {});
  });

  test('value checks: I64 range, F64 to F32 overflow, BOOL bytes', () => {
    const i64 = new Uint8Array(16);
    new DataView(i64.buffer).setBigInt64(8, 2n ** 31n, true);
    throwsFormat(() => parseSafetensors(raw({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, i64), 'i.st'), 'i.st', 'ids', '2147483648', 'index 1', 'int32');
    const f64 = new Uint8Array(8);
    new DataView(f64.buffer).setFloat64(0, 1e300, true);
    throwsFormat(() => parseSafetensors(raw({ d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, f64)), 'd', '1e+300', 'float32');
    throwsFormat(() => parseSafetensors(raw({ b: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, new Uint8Array([1, 2]))), 'b', 'index 1', '0 or 1');
  });

  test('checkFinite names the tensor and the first bad index', () => {
    const bytes = serializeSafetensors({
      ok: { dtype: 'F32', shape: [2], data: [1, 2] },
      w: { dtype: 'F32', shape: [2, 3], data: [0, 1, 2, 3, Infinity, NaN] },
    });
    const p = parseSafetensors(bytes, 'nan.st');
    throwsFormat(() => checkAllFinite(p.tensors, 'nan.st'), 'nan.st', 'w', 'Infinity', 'index 4', '[1, 1]');
    throwsFormat(() => checkFinite('v', new Float32Array([0, NaN]), 'f'), 'f: v', 'NaN', 'index 1');
    checkFinite('ints', new Int32Array([1, 2]));
    throwsFormat(() => parseSafetensors(bytes, 'nan.st', { requireFinite: true }), 'w', 'index 4');
  });

  test('serialize rejects what it cannot write', () => {
    throwsFormat(() => serializeSafetensors({ a: { dtype: 'F32', shape: [3], data: [1, 2] } }), 'a', '3 elements', 'has 2');
    throwsFormat(() => serializeSafetensors({ a: { dtype: 'I32', shape: [1], data: [1.5] } }), 'a', 'integer');
    throwsFormat(() => serializeSafetensors({ a: { dtype: 'U8', shape: [1], data: [256] } }), 'a', '[0, 255]');
    throwsFormat(() => serializeSafetensors({ __metadata__: { dtype: 'U8', shape: [1], data: [1] } }), 'reserved');
    throwsFormat(() => serializeSafetensors({ a: { dtype: 'X' as 'F32', shape: [1], data: [1] } }), 'unknown dtype');
  });

  test('seeded fuzz: mutated files parse or throw FormatError, quickly', { timeout: 20_000 }, () => {
    const bases = [
      serializeSafetensors(sampleTensors(), { k: 'v' }),
      new Uint8Array(readFileSync(join(FIXTURES, 'gru_l1.safetensors'))),
      serializeSafetensors({ a: { dtype: 'F32', shape: [0], data: [] }, b: { dtype: 'I64', shape: [], data: [3] } }),
    ];
    const rnd = mulberry32(12345);
    const pick = (n: number) => Math.floor(rnd() * n);
    const interesting = [0x00, 0xff, 0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x2c, 0x3a, 0x2d, 0x30, 0x31, 0x39, 0x65, 0x20, 0x80];
    const t0 = process.cpuUsage(); // CPU time for the log line (not asserted: no timing in pass/fail tests)
    let parsed = 0;
    const N = 2000;
    for (let c = 0; c < N; c++) {
      const base = bases[c % bases.length]!;
      let b = base.slice();
      const hlen = Number(new DataView(b.buffer).getBigUint64(0, true));
      const steps = 1 + pick(3);
      const log: string[] = [];
      for (let s = 0; s < steps; s++) {
        // Mostly hit the length and the header, where the parser does its work.
        const pos = rnd() < 0.65 ? pick(Math.min(b.length, 8 + hlen)) : pick(b.length);
        const op = pick(4);
        if (op === 0) {
          b[pos] = b[pos]! ^ (1 << pick(8));
          log.push(`flip@${pos}`);
        } else if (op === 1) {
          b[pos] = rnd() < 0.5 ? interesting[pick(interesting.length)]! : pick(256);
          log.push(`set@${pos}`);
        } else if (op === 2) {
          b = b.slice(0, pick(b.length + 1));
          log.push(`trunc@${b.length}`);
        } else {
          const ins = new Uint8Array(b.length + 1);
          ins.set(b.subarray(0, pos));
          ins[pos] = interesting[pick(interesting.length)]!;
          ins.set(b.subarray(pos), pos + 1);
          b = ins;
          log.push(`insert@${pos}`);
        }
      }
      try {
        const r = parseSafetensors(b, 'fuzz');
        parsed++;
        for (const [name, t] of r.tensors) {
          const n = t.shape.reduce((x, y) => x * y, 1);
          assert.equal(t.data.length, n, `case ${c} (${log.join(' ')}): ${name} length`);
        }
      } catch (e) {
        if (!(e instanceof FormatError)) assert.fail(`case ${c} (${log.join(' ')}): ${String(e)}`);
      }
    }
    const used = process.cpuUsage(t0);
    const ms = Math.round((used.user + used.system) / 1000);
    assert.ok(parsed > 50 && parsed < N - 200, `a mix of accepted and rejected inputs (${parsed} parsed)`);
    console.log(`safetensors fuzz: ${N} cases, ${parsed} parsed, ${ms} ms CPU`);
  });
});

describe('npy', () => {
  const npyDir = join(FIXTURES, 'npy');
  const readme = JSON.parse(readFileSync(join(npyDir, 'README.json'), 'utf8')) as {
    files: Record<string, { dtype: string; shape: number[]; values: number[] | boolean[] | null }>;
  };

  test('reads every file numpy wrote (v1.0, v2.0, v3.0; all supported dtypes)', () => {
    for (const [name, want] of Object.entries(readme.files)) {
      const bytes = new Uint8Array(readFileSync(join(npyDir, name)));
      if (name.startsWith('bad_')) continue;
      const a = parseNpy(bytes, name);
      assert.equal(a.dtype, want.dtype, name);
      assert.deepEqual(a.shape, want.shape, name);
      const values = want.values!.map((v) => (typeof v === 'boolean' ? Number(v) : v));
      const got = Array.from(a.data as ArrayLike<number>);
      if (a.dtype === '<f4' || a.dtype === '<f2') assert.deepEqual(got, values.map(Math.fround), name);
      else assert.deepEqual(got, values, name);
    }
  });

  test('rejects big-endian and Fortran-order files with a clear message', () => {
    throwsFormat(() => parseNpy(new Uint8Array(readFileSync(join(npyDir, 'bad_big_endian.npy'))), 'be.npy'), 'be.npy', 'descr', 'big-endian', "'>f4'");
    throwsFormat(() => parseNpy(new Uint8Array(readFileSync(join(npyDir, 'bad_fortran.npy'))), 'fo.npy'), 'fo.npy', 'fortran_order', 'not supported');
  });

  test('serializeNpy writes exactly what numpy writes', () => {
    const want = new Uint8Array(readFileSync(join(npyDir, 'f4_2x3.npy')));
    const got = serializeNpy(new Float32Array([-1, -0.5, 0, 0.5, 1, 1.5]), [2, 3]);
    assert.deepEqual(got, want);
    const want2 = new Uint8Array(readFileSync(join(npyDir, 'i4_2x2.npy')));
    assert.deepEqual(serializeNpy(new Int32Array([1, -2, 2147483647, -2147483648]), [2, 2]), want2);
    const want3 = new Uint8Array(readFileSync(join(npyDir, 'f4_scalar.npy')));
    assert.deepEqual(serializeNpy(new Float32Array([2.5]), []), want3);
  });

  test('round trips and parseNpyF32', () => {
    for (const shape of [[], [0], [5], [2, 3, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const f = Float32Array.from({ length: n }, (_, i) => i * 0.25 - 1);
      const bytes = serializeNpy(f, shape);
      assert.equal((bytes[8]! | (bytes[9]! << 8)) + 10, bytes.length - f.byteLength);
      assert.equal((bytes.length - f.byteLength) % 64, 0);
      const a = parseNpy(bytes);
      assert.equal(a.dtype, '<f4');
      assert.deepEqual(a.shape, shape);
      assert.deepEqual(Array.from(a.data), Array.from(f));
      const i = Int32Array.from({ length: n }, (_, k) => k - 3);
      assert.deepEqual(Array.from(parseNpy(serializeNpy(i, shape)).data), Array.from(i));
    }
    const f8 = parseNpyF32(new Uint8Array(readFileSync(join(npyDir, 'f8_4.npy'))));
    assert.ok(f8.data instanceof Float32Array);
    assert.deepEqual(Array.from(f8.data), [1.5, -2.25, 1e-3, 3e38].map(Math.fround));
    throwsFormat(() => parseNpyF32(new Uint8Array(readFileSync(join(npyDir, 'i4_2x2.npy'))), 'i.npy'), 'i.npy', 'expected a float array', "'<i4'");
    throwsFormat(() => serializeNpy(new Float32Array(3), [2, 2]), '4 elements', 'has 3');
  });

  test('malformed headers and data', () => {
    const mk = (dict: string, data: number | Uint8Array = 0, major = 1): Uint8Array => {
      const h = new TextEncoder().encode(dict);
      const pre = major === 1 ? 10 : 12;
      const d = typeof data === 'number' ? new Uint8Array(data) : data;
      const out = new Uint8Array(pre + h.length + d.length);
      out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
      if (major === 1) new DataView(out.buffer).setUint16(8, h.length, true);
      else new DataView(out.buffer).setUint32(8, h.length, true);
      out.set(h, pre);
      out.set(d, pre + h.length);
      return out;
    };
    const dict = (descr: string, shape: string, fo = 'False') => `{'descr': '${descr}', 'fortran_order': ${fo}, 'shape': ${shape}, }\n`;
    assert.deepEqual(parseNpy(mk(dict('<f4', '(2,)'), 8)).shape, [2]);
    throwsFormat(() => parseNpy(new Uint8Array(4), 'x.npy'), 'x.npy', 'truncated');
    throwsFormat(() => parseNpy(new TextEncoder().encode('PK\x03\x04 not an npy file'), 'z.npy'), 'z.npy', 'not a .npy file');
    const v9 = mk(dict('<f4', '(2,)'), 8);
    v9[6] = 9;
    throwsFormat(() => parseNpy(v9), 'version 9.0');
    const longHdr = mk(dict('<f4', '(2,)'), 0, 2);
    new DataView(longHdr.buffer).setUint32(8, 0xfffffff0, true);
    throwsFormat(() => parseNpy(longHdr, 'l.npy'), 'l.npy', 'header length', 'absurd');
    const past = mk(dict('<f4', '(2,)'), 0, 1);
    new DataView(past.buffer).setUint16(8, 5000, true);
    throwsFormat(() => parseNpy(past), 'header length', 'truncated', '5000');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(2, 3)'), 20), 'd.npy'), 'd.npy', 'data', 'truncated', 'needs 24 bytes', 'found 20');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(2,)'), 12)), '4 unexpected bytes');
    throwsFormat(() => parseNpy(mk(dict('<c8', '(2,)'), 16)), 'descr', "unsupported dtype '<c8'");
    throwsFormat(() => parseNpy(mk(dict('|O', '(2,)'), 16)), 'unsupported dtype');
    throwsFormat(() => parseNpy(mk(dict('|f4', '(2,)'), 8)), 'byte order');
    throwsFormat(() => parseNpy(mk(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }`, 8)), 'structured');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(-2,)'), 8)), 'shape[0]', 'non-negative');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(2)'), 8)), 'shape', 'tuple');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(99999999999999999,)'), 8)), 'too large');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(4294967295, 4294967295, 4294967295)'), 8)), 'overflows');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(2,)', 'Maybe'), 8)), 'invalid header dict');
    throwsFormat(() => parseNpy(mk(dict('<f4', '(2,)', '1'), 8)), 'fortran_order', 'True or False');
    throwsFormat(() => parseNpy(mk(`{'descr': '<f4', 'shape': (2,)}`, 8)), "missing key 'fortran_order'");
    throwsFormat(() => parseNpy(mk(`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}`, 8)), 'duplicate');
    throwsFormat(() => parseNpy(mk(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}`, 8)), "unexpected key \"x\"");
    throwsFormat(() => parseNpy(mk(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,)`, 8)), 'invalid header dict');
    throwsFormat(() => parseNpy(mk(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(500)}`, 8)), 'too deep');
    const i8 = new Uint8Array(16);
    new DataView(i8.buffer).setBigInt64(8, -(2n ** 40n), true);
    throwsFormat(() => parseNpy(mk(dict('<i8', '(2,)'), i8), 'i8.npy'), 'i8.npy', 'index 1', 'int32 range');
    throwsFormat(() => parseNpy(mk(dict('|b1', '(2,)'), new Uint8Array([0, 7]))), 'index 1', '0 or 1');
    const f8 = new Uint8Array(8);
    new DataView(f8.buffer).setFloat64(0, -1e200, true);
    throwsFormat(() => parseNpyF32(mk(dict('<f8', '(1,)'), f8)), '-1e+200', 'float32');
    // v3.0 headers are UTF-8 and must decode
    const v3 = mk(dict('<f4', '(1,)'), 4, 3);
    v3[13] = 0xc3;
    throwsFormat(() => parseNpy(v3), 'UTF-8');
  });

  test('seeded fuzz: mutated files parse or throw FormatError, quickly', { timeout: 20_000 }, () => {
    const bases = [
      serializeNpy(Float32Array.from({ length: 120 }, (_, i) => i), [3, 40]),
      serializeNpy(Int32Array.from({ length: 60 }, (_, i) => i), [60]),
      ...['f8_4.npy', 'i8_3.npy', 'b1_4.npy', 'f2_3.npy', 'f4_2x3_v2.npy', 'f4_2x3_v3.npy'].map(
        (f) => new Uint8Array(readFileSync(join(npyDir, f))),
      ),
    ];
    const rnd = mulberry32(777);
    const pick = (n: number) => Math.floor(rnd() * n);
    const interesting = [0x00, 0xff, 0x27, 0x28, 0x29, 0x2c, 0x3a, 0x7b, 0x7d, 0x30, 0x39, 0x2d, 0x3c, 0x3e, 0x20, 0x0a, 0x4c];
    const t0 = process.cpuUsage(); // CPU time for the log line (not asserted: no timing in pass/fail tests)
    let parsed = 0;
    const N = 2000;
    for (let c = 0; c < N; c++) {
      let b = bases[c % bases.length]!.slice();
      const log: string[] = [];
      for (let s = 1 + pick(3); s > 0; s--) {
        const pos = rnd() < 0.5 ? pick(Math.min(b.length, 80)) : pick(b.length);
        const op = pick(4);
        if (op === 0) b[pos] = b[pos]! ^ (1 << pick(8));
        else if (op === 1) b[pos] = rnd() < 0.6 ? interesting[pick(interesting.length)]! : pick(256);
        else if (op === 2) b = b.slice(0, pick(b.length + 1));
        else {
          const ins = new Uint8Array(b.length + 1);
          ins.set(b.subarray(0, pos));
          ins[pos] = interesting[pick(interesting.length)]!;
          ins.set(b.subarray(pos), pos + 1);
          b = ins;
        }
        log.push(`${op}@${pos}`);
      }
      try {
        const a = parseNpy(b, 'fuzz.npy');
        parsed++;
        assert.equal(a.data.length, a.shape.reduce((x, y) => x * y, 1), `case ${c} (${log.join(' ')})`);
      } catch (e) {
        if (!(e instanceof FormatError)) assert.fail(`case ${c} (${log.join(' ')}): ${String(e)}`);
      }
    }
    const used = process.cpuUsage(t0);
    const ms = Math.round((used.user + used.system) / 1000);
    assert.ok(parsed > 50 && parsed < N - 200, `a mix of accepted and rejected inputs (${parsed} parsed)`);
    console.log(`npy fuzz: ${N} cases, ${parsed} parsed, ${ms} ms CPU`);
  });
});

describe('fs helpers', () => {
  test('atomic write, load/save, clear errors for missing files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'srnn-io-'));
    try {
      const p = join(dir, 'm.safetensors');
      await saveSafetensorsFile(p, { w: { dtype: 'F32', shape: [2], data: [1, 2] } }, { a: 'b' });
      const r = await loadSafetensorsFile(p);
      assert.deepEqual(Array.from(r.tensors.get('w')!.data), [1, 2]);
      assert.deepEqual(r.metadata, { a: 'b' });
      await saveSafetensorsFile(p, { w: { dtype: 'F32', shape: [1], data: [3] } });
      assert.deepEqual(Array.from((await loadSafetensorsFile(p)).tensors.get('w')!.data), [3]);
      const q = join(dir, 'a.npy');
      await saveNpyFile(q, new Int32Array([4, 5, 6]), [3]);
      assert.deepEqual(Array.from((await loadNpyFile(q)).data), [4, 5, 6]);
      assert.deepEqual(ls(dir).sort(), ['a.npy', 'm.safetensors'], 'no temporary files left');

      await assert.rejects(readFileBytes(join(dir, 'nope.bin')), (e: unknown) => {
        assert.ok(e instanceof FileAccessError);
        assert.equal(e.code, 'ENOENT');
        assert.ok(e.message.includes(join(dir, 'nope.bin')) && e.message.includes('no such file'), e.message);
        return true;
      });
      await assert.rejects(readFileBytes(dir), (e: unknown) => e instanceof FileAccessError && e.message.includes(dir));
      await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'x'), new Uint8Array(1)), (e: unknown) => {
        return e instanceof FileAccessError && e.message.includes('missing-dir');
      });
      const bad = join(dir, 'bad.safetensors');
      writeFileSync(bad, new Uint8Array([1, 2, 3]));
      await assert.rejects(loadSafetensorsFile(bad), (e: unknown) => e instanceof FormatError && e.file === bad);
      if (process.getuid?.() !== 0) {
        chmodSync(bad, 0o000);
        await assert.rejects(readFileBytes(bad), (e: unknown) => e instanceof FileAccessError && e.message.includes('permission denied'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PyTorch fixtures', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.safetensors')).sort();

  test('all fixtures are present', () => {
    const want = ['ctc', 'xent', 'rnn_clipped_l1'];
    for (const c of ['gru', 'lstm', 'rnn_tanh', 'rnn_relu']) want.push(`${c}_l1`, `${c}_l2_bi`);
    for (const o of ['adam_clip', 'adam_wd', 'adam_masked', 'adam_eps', 'sgd', 'sgd_momentum', 'sgd_nesterov']) want.push(`optim_${o}`);
    assert.deepEqual(files, want.map((f) => `${f}.safetensors`).sort());
  });

  // The recurrent-layer fixtures (the optimizer ones are checked by test/optim.test.ts).
  for (const f of files.filter((f) => f !== 'ctc.safetensors' && f !== 'xent.safetensors' && !f.startsWith('optim_'))) {
    test(`${f}: names and shapes match paramSpecs, all fields present and finite`, () => {
      const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(join(FIXTURES, f))), f, { requireFinite: true });
      const cfg: ModelConfig = {
        cell: metadata.cell as CellType,
        inputSize: Number(metadata.inputSize),
        hiddenSize: Number(metadata.hiddenSize),
        numLayers: Number(metadata.numLayers),
        bidirectional: metadata.bidirectional === 'true',
        outputSize: 0,
      };
      const T = Number(metadata.seqLen);
      const B = Number(metadata.batch);
      const D = cfg.bidirectional ? 2 : 1;
      const LD = cfg.numLayers * D;
      const H = cfg.hiddenSize;
      const want = new Map<string, number[]>();
      for (const s of paramSpecs(cfg)) {
        want.set(s.name, s.shape);
        want.set(`grad.${s.name}`, s.shape);
      }
      const states = cfg.cell === 'lstm' ? ['h0', 'c0'] : ['h0'];
      want.set('x', [T, B, cfg.inputSize]).set('grad.x', [T, B, cfg.inputSize]);
      want.set('y', [T, B, D * H]).set('dy', [T, B, D * H]);
      for (const s of states) {
        want.set(s, [LD, B, H]).set(`grad.${s}`, [LD, B, H]).set(s.replace('0', 'n'), [LD, B, H]);
      }
      assert.deepEqual([...tensors.keys()].sort(), [...want.keys()].sort());
      for (const [name, shape] of want) {
        const t = tensors.get(name)!;
        assert.equal(t.dtype, 'F32', name);
        assert.deepEqual(t.shape, shape, name);
      }
      assert.ok(/^\d/.test(metadata.torch ?? ''), 'torch version recorded');
    });
  }

  test('ctc.safetensors and xent.safetensors', () => {
    const ctc = parseSafetensors(new Uint8Array(readFileSync(join(FIXTURES, 'ctc.safetensors'))), 'ctc', { requireFinite: true });
    const g = (n: string) => ctc.tensors.get(n)!;
    assert.deepEqual(g('logits').shape, [12, 3, 6]);
    assert.deepEqual(g('grad.logits').shape, [12, 3, 6]);
    assert.deepEqual(Array.from(g('target_lengths').data), [3, 5, 1]);
    assert.deepEqual(Array.from(g('input_lengths').data), [12, 10, 12]);
    assert.deepEqual(Array.from(g('targets').data.subarray(0, 3)), [2, 2, 3]);
    assert.equal(g('loss').data.length, 3);
    // The gradient w.r.t. logits sums to 0 over classes (softmax), and is 0 past each input length.
    const gl = g('grad.logits').data;
    for (let t = 10; t < 12; t++) for (let c = 0; c < 6; c++) assert.equal(gl[(t * 3 + 1) * 6 + c], 0);
    const xent = parseSafetensors(new Uint8Array(readFileSync(join(FIXTURES, 'xent.safetensors'))), 'xent', { requireFinite: true });
    assert.equal(xent.tensors.get('targets')!.dtype, 'I64');
    assert.ok(xent.tensors.get('targets')!.data instanceof Int32Array);
    assert.deepEqual(xent.tensors.get('logits')!.shape, [10, 7]);
    assert.deepEqual(xent.tensors.get('loss')!.shape, []);
  });
});

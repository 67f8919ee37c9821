// Helpers shared by the format parsers. Browser-safe: no Node APIs.

import { FormatError } from './errors.js';

/** True on every platform we know of; the parsers fall back to DataView copies otherwise. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Largest header we accept (safetensors JSON, .npy dict): anything bigger is a forged length. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Largest rank and single dimension we accept in a shape. */
export const MAX_RANK = 64;
export const MAX_DIM = 2 ** 32 - 1;

/** Short, bounded description of a value for error messages. */
export function describe(v: unknown): string {
  let s: string;
  if (v === undefined) return 'nothing';
  if (v instanceof Map) s = `{${[...v.keys()].slice(0, 5).map((k) => JSON.stringify(k)).join(', ')}${v.size > 5 ? ', ...' : ''}}`;
  else if (Array.isArray(v)) {
    s = JSON.stringify(v, (_k, x) => (x instanceof Map ? '{...}' : x));
  } else s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/**
 * Check a shape read from a file: integers in [0, MAX_DIM], rank <= MAX_RANK, element count a safe
 * integer. Returns the element count.
 */
export function checkShape(shape: unknown, file: string, field: string): number {
  if (!Array.isArray(shape)) throw new FormatError(file, field, `shape: expected an array of integers, found ${describe(shape)}`);
  if (shape.length > MAX_RANK) throw new FormatError(file, field, `shape: rank ${shape.length} is more than ${MAX_RANK}`);
  let n = 1;
  let zero = false;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new FormatError(file, field, `shape[${i}]: expected a non-negative integer, found ${describe(d)}`);
    if (d > MAX_DIM) throw new FormatError(file, field, `shape[${i}] = ${d} is absurdly large (> ${MAX_DIM})`);
    if (d === 0) zero = true;
  }
  if (zero) return 0;
  for (let i = 0; i < shape.length; i++) {
    n *= shape[i] as number;
    if (n > Number.MAX_SAFE_INTEGER)
      throw new FormatError(file, field, `shape ${describe(shape)}: element count overflows (> 2^53)`);
  }
  return n;
}

/** Decode one IEEE 754 binary16 value. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Encode a number as IEEE 754 binary16, round to nearest even; overflow gives ±Infinity. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h; // a carry into the exponent is the correct rounding (up to Infinity)
}

/** Decode bfloat16 bits (the high half of a float32). */
export function bf16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** Encode as bfloat16 bits, round to nearest even (NaN stays NaN). */
export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function multiIndex(i: number, shape: readonly number[] | undefined): string {
  if (!shape || shape.length < 2) return '';
  const idx: number[] = new Array<number>(shape.length);
  let r = i;
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    idx[k] = d > 0 ? r % d : 0;
    r = d > 0 ? Math.floor(r / d) : 0;
  }
  return ` [${idx.join(', ')}]`;
}

/**
 * Throw a FormatError naming the tensor and the first NaN/±Infinity (flat index, and the
 * multi-index when a shape is given). Integer arrays always pass.
 */
export function checkFinite(
  name: string,
  data: ArrayLike<number>,
  file = '<bytes>',
  shape?: readonly number[],
): void {
  if (!(data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data))) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      throw new FormatError(file, name, `expected finite values, found ${v} at index ${i}${multiIndex(i, shape)}`);
    }
  }
}

/** checkFinite on every float tensor of a parsed file. */
export function checkAllFinite(
  tensors: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>,
  file = '<bytes>',
): void {
  for (const [name, t] of tensors) checkFinite(name, t.data, file, t.shape);
}

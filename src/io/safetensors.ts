// safetensors reader and writer (https://github.com/huggingface/safetensors, format section).
// Browser-safe: bytes in, bytes out.
//
// Layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON starting with '{' (may be padded
// with trailing spaces), then the byte buffer. The header maps tensor names to
// {dtype, shape, data_offsets: [begin, end]} (offsets relative to the byte buffer), plus an optional
// "__metadata__" string->string map. Tensors must cover the byte buffer exactly: no holes, no
// overlaps. Data is little-endian, row-major.

import { FormatError } from './errors.js';
import { parseStrictJson, type Json } from './json.js';
import {
  LITTLE_ENDIAN,
  MAX_HEADER_BYTES,
  bf16ToFloat,
  checkAllFinite,
  checkFinite,
  checkShape,
  describe,
  floatToBf16,
  floatToHalf,
  halfToFloat,
} from './util.js';

export { checkFinite, checkAllFinite };

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL'];

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1,
};

/** Floats (F64/F32/F16/BF16) decode to Float32Array, I64/I32 to Int32Array, U8/BOOL to Uint8Array. */
export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface Tensor {
  /** The dtype stored in the file (data is decoded: see TensorData). */
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

export interface ParsedSafetensors {
  /** In header order. */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export interface ParseOptions {
  /** Also reject NaN / ±Infinity in float tensors (see checkFinite). Default false. */
  requireFinite?: boolean;
}

const KNOWN_OTHER = ['I8', 'I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

/**
 * Parse a safetensors file. F32 / I32 / U8 / BOOL data are zero-copy views into `bytes` when the
 * offset is aligned (they share its memory); other data are fresh arrays. Throws FormatError.
 */
export function parseSafetensors(bytes: Uint8Array, file = '<bytes>', opts: ParseOptions = {}): ParsedSafetensors {
  if (!(bytes instanceof Uint8Array)) throw new FormatError(file, '', `expected a Uint8Array, found ${describe(bytes)}`);
  const total = bytes.length;
  if (total < 8) throw new FormatError(file, 'header length', `truncated: the file is ${total} bytes, expected at least 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const hlen = hi * 2 ** 32 + lo;
  if (hi !== 0 || hlen > MAX_HEADER_BYTES)
    throw new FormatError(file, 'header length', `${hlen} is absurd (more than ${MAX_HEADER_BYTES} bytes): not a safetensors file, or corrupt`);
  if (8 + hlen > total)
    throw new FormatError(file, 'header length', `truncated: the header needs ${hlen} bytes but only ${total - 8} follow`);
  if (hlen < 2 || bytes[8] !== 0x7b)
    throw new FormatError(file, 'header', `expected JSON starting with '{', found ${hlen === 0 ? 'an empty header' : `byte 0x${bytes[8]!.toString(16)}`}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + hlen));
  } catch {
    throw new FormatError(file, 'header', 'not valid UTF-8');
  }
  const header = parseStrictJson(text, file, 'header');
  if (!(header instanceof Map)) throw new FormatError(file, 'header', `expected a JSON object, found ${describe(header)}`);

  const dataStart = 8 + hlen;
  const bufLen = total - dataStart;
  let metadata: Record<string, string> = {};
  interface Entry { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }
  const entries: Entry[] = [];
  for (const [name, v] of header) {
    if (name === '__metadata__') {
      metadata = parseMetadata(v, file);
      continue;
    }
    if (name === '') throw new FormatError(file, 'header', 'empty tensor name');
    entries.push(parseEntry(name, v, file, bufLen));
  }

  // Coverage: sorted by offsets, each tensor starts where the previous ended, the last ends at the end.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < pos)
      throw new FormatError(file, e.name, `data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(prev!.name)} (bytes up to ${pos})`);
    if (e.begin > pos)
      throw new FormatError(file, e.name, `hole in the byte buffer: bytes ${pos}..${e.begin} belong to no tensor (data_offsets [${e.begin}, ${e.end}])`);
    pos = e.end;
    prev = e;
  }
  if (pos !== bufLen)
    throw new FormatError(file, 'data', `${bufLen - pos} bytes after the last tensor (the byte buffer is ${bufLen} bytes, tensors cover ${pos})`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const n = (e.end - e.begin) / DTYPE_SIZE[e.dtype];
    const data = decode(e.dtype, bytes, dv, dataStart + e.begin, n, file, e.name);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  if (opts.requireFinite) checkAllFinite(tensors, file);
  return { tensors, metadata };
}

function parseMetadata(v: Json, file: string): Record<string, string> {
  if (!(v instanceof Map)) throw new FormatError(file, '__metadata__', `expected an object of strings, found ${describe(v)}`);
  const out: [string, string][] = [];
  for (const [k, s] of v) {
    if (typeof s !== 'string')
      throw new FormatError(file, '__metadata__', `value of ${JSON.stringify(k)}: expected a string, found ${describe(s)}`);
    out.push([k, s]);
  }
  return Object.fromEntries(out) as Record<string, string>;
}

function parseEntry(name: string, v: Json, file: string, bufLen: number) {
  if (!(v instanceof Map))
    throw new FormatError(file, name, `expected an object {dtype, shape, data_offsets}, found ${describe(v)}`);
  for (const k of v.keys())
    if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets')
      throw new FormatError(file, name, `unexpected key ${JSON.stringify(k)} (expected dtype, shape, data_offsets)`);
  for (const k of ['dtype', 'shape', 'data_offsets'])
    if (!v.has(k)) throw new FormatError(file, name, `missing ${JSON.stringify(k)}`);
  const dtype = v.get('dtype');
  if (typeof dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) {
    const what = typeof dtype === 'string' && KNOWN_OTHER.includes(dtype) ? 'unsupported' : 'unknown';
    throw new FormatError(file, name, `${what} dtype ${describe(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  const dt = dtype as SafetensorsDtype;
  const shape = v.get('shape');
  const count = checkShape(shape, file, name);
  const offs = v.get('data_offsets');
  if (
    !Array.isArray(offs) || offs.length !== 2 ||
    !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  )
    throw new FormatError(file, name, `data_offsets: expected [begin, end] with non-negative integers, found ${describe(offs)}`);
  const [begin, end] = offs as [number, number];
  if (end < begin) throw new FormatError(file, name, `data_offsets [${begin}, ${end}]: end is before begin`);
  const need = count * DTYPE_SIZE[dt];
  if (end - begin !== need)
    throw new FormatError(file, name, `shape ${describe(shape)} of ${dt} needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  if (end > bufLen)
    throw new FormatError(file, name, `truncated: data_offsets [${begin}, ${end}] run past the end of the byte buffer (${bufLen} bytes)`);
  return { name, dtype: dt, shape: (shape as number[]).slice(), begin, end };
}

function decode(dtype: SafetensorsDtype, bytes: Uint8Array, dv: DataView, off: number, n: number, file: string, name: string): TensorData {
  const abs = bytes.byteOffset + off;
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN && abs % 4 === 0) return new Float32Array(bytes.buffer, abs, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(off + 4 * i, true);
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN && abs % 4 === 0) return new Int32Array(bytes.buffer, abs, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(off + 4 * i, true);
      return out;
    }
    case 'U8':
      return bytes.subarray(off, off + n);
    case 'BOOL': {
      const v = bytes.subarray(off, off + n);
      for (let i = 0; i < n; i++)
        if (v[i]! > 1) throw new FormatError(file, name, `BOOL byte at index ${i} is ${v[i]}, expected 0 or 1`);
      return v;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(off + 2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bf16ToFloat(dv.getUint16(off + 2 * i, true));
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = dv.getFloat64(off + 8 * i, true);
        const y = Math.fround(x);
        if (y - y !== 0 && x - x === 0)
          throw new FormatError(file, name, `F64 value ${x} at index ${i} does not fit in float32`);
        out[i] = y;
      }
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(off + 8 * i, true);
        const hi = dv.getInt32(off + 8 * i + 4, true);
        if (hi !== lo >> 31)
          throw new FormatError(file, name, `I64 value ${dv.getBigInt64(off + 8 * i, true)} at index ${i} is outside the int32 range`);
        out[i] = lo;
      }
      return out;
    }
  }
}

/** What serializeSafetensors accepts for one tensor. Integer dtypes need integer values in range. */
export interface TensorInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array;
}

/**
 * Write a safetensors file. Tensors are laid out by element size (8-byte dtypes first), in the
 * given order within a size, so every tensor is aligned to its element size; the header is padded
 * with spaces to a multiple of 8 bytes. Throws FormatError on data that cannot be represented.
 */
export function serializeSafetensors(
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  metadata?: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const file = '<serializeSafetensors>';
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const seen = new Set<string>();
  const items = list.map(([name, t], order) => {
    if (name === '' || name === '__metadata__') throw new FormatError(file, name, 'reserved or empty tensor name');
    if (seen.has(name)) throw new FormatError(file, name, 'duplicate tensor name');
    seen.add(name);
    if (!(SAFETENSORS_DTYPES as readonly string[]).includes(t.dtype))
      throw new FormatError(file, name, `unknown dtype ${describe(t.dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`);
    const count = checkShape(Array.from(t.shape), file, name);
    if (t.data.length !== count)
      throw new FormatError(file, name, `shape ${describe(Array.from(t.shape))} has ${count} elements but data has ${t.data.length}`);
    return { name, t, order, size: count * DTYPE_SIZE[t.dtype] };
  });
  items.sort((a, b) => DTYPE_SIZE[b.t.dtype] - DTYPE_SIZE[a.t.dtype] || a.order - b.order);

  const parts: string[] = [];
  if (metadata !== undefined) {
    const m: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new FormatError(file, '__metadata__', `value of ${JSON.stringify(k)}: expected a string, found ${describe(v)}`);
      m.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    if (m.length) parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let off = 0;
  for (const it of items) {
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":"${it.t.dtype}","shape":[${Array.from(it.t.shape).join(',')}],"data_offsets":[${off},${off + it.size}]}`,
    );
    off += it.size;
  }
  let head = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(head.length / 8) * 8;
  const out = new Uint8Array(8 + padded + off);
  out.fill(0x20, 8 + head.length, 8 + padded);
  out.set(head, 8);
  head = new Uint8Array(0);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded % 2 ** 32, true);
  dv.setUint32(4, Math.floor(padded / 2 ** 32), true);
  let p = 8 + padded;
  for (const it of items) {
    encode(it.t, out, dv, p, file, it.name);
    p += it.size;
  }
  return out;
}

function encode(t: TensorInput, out: Uint8Array, dv: DataView, off: number, file: string, name: string): void {
  const d = t.data;
  const n = d.length;
  const num = (i: number): number => {
    const v = d[i];
    return typeof v === 'bigint' ? Number(v) : (v as number);
  };
  const int = (i: number, lo: number, hi: number): number => {
    const v = num(i);
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new FormatError(file, name, `${t.dtype} value at index ${i} must be an integer in [${lo}, ${hi}], found ${v}`);
    return v;
  };
  switch (t.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN && d instanceof Float32Array) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), off);
      else for (let i = 0; i < n; i++) dv.setFloat32(off + 4 * i, num(i), true);
      return;
    case 'F64':
      for (let i = 0; i < n; i++) dv.setFloat64(off + 8 * i, num(i), true);
      return;
    case 'F16':
      for (let i = 0; i < n; i++) dv.setUint16(off + 2 * i, floatToHalf(num(i)), true);
      return;
    case 'BF16':
      for (let i = 0; i < n; i++) dv.setUint16(off + 2 * i, floatToBf16(num(i)), true);
      return;
    case 'I32':
      if (LITTLE_ENDIAN && d instanceof Int32Array) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), off);
      else for (let i = 0; i < n; i++) dv.setInt32(off + 4 * i, int(i, -(2 ** 31), 2 ** 31 - 1), true);
      return;
    case 'I64':
      if (d instanceof BigInt64Array) for (let i = 0; i < n; i++) dv.setBigInt64(off + 8 * i, d[i]!, true);
      else for (let i = 0; i < n; i++) dv.setBigInt64(off + 8 * i, BigInt(int(i, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)), true);
      return;
    case 'U8':
      if (d instanceof Uint8Array) out.set(d, off);
      else for (let i = 0; i < n; i++) out[off + i] = int(i, 0, 255);
      return;
    case 'BOOL':
      for (let i = 0; i < n; i++) out[off + i] = int(i, 0, 1);
      return;
  }
}

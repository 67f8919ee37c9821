// NumPy .npy reader and writer (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
// Browser-safe: bytes in, bytes out.
//
// Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces
// and a newline (latin-1 in 1.0/2.0, UTF-8 in 3.0), then the raw data.

import { FormatError } from './errors.js';
import { LITTLE_ENDIAN, MAX_HEADER_BYTES, checkShape, describe, halfToFloat } from './util.js';

export type NpyDtype =
  | '<f2' | '<f4' | '<f8'
  | '|i1' | '<i2' | '<i4' | '<i8'
  | '|u1' | '<u2' | '<u4'
  | '|b1';

/** f2/f4 decode to Float32Array, f8 to Float64Array, i8 to Int32Array (range-checked), b1 to Uint8Array. */
export type NpyData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const KINDS: Record<string, { size: number; dtype: NpyDtype }> = {
  f2: { size: 2, dtype: '<f2' }, f4: { size: 4, dtype: '<f4' }, f8: { size: 8, dtype: '<f8' },
  i1: { size: 1, dtype: '|i1' }, i2: { size: 2, dtype: '<i2' }, i4: { size: 4, dtype: '<i4' }, i8: { size: 8, dtype: '<i8' },
  u1: { size: 1, dtype: '|u1' }, u2: { size: 2, dtype: '<u2' }, u4: { size: 4, dtype: '<u4' },
  b1: { size: 1, dtype: '|b1' },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parse a .npy file (format 1.0, 2.0 or 3.0; little-endian; C order). Aligned f4/i4/u1/... data
 * are zero-copy views into `bytes`. Throws FormatError.
 */
export function parseNpy(bytes: Uint8Array, file = '<bytes>'): NpyArray {
  if (!(bytes instanceof Uint8Array)) throw new FormatError(file, '', `expected a Uint8Array, found ${describe(bytes)}`);
  const total = bytes.length;
  if (total < 10) throw new FormatError(file, 'magic', `truncated: the file is ${total} bytes, a .npy file has at least 10`);
  for (let k = 0; k < 6; k++)
    if (bytes[k] !== MAGIC[k]) throw new FormatError(file, 'magic', `not a .npy file: expected the bytes \\x93NUMPY at the start`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0))
    throw new FormatError(file, 'version', `unsupported format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hstart: number;
  let hlen: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    hstart = 10;
  } else {
    if (total < 12) throw new FormatError(file, 'header length', `truncated: the file is ${total} bytes`);
    hlen = dv.getUint32(8, true);
    hstart = 12;
  }
  if (hlen > MAX_HEADER_BYTES)
    throw new FormatError(file, 'header length', `${hlen} is absurd (more than ${MAX_HEADER_BYTES} bytes)`);
  if (hstart + hlen > total)
    throw new FormatError(file, 'header length', `truncated: the header needs ${hlen} bytes but only ${total - hstart} follow`);
  const hbytes = bytes.subarray(hstart, hstart + hlen);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(hbytes);
    } catch {
      throw new FormatError(file, 'header', 'not valid UTF-8');
    }
  } else {
    let s = '';
    for (let k = 0; k < hbytes.length; k += 8192) s += String.fromCharCode(...hbytes.subarray(k, k + 8192));
    text = s;
  }
  const dict = parsePyDict(text, file);
  for (const k of dict.keys())
    if (k !== 'descr' && k !== 'fortran_order' && k !== 'shape')
      throw new FormatError(file, 'header', `unexpected key ${JSON.stringify(k)} (expected descr, fortran_order, shape)`);
  for (const k of ['descr', 'fortran_order', 'shape'])
    if (!dict.has(k)) throw new FormatError(file, 'header', `missing key '${k}'`);

  const descr = dict.get('descr');
  if (Array.isArray(descr) || (typeof descr === 'object' && descr !== null))
    throw new FormatError(file, 'descr', `structured dtypes are not supported (found ${describe(descr)})`);
  if (typeof descr !== 'string') throw new FormatError(file, 'descr', `expected a dtype string like '<f4', found ${describe(descr)}`);
  const kind = KINDS[descr.slice(1)];
  const order = descr[0];
  if (descr.length !== 3 || !kind || !(order === '<' || order === '|' || order === '=' || order === '>'))
    throw new FormatError(file, 'descr', `unsupported dtype '${descr}' (expected one of ${Object.values(KINDS).map((k) => k.dtype).join(', ')})`);
  if (order === '>' && kind.size > 1)
    throw new FormatError(file, 'descr', `big-endian dtype '${descr}' is not supported; save with arr.astype('${kind.dtype}')`);
  if (order === '|' && kind.size > 1)
    throw new FormatError(file, 'descr', `dtype '${descr}' needs a byte order ('<'), found '|'`);

  const fo = dict.get('fortran_order');
  if (typeof fo !== 'boolean') throw new FormatError(file, 'fortran_order', `expected True or False, found ${describe(fo)}`);
  if (fo)
    throw new FormatError(file, 'fortran_order', 'Fortran-order (column-major) arrays are not supported; save np.ascontiguousarray(arr)');

  const shapeV = dict.get('shape');
  if (!(shapeV instanceof PyTuple)) throw new FormatError(file, 'shape', `expected a tuple of integers, found ${describe(shapeV)}`);
  const count = checkShape(shapeV.items, file, 'shape');
  const shape = shapeV.items as number[];
  const dstart = hstart + hlen;
  const need = count * kind.size;
  const have = total - dstart;
  if (have < need) throw new FormatError(file, 'data', `truncated: shape (${shape.join(', ')}) of '${kind.dtype}' needs ${need} bytes, found ${have}`);
  if (have > need) throw new FormatError(file, 'data', `${have - need} unexpected bytes after the data (shape (${shape.join(', ')}) of '${kind.dtype}' needs ${need})`);
  return { dtype: kind.dtype, shape, data: decodeNpy(kind.dtype, bytes, dv, dstart, count, file) };
}

function decodeNpy(dtype: NpyDtype, bytes: Uint8Array, dv: DataView, off: number, n: number, file: string): NpyData {
  const abs = bytes.byteOffset + off;
  const view = <T>(C: { new (b: ArrayBufferLike, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }, get: (o: number) => number): T => {
    if (LITTLE_ENDIAN && abs % C.BYTES_PER_ELEMENT === 0) return new C(bytes.buffer, abs, n);
    const out = new C(n) as unknown as { [i: number]: number };
    for (let i = 0; i < n; i++) out[i] = get(off + i * C.BYTES_PER_ELEMENT);
    return out as unknown as T;
  };
  switch (dtype) {
    case '<f4': return view(Float32Array, (o) => dv.getFloat32(o, true));
    case '<f8': return view(Float64Array, (o) => dv.getFloat64(o, true));
    case '<i4': return view(Int32Array, (o) => dv.getInt32(o, true));
    case '<i2': return view(Int16Array, (o) => dv.getInt16(o, true));
    case '<u2': return view(Uint16Array, (o) => dv.getUint16(o, true));
    case '<u4': return view(Uint32Array, (o) => dv.getUint32(o, true));
    case '|i1': return new Int8Array(bytes.buffer, abs, n);
    case '|u1': return bytes.subarray(off, off + n);
    case '|b1': {
      const v = bytes.subarray(off, off + n);
      for (let i = 0; i < n; i++) if (v[i]! > 1) throw new FormatError(file, 'data', `bool byte at index ${i} is ${v[i]}, expected 0 or 1`);
      return v;
    }
    case '<f2': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(off + 2 * i, true));
      return out;
    }
    case '<i8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(off + 8 * i, true);
        const hi = dv.getInt32(off + 8 * i + 4, true);
        if (hi !== lo >> 31)
          throw new FormatError(file, 'data', `int64 value ${dv.getBigInt64(off + 8 * i, true)} at index ${i} is outside the int32 range`);
        out[i] = lo;
      }
      return out;
    }
  }
}

/**
 * parseNpy, then convert to float32: f4 as is, f2 decoded, f8 rounded (a finite value that
 * overflows float32 is an error). Integer and bool arrays are rejected.
 */
export function parseNpyF32(bytes: Uint8Array, file = '<bytes>'): { shape: number[]; data: Float32Array } {
  const a = parseNpy(bytes, file);
  if (a.data instanceof Float32Array) return { shape: a.shape, data: a.data };
  if (a.data instanceof Float64Array) {
    const src = a.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      const y = Math.fround(x);
      if (y - y !== 0 && x - x === 0) throw new FormatError(file, 'data', `float64 value ${x} at index ${i} does not fit in float32`);
      out[i] = y;
    }
    return { shape: a.shape, data: out };
  }
  throw new FormatError(file, 'descr', `expected a float array ('<f4', '<f8' or '<f2'), found '${a.dtype}'`);
}

/**
 * Write a format 1.0 .npy file ('<f4' or '<i4', C order); the header is padded with spaces and a
 * newline so the data starts at a multiple of 64 bytes. (Format 2.0 if the header would not fit.)
 */
export function serializeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Uint8Array<ArrayBuffer> {
  const file = '<serializeNpy>';
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : null;
  if (!descr) throw new FormatError(file, 'data', `expected a Float32Array or Int32Array, found ${describe(data)}`);
  const count = checkShape(Array.from(shape), file, 'shape');
  if (count !== data.length) throw new FormatError(file, 'shape', `shape (${shape.join(', ')}) has ${count} elements but data has ${data.length}`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  let major = 1;
  let pre = 10;
  if (dict.length + 1 + pre > 0xffff) {
    major = 2;
    pre = 12;
  }
  const hlen = Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  const out = new Uint8Array(pre + hlen + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, hlen, true);
  else dv.setUint32(8, hlen, true);
  for (let k = 0; k < dict.length; k++) out[pre + k] = dict.charCodeAt(k);
  out.fill(0x20, pre + dict.length, pre + hlen - 1);
  out[pre + hlen - 1] = 0x0a;
  const off = pre + hlen;
  if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), off);
  else if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) dv.setFloat32(off + 4 * i, data[i]!, true);
  else for (let i = 0; i < data.length; i++) dv.setInt32(off + 4 * i, data[i]!, true);
  return out;
}

// ---- the Python literal subset used by .npy headers ----------------------------------------------

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
type PyValue = string | number | boolean | null | PyTuple | PyValue[] | Map<string, PyValue>;

function parsePyDict(text: string, file: string): Map<string, PyValue> {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    const found = i < n ? JSON.stringify(text.slice(i, i + 12)) : 'end of header';
    throw new FormatError(file, 'header', `invalid header dict at character ${i}: ${msg}, found ${found}`);
  };
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\t' || text[i] === '\r')) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 8) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      if (s.includes('\\') || s.includes('\n')) fail('escape sequences are not supported in strings');
      i = end + 1;
      return s;
    }
    if (c === '{') {
      i++;
      const m = new Map<string, PyValue>();
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return m;
        }
        const kpos = i;
        const k = value(depth + 1);
        if (typeof k !== 'string') {
          i = kpos;
          fail('expected a string key');
        }
        if (m.has(k as string)) throw new FormatError(file, 'header', `duplicate key '${k as string}'`);
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        m.set(k as string, value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail("expected ',' or '}'");
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      let commas = 0;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          // (3) is just 3 in Python; (3,) is a tuple.
          if (c === '(' && items.length === 1 && commas === 0) return items[0]!;
          return c === '(' ? new PyTuple(items) : items;
        }
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          commas++;
        } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    const m = /-?[0-9]+L?|True|False|None/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return fail('expected a value');
    i += r[0].length;
    const w = r[0];
    if (w === 'True') return true;
    if (w === 'False') return false;
    if (w === 'None') return null;
    const digits = w.replace(/L$/, '');
    if (digits.replace('-', '').length > 16) fail('integer too large');
    return Number(digits);
  };
  ws();
  if (text[i] !== '{') fail("expected '{'");
  const d = value(0) as Map<string, PyValue>;
  ws();
  if (i < n) fail('unexpected text after the dict');
  return d;
}

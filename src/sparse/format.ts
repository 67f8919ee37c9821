// The .srnn single-file model format: writer and zero-copy reader. See docs/srnn-format.md.
//
//   offset 0   4 bytes   magic "SRNN"
//          4   u32 LE    format version (SRNN_VERSION)
//          8   u32 LE    header length H in bytes (UTF-8 JSON)
//         12   u32 LE    CRC-32 (IEEE) of every byte from offset 16 to the end of the file
//         16   H bytes   JSON header (config, extra metadata, tensor table, dataLength)
//              padding   zero bytes up to the next multiple of 16 = dataStart
//   dataStart  buffers   every buffer 16-byte aligned; offsets in the tensor table are relative to
//                        dataStart; the file ends exactly at dataStart + dataLength.
//
// The reader returns typed-array *views* into the given bytes (no copy), after checking the
// whole structure: any inconsistency throws an SrnnFormatError naming the field.
//
// Versions: 1 has dense and CSR tensors; 2 adds BSR (block-sparse) tensors. The writer writes 2,
// the reader reads both (a version-1 file is a version-2 file without BSR tensors).

import { validateConfig, type ModelConfig } from '../nn/config.js';
import { checkColidx, checkRowptr, decodeDelta8, type IndexEncoding } from './csr.js';
import { crc32 } from './crc32.js';
import { SrnnFormatError } from './errors.js';

export const SRNN_MAGIC = 'SRNN';
export const SRNN_VERSION = 2;
/** Oldest format version this reader still reads. */
export const SRNN_MIN_VERSION = 1;
const PRELUDE = 16;
const ALIGN = 16;

export type TensorDtype = 'f32' | 'f16' | 'u8' | 'u16' | 'u32' | 'i32';
export type ValueDtype = 'f32' | 'f16';
const DTYPE_SIZE: Record<TensorDtype, number> = { f32: 4, f16: 2, u8: 1, u16: 2, u32: 4, i32: 4 };

/** One buffer of a CSR tensor, offsets relative to dataStart. */
export interface SrnnBlock {
  offset: number;
  byteLength: number;
  dtype: TensorDtype;
}

export interface SrnnDenseEntry {
  name: string;
  format: 'dense';
  dtype: 'f32' | 'f16' | 'i32';
  shape: number[];
  offset: number;
  byteLength: number;
}

export interface SrnnCsrEntry {
  name: string;
  format: 'csr';
  /** Dtype of the values. */
  dtype: ValueDtype;
  /** [rows, cols]. */
  shape: [number, number];
  /** Stored entries (including delta8 padding entries, which hold 0). */
  nnz: number;
  /** The whole tensor: its three buffers lie inside [offset, offset + byteLength). */
  offset: number;
  byteLength: number;
  /** How column indices are stored: plain u16 / u32, or delta8 (u8 gaps, see csr.ts). */
  index: IndexEncoding;
  rowptr: SrnnBlock;
  colidx: SrnnBlock;
  values: SrnnBlock;
}

export interface SrnnBsrEntry {
  name: string;
  format: 'bsr';
  /** Dtype of the values. */
  dtype: ValueDtype;
  /** [rows, cols]. */
  shape: [number, number];
  /** [R, C]: rows and columns of a block; both divide the shape. */
  block: [number, number];
  /** Stored blocks (values hold nblocks·R·C entries). */
  nblocks: number;
  offset: number;
  byteLength: number;
  /** Block-column indices: u16 when there are at most 65536 block columns, else u32. */
  index: 'u16' | 'u32';
  /** u32, rows/R + 1 entries: the blocks of block row I are [rowptr[I], rowptr[I+1]). */
  rowptr: SrnnBlock;
  /** Block column J of each block (its columns are J·C … J·C + C − 1), increasing within a block row. */
  colidx: SrnnBlock;
  /** R·C values per block, row-major inside the block. */
  values: SrnnBlock;
}

export type SrnnEntry = SrnnDenseEntry | SrnnCsrEntry | SrnnBsrEntry;

export interface SrnnHeader {
  format: 'srnn';
  config: ModelConfig;
  /** Values precision the exporter was asked for. */
  values: ValueDtype;
  /** Free-form metadata (vocabulary, training info, ...). */
  extra?: Record<string, unknown>;
  tensors: SrnnEntry[];
  dataLength: number;
}

// ---------------------------------------------------------------------------------------------
// Writer

export type WriteTensor =
  | { name: string; format: 'dense'; dtype: 'f32'; shape: number[]; data: Float32Array }
  | { name: string; format: 'dense'; dtype: 'f16'; shape: number[]; data: Uint16Array }
  | { name: string; format: 'dense'; dtype: 'i32'; shape: number[]; data: Int32Array }
  | {
    name: string; format: 'csr'; dtype: ValueDtype; shape: [number, number];
    rowptr: Uint32Array; index: IndexEncoding; colidx: Uint8Array | Uint16Array | Uint32Array;
    /** Float32Array for f32, binary16 bits for f16. */
    values: Float32Array | Uint16Array;
  }
  | {
    name: string; format: 'bsr'; dtype: ValueDtype; shape: [number, number]; block: [number, number];
    rowptr: Uint32Array; colidx: Uint16Array | Uint32Array;
    /** R·C values per block; Float32Array for f32, binary16 bits for f16. */
    values: Float32Array | Uint16Array;
  };

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export interface WriteOptions {
  config: ModelConfig;
  values: ValueDtype;
  extra?: Record<string, unknown>;
  tensors: WriteTensor[];
}

/**
 * Serialise tensors into .srnn bytes. Checks sizes only (the reader checks content), so tests
 * can build deliberately inconsistent files.
 */
export function writeSrnn(opts: WriteOptions): Uint8Array {
  let off = 0;
  const entries: SrnnEntry[] = [];
  const blobs: { off: number; bytes: Uint8Array }[] = [];
  const place = (a: ArrayBufferView, dtype: TensorDtype): SrnnBlock => {
    off = align(off);
    const blk = { offset: off, byteLength: a.byteLength, dtype };
    blobs.push({ off, bytes: bytesOf(a) });
    off += a.byteLength;
    return blk;
  };
  const names = new Set<string>();
  for (const t of opts.tensors) {
    if (names.has(t.name)) throw new SrnnFormatError('tensor', t.name, 'duplicate tensor name');
    names.add(t.name);
    if (t.format === 'dense') {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.data.length !== n) throw new SrnnFormatError('tensor', t.name, `${t.data.length} values for shape [${t.shape}]`);
      const b = place(t.data, t.dtype);
      entries.push({ name: t.name, format: 'dense', dtype: t.dtype, shape: [...t.shape], offset: b.offset, byteLength: b.byteLength });
    } else if (t.format === 'bsr') {
      const [R, C] = t.block;
      if (t.rowptr.length !== t.shape[0] / R + 1) throw new SrnnFormatError('tensor', t.name, `rowptr has ${t.rowptr.length} entries for ${t.shape[0] / R} block rows`);
      if (t.values.length !== t.colidx.length * R * C) throw new SrnnFormatError('tensor', t.name, 'values must hold R·C entries per block');
      const start = align(off);
      const rp = place(t.rowptr, 'u32');
      const index = t.colidx instanceof Uint16Array ? 'u16' : 'u32';
      const ci = place(t.colidx, index);
      const va = place(t.values, t.dtype);
      entries.push({
        name: t.name, format: 'bsr', dtype: t.dtype, shape: [t.shape[0], t.shape[1]], block: [R, C], nblocks: t.colidx.length,
        offset: start, byteLength: off - start, index, rowptr: rp, colidx: ci, values: va,
      });
    } else {
      const [rows] = t.shape;
      if (t.rowptr.length !== rows + 1) throw new SrnnFormatError('tensor', t.name, `rowptr has ${t.rowptr.length} entries for ${rows} rows`);
      if (t.colidx.length !== t.values.length) throw new SrnnFormatError('tensor', t.name, 'colidx and values lengths differ');
      const start = align(off);
      const rp = place(t.rowptr, 'u32');
      const ci = place(t.colidx, t.index === 'delta8' ? 'u8' : t.index);
      const va = place(t.values, t.dtype);
      entries.push({
        name: t.name, format: 'csr', dtype: t.dtype, shape: [t.shape[0], t.shape[1]], nnz: t.values.length,
        offset: start, byteLength: off - start, index: t.index, rowptr: rp, colidx: ci, values: va,
      });
    }
  }
  const dataLength = align(off);
  const header: SrnnHeader = { format: 'srnn', config: opts.config, values: opts.values, tensors: entries, dataLength };
  if (opts.extra !== undefined) header.extra = opts.extra;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align(PRELUDE + json.length);
  const out = new Uint8Array(dataStart + dataLength);
  out.set(new TextEncoder().encode(SRNN_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, SRNN_VERSION, true);
  dv.setUint32(8, json.length, true);
  out.set(json, PRELUDE);
  for (const b of blobs) out.set(b.bytes, dataStart + b.off);
  dv.setUint32(12, crc32(out.subarray(PRELUDE)), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface SrnnDenseTensor {
  entry: SrnnDenseEntry;
  format: 'dense';
  dtype: 'f32' | 'f16' | 'i32';
  shape: number[];
  /** A view into the file bytes (f16 as binary16 bits). */
  data: Float32Array | Uint16Array | Int32Array;
}

export interface SrnnCsrTensor {
  entry: SrnnCsrEntry;
  format: 'csr';
  dtype: ValueDtype;
  rows: number;
  cols: number;
  nnz: number;
  index: IndexEncoding;
  rowptr: Uint32Array;
  colidx: Uint8Array | Uint16Array | Uint32Array;
  values: Float32Array | Uint16Array;
}

export interface SrnnBsrTensor {
  entry: SrnnBsrEntry;
  format: 'bsr';
  dtype: ValueDtype;
  rows: number;
  cols: number;
  /** Block rows and columns. */
  R: number;
  C: number;
  nblocks: number;
  /** Stored weights: nblocks·R·C. */
  nnz: number;
  index: 'u16' | 'u32';
  rowptr: Uint32Array;
  colidx: Uint16Array | Uint32Array;
  values: Float32Array | Uint16Array;
}

export type SrnnTensor = SrnnDenseTensor | SrnnCsrTensor | SrnnBsrTensor;

export interface SrnnFile {
  version: number;
  header: SrnnHeader;
  /** The bytes the views point into (the input, or an aligned copy of it when it was misaligned). */
  bytes: Uint8Array;
  /** Byte offset of the buffers inside `bytes`. */
  dataStart: number;
  tensors: Map<string, SrnnTensor>;
}

export interface ReadOptions {
  /** Check the CRC-32 (default true; costs about 1 ms per MB). */
  verifyCrc?: boolean;
  /** Check every CSR row pointer and column index (default true; O(nnz)). */
  checkContent?: boolean;
}

function fail(kind: ConstructorParameters<typeof SrnnFormatError>[0], field: string, msg: string): never {
  throw new SrnnFormatError(kind, field, msg);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function checkBlock(b: unknown, field: string, dataLength: number, allowed: TensorDtype[]): SrnnBlock {
  if (typeof b !== 'object' || b === null) fail('header', field, 'expected an object');
  const o = b as Record<string, unknown>;
  if (!isInt(o.offset)) fail('header', `${field}.offset`, `expected a non-negative integer, found ${JSON.stringify(o.offset)}`);
  if (!isInt(o.byteLength)) fail('header', `${field}.byteLength`, `expected a non-negative integer, found ${JSON.stringify(o.byteLength)}`);
  if (!allowed.includes(o.dtype as TensorDtype)) fail('header', `${field}.dtype`, `expected one of ${allowed.join(', ')}, found ${JSON.stringify(o.dtype)}`);
  if (o.offset % ALIGN !== 0) fail('range', `${field}.offset`, `${o.offset} is not ${ALIGN}-byte aligned`);
  if (o.offset + o.byteLength > dataLength)
    fail('range', `${field}.offset`, `[${o.offset}, ${o.offset + o.byteLength}) lies outside the data section (${dataLength} bytes)`);
  return { offset: o.offset, byteLength: o.byteLength, dtype: o.dtype as TensorDtype };
}

function checkShape(s: unknown, field: string): number[] {
  if (!Array.isArray(s) || !s.every((d) => isInt(d) && d <= 2 ** 31))
    fail('header', `${field}.shape`, `expected an array of non-negative integers, found ${JSON.stringify(s)}`);
  return s as number[];
}

/** Validates a BSR tensor's header entry and buffers; returns its views. */
function readBsr(t: Record<string, unknown>, name: string, shape: number[], dataLength: number,
  view: (b: SrnnBlock) => ArrayBufferView, checkContent: boolean): SrnnBsrTensor {
  if (shape.length !== 2) fail('header', `${name}.shape`, `a BSR tensor is 2-D, found [${shape}]`);
  const [rows, cols] = shape;
  const blk = t.block;
  if (!Array.isArray(blk) || blk.length !== 2 || !blk.every((d) => isInt(d) && d >= 1))
    fail('header', `${name}.block`, `expected [R, C], two positive integers, found ${JSON.stringify(blk)}`);
  const [R, C] = blk as number[];
  if (rows % R !== 0 || cols % C !== 0) fail('bsr', `${name}.block`, `[${R}, ${C}] does not divide the shape [${rows}, ${cols}]`);
  if (!isInt(t.nblocks)) fail('header', `${name}.nblocks`, `expected a non-negative integer, found ${JSON.stringify(t.nblocks)}`);
  const nblocks = t.nblocks, nbr = rows / R, nbc = cols / C;
  if (nblocks > nbr * nbc) fail('bsr', `${name}.nblocks`, `${nblocks} blocks exceed what a ${nbr}x${nbc} block grid holds`);
  const whole = checkBlock({ ...t, dtype: t.dtype }, name, dataLength, ['f32', 'f16']);
  const index = t.index;
  if (index !== 'u16' && index !== 'u32') fail('header', `${name}.index`, `expected "u16" or "u32", found ${JSON.stringify(index)}`);
  if (index === 'u16' && nbc > 65536) fail('header', `${name}.index`, `u16 block-column indices cannot address ${nbc} block columns`);
  const rp = checkBlock(t.rowptr, `${name}.rowptr`, dataLength, ['u32']);
  const ci = checkBlock(t.colidx, `${name}.colidx`, dataLength, [index]);
  const va = checkBlock(t.values, `${name}.values`, dataLength, [whole.dtype]);
  for (const [b, f] of [[rp, 'rowptr'], [ci, 'colidx'], [va, 'values']] as const)
    if (b.offset < whole.offset || b.offset + b.byteLength > whole.offset + whole.byteLength)
      fail('range', `${name}.${f}.offset`, `buffer lies outside the tensor's [${whole.offset}, ${whole.offset + whole.byteLength})`);
  if (rp.byteLength !== (nbr + 1) * 4) fail('bsr', `${name}.rowptr`, `${rp.byteLength} bytes, expected ${(nbr + 1) * 4} for ${nbr} block rows`);
  if (ci.byteLength !== nblocks * DTYPE_SIZE[ci.dtype]) fail('bsr', `${name}.colidx`, `${ci.byteLength} bytes, expected ${nblocks * DTYPE_SIZE[ci.dtype]} for ${nblocks} blocks`);
  if (va.byteLength !== nblocks * R * C * DTYPE_SIZE[va.dtype])
    fail('bsr', `${name}.values`, `${va.byteLength} bytes, expected ${nblocks * R * C * DTYPE_SIZE[va.dtype]} for ${nblocks} blocks of ${R}x${C}`);
  const rowptr = view(rp) as Uint32Array;
  const colidx = view(ci) as Uint16Array | Uint32Array;
  if (checkContent) {
    checkRowptr(rowptr, nblocks, `${name}.rowptr`);
    checkColidx(rowptr, colidx, nbc, `${name}.colidx`);
  }
  const entry: SrnnBsrEntry = {
    name, format: 'bsr', dtype: whole.dtype as ValueDtype, shape: [rows, cols], block: [R, C], nblocks,
    offset: whole.offset, byteLength: whole.byteLength, index, rowptr: rp, colidx: ci, values: va,
  };
  return {
    entry, format: 'bsr', dtype: entry.dtype, rows, cols, R, C, nblocks, nnz: nblocks * R * C, index, rowptr, colidx,
    values: view(va) as Float32Array | Uint16Array,
  };
}

/** Parse and validate .srnn bytes; returns zero-copy views of every tensor. */
export function readSrnn(input: Uint8Array | ArrayBuffer, opts: ReadOptions = {}): SrnnFile {
  let bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  // Typed-array views need 4-byte alignment; a misaligned slice (e.g. a pooled Node Buffer) is
  // copied once into a fresh, aligned buffer.
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  if (bytes.length < PRELUDE) fail('truncated', 'prelude', `file is ${bytes.length} bytes, shorter than the ${PRELUDE}-byte prelude`);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== SRNN_MAGIC) fail('magic', 'magic', `expected "${SRNN_MAGIC}", found ${JSON.stringify(magic)} (not an .srnn file)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version < SRNN_MIN_VERSION || version > SRNN_VERSION)
    fail('version', 'version', `file has format version ${version}, this reader reads versions ${SRNN_MIN_VERSION} to ${SRNN_VERSION}${version > SRNN_VERSION ? ' (written by a newer sparse-rnn: upgrade)' : ''}`);
  const headerLength = dv.getUint32(8, true);
  if (PRELUDE + headerLength > bytes.length)
    fail('truncated', 'header length', `header of ${headerLength} bytes runs past the end of the ${bytes.length}-byte file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PRELUDE, PRELUDE + headerLength)));
  } catch (e) {
    fail('header', 'header', `not valid UTF-8 JSON (${(e as Error).message}); the file is corrupted`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header', 'header', 'expected a JSON object');
  if (!isInt(header.dataLength)) fail('header', 'dataLength', `expected a non-negative integer, found ${JSON.stringify(header.dataLength)}`);
  const dataLength = header.dataLength;
  const dataStart = align(PRELUDE + headerLength);
  if (bytes.length < dataStart + dataLength)
    fail('truncated', 'dataLength', `file is ${bytes.length} bytes, the header declares ${dataStart + dataLength}`);
  if (bytes.length > dataStart + dataLength)
    fail('range', 'dataLength', `${bytes.length - dataStart - dataLength} unexpected bytes after the data section`);
  if (opts.verifyCrc !== false) {
    const want = dv.getUint32(12, true);
    const got = crc32(bytes.subarray(PRELUDE));
    if (want !== got)
      fail('crc', 'crc32', `checksum mismatch (stored 0x${want.toString(16).padStart(8, '0')}, computed 0x${got.toString(16).padStart(8, '0')}): the file is corrupted`);
  }
  let config: ModelConfig;
  try {
    config = validateConfig(header.config, 'config');
  } catch (e) {
    fail('config', 'config', (e as Error).message);
  }
  const values = header.values === undefined ? 'f32' : header.values;
  if (values !== 'f32' && values !== 'f16') fail('header', 'values', `expected "f32" or "f16", found ${JSON.stringify(values)}`);
  if (header.extra !== undefined && (typeof header.extra !== 'object' || header.extra === null))
    fail('header', 'extra', 'expected an object');
  if (!Array.isArray(header.tensors)) fail('header', 'tensors', 'expected an array');

  const tensors = new Map<string, SrnnTensor>();
  const entries: SrnnEntry[] = [];
  const base = bytes.byteOffset + dataStart;
  const buf = bytes.buffer;
  const view = (b: SrnnBlock): Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array => {
    const n = b.byteLength / DTYPE_SIZE[b.dtype];
    switch (b.dtype) {
      case 'u8': return new Uint8Array(buf, base + b.offset, n);
      case 'u16': case 'f16': return new Uint16Array(buf, base + b.offset, n);
      case 'u32': return new Uint32Array(buf, base + b.offset, n);
      case 'i32': return new Int32Array(buf, base + b.offset, n);
      case 'f32': return new Float32Array(buf, base + b.offset, n);
    }
  };
  header.tensors.forEach((raw: unknown, i: number) => {
    if (typeof raw !== 'object' || raw === null) fail('header', `tensors[${i}]`, 'expected an object');
    const t = raw as Record<string, unknown>;
    if (typeof t.name !== 'string' || t.name === '') fail('header', `tensors[${i}].name`, 'expected a non-empty string');
    const name = t.name;
    if (tensors.has(name)) fail('header', name, 'duplicate tensor name');
    const shape = checkShape(t.shape, name);
    if (t.format === 'dense') {
      const b = checkBlock(t, name, dataLength, ['f32', 'f16', 'i32']);
      const n = shape.reduce((a, c) => a * c, 1);
      if (b.byteLength !== n * DTYPE_SIZE[b.dtype])
        fail('tensor', `${name}.byteLength`, `${b.byteLength} bytes, but shape [${shape}] of ${b.dtype} needs ${n * DTYPE_SIZE[b.dtype]}`);
      const entry: SrnnDenseEntry = { name, format: 'dense', dtype: b.dtype as 'f32', shape, offset: b.offset, byteLength: b.byteLength };
      entries.push(entry);
      tensors.set(name, { entry, format: 'dense', dtype: entry.dtype, shape, data: view(b) as Float32Array });
    } else if (t.format === 'csr') {
      if (shape.length !== 2) fail('header', `${name}.shape`, `a CSR tensor is 2-D, found [${shape}]`);
      const [rows, cols] = shape;
      if (!isInt(t.nnz)) fail('header', `${name}.nnz`, `expected a non-negative integer, found ${JSON.stringify(t.nnz)}`);
      const nnz = t.nnz;
      const whole = checkBlock({ ...t, dtype: t.dtype }, name, dataLength, ['f32', 'f16']);
      const index = t.index as IndexEncoding;
      if (index !== 'u16' && index !== 'u32' && index !== 'delta8')
        fail('header', `${name}.index`, `expected "u16", "u32" or "delta8", found ${JSON.stringify(t.index)}`);
      if (index === 'u16' && cols > 65536) fail('header', `${name}.index`, `u16 column indices cannot address ${cols} columns`);
      const rp = checkBlock(t.rowptr, `${name}.rowptr`, dataLength, ['u32']);
      const ci = checkBlock(t.colidx, `${name}.colidx`, dataLength, [index === 'delta8' ? 'u8' : index]);
      const va = checkBlock(t.values, `${name}.values`, dataLength, [whole.dtype]);
      for (const [blk, f] of [[rp, 'rowptr'], [ci, 'colidx'], [va, 'values']] as const)
        if (blk.offset < whole.offset || blk.offset + blk.byteLength > whole.offset + whole.byteLength)
          fail('range', `${name}.${f}.offset`, `buffer lies outside the tensor's [${whole.offset}, ${whole.offset + whole.byteLength})`);
      if (rp.byteLength !== (rows + 1) * 4)
        fail('csr', `${name}.rowptr`, `${rp.byteLength} bytes, expected ${(rows + 1) * 4} for ${rows} rows`);
      if (ci.byteLength !== nnz * DTYPE_SIZE[ci.dtype])
        fail('csr', `${name}.colidx`, `${ci.byteLength} bytes, expected ${nnz * DTYPE_SIZE[ci.dtype]} for nnz = ${nnz}`);
      if (va.byteLength !== nnz * DTYPE_SIZE[va.dtype])
        fail('csr', `${name}.values`, `${va.byteLength} bytes, expected ${nnz * DTYPE_SIZE[va.dtype]} for nnz = ${nnz}`);
      if (nnz > rows * cols + Math.ceil(cols / 255) * rows)
        fail('csr', `${name}.nnz`, `nnz = ${nnz} exceeds what a ${rows}x${cols} matrix can hold`);
      const rowptr = view(rp) as Uint32Array;
      const colidx = view(ci) as Uint8Array | Uint16Array | Uint32Array;
      if (opts.checkContent !== false) {
        checkRowptr(rowptr, nnz, `${name}.rowptr`);
        if (index === 'delta8') decodeDelta8(rowptr, colidx as Uint8Array, cols, null, `${name}.colidx`);
        else checkColidx(rowptr, colidx as Uint16Array | Uint32Array, cols, `${name}.colidx`);
      }
      const entry: SrnnCsrEntry = {
        name, format: 'csr', dtype: whole.dtype as ValueDtype, shape: [rows, cols], nnz,
        offset: whole.offset, byteLength: whole.byteLength, index, rowptr: rp, colidx: ci, values: va,
      };
      entries.push(entry);
      tensors.set(name, {
        entry, format: 'csr', dtype: entry.dtype, rows, cols, nnz, index, rowptr, colidx,
        values: view(va) as Float32Array | Uint16Array,
      });
    } else if (t.format === 'bsr' && version >= 2) {
      const tensor = readBsr(t, name, shape, dataLength, view, opts.checkContent !== false);
      entries.push(tensor.entry);
      tensors.set(name, tensor);
    } else {
      fail('header', `${name}.format`, `expected "dense", "csr"${version >= 2 ? ' or "bsr"' : ''}, found ${JSON.stringify(t.format)}${t.format === 'bsr' ? ` (BSR tensors need format version 2; the file says ${version})` : ''}`);
    }
  });
  const h: SrnnHeader = { format: 'srnn', config, values, tensors: entries, dataLength };
  if (header.extra !== undefined) h.extra = header.extra as Record<string, unknown>;
  return { version, header: h, bytes, dataStart, tensors };
}

// A minimal Protocol Buffers (proto3 wire format) writer and reader: enough for ONNX's ModelProto.
// Browser-safe: bytes in, bytes out. https://protobuf.dev/programming-guides/encoding/
//
// Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3/4, the deprecated groups, are
// rejected). The writer collects chunks and concatenates once, so large byte fields (tensor data)
// are copied a single time. The reader is strict and bounded: every length and varint is checked
// against the end of its enclosing message, and errors are FormatErrors naming the message path.

import { FormatError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const textEncoder = new TextEncoder();

/** Builds one message; nested messages are other writers passed to `message`. */
export class PbWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(256);
  private sp = 0;
  private total = 0;

  get length(): number {
    return this.total + this.sp;
  }

  private flush(): void {
    if (this.sp === 0) return;
    this.chunks.push(this.scratch.slice(0, this.sp));
    this.total += this.sp;
    this.sp = 0;
  }

  private room(n: number): void {
    if (this.sp + n > this.scratch.length) {
      this.flush();
      if (n > this.scratch.length) this.scratch = new Uint8Array(n);
    }
  }

  /** Raw unsigned varint of a non-negative safe integer, or a bigint (two's complement for negatives). */
  rawVarint(v: number | bigint): this {
    this.room(10);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`protobuf: varint ${v} is not a safe integer`);
      if (v < 0) return this.rawVarint(BigInt(v));
      while (v >= 0x80) {
        this.scratch[this.sp++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.scratch[this.sp++] = v;
      return this;
    }
    let b = BigInt.asUintN(64, v);
    while (b >= 0x80n) {
      this.scratch[this.sp++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.scratch[this.sp++] = Number(b);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.rawVarint(field * 8 + wire);
  }

  /** int32/int64/uint64/enum/bool field (negative int64 as ten bytes, as protobuf does). */
  int(field: number, v: number | bigint): this {
    return this.tag(field, WIRE_VARINT).rawVarint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    this.room(4);
    new DataView(this.scratch.buffer).setFloat32(this.sp, v, true);
    this.sp += 4;
    return this;
  }

  /** Length-delimited bytes; the array is referenced, not copied, until `finish`. */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN).rawVarint(data.length);
    this.flush();
    if (data.length) {
      this.chunks.push(data);
      this.total += data.length;
    }
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, textEncoder.encode(s));
  }

  message(field: number, m: PbWriter): this {
    m.flush();
    this.tag(field, WIRE_LEN).rawVarint(m.total);
    this.flush();
    for (const c of m.chunks) this.chunks.push(c);
    this.total += m.total;
    return this;
  }

  /** Packed repeated varints (int64 lists such as tensor dims in proto3 packed form). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const w = new PbWriter();
    for (const v of vs) w.rawVarint(v);
    return this.bytes(field, w.finish());
  }

  /** Packed repeated floats (little-endian float32). */
  packedFloats(field: number, vs: ArrayLike<number>): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat32(4 * i, vs[i]!, true);
    return this.bytes(field, b);
  }

  finish(): Uint8Array<ArrayBuffer> {
    this.flush();
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** One field of a decoded message: a varint value, or the byte range of a length-delimited / fixed field. */
export interface PbField {
  no: number;
  wire: number;
  /** Varint value as a number (int64 two's complement folded to a negative number; exact within ±2^53). */
  value: number;
  /** Whether the varint value is exact (fits a safe integer). */
  exact: boolean;
  /** Byte range of the payload in the buffer (length-delimited, fixed32, fixed64). */
  start: number;
  end: number;
}

/** A strict reader over one buffer; `file` is used in error messages. */
export class PbReader {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly file = '<bytes>') {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(where: string, msg: string): never {
    throw new FormatError(this.file, where, msg);
  }

  /** Decode a varint at `pos` (bounded by `end`); returns [value, next, exact]. */
  varint(pos: number, end: number, where: string): [number, number, boolean] {
    let lo = 0, hi = 0, shift = 0, i = 0;
    const b = this.bytes;
    for (;; i++) {
      if (pos >= end) this.fail(where, 'truncated varint');
      if (i >= 10) this.fail(where, 'varint longer than 10 bytes');
      const x = b[pos++]!;
      if (i < 4) lo += (x & 0x7f) * 2 ** (7 * i);
      else if (i === 4) {
        lo += (x & 0x0f) * 2 ** 28;
        hi += (x & 0x70) >> 4;
      } else hi += (x & 0x7f) * 2 ** (7 * (i - 5) + 3);
      shift += 7;
      if (!(x & 0x80)) break;
    }
    void shift;
    hi = hi % 2 ** 32; // bits above 64 are dropped (protobuf semantics)
    let value: number;
    if (hi >= 2 ** 31) value = (hi - 2 ** 32) * 2 ** 32 + lo; // negative int64
    else value = hi * 2 ** 32 + lo;
    return [value, pos, Number.isSafeInteger(value)];
  }

  /** All fields of the message occupying [start, end). */
  fields(start: number, end: number, where: string): PbField[] {
    const out: PbField[] = [];
    let p = start;
    while (p < end) {
      const [key, q, exactKey] = this.varint(p, end, where);
      p = q;
      if (!exactKey || key < 0 || key > 2 ** 32) this.fail(where, `invalid field key ${key}`);
      const no = Math.floor(key / 8), wire = key % 8;
      if (no === 0) this.fail(where, 'field number 0');
      switch (wire) {
        case WIRE_VARINT: {
          const [v, r, exact] = this.varint(p, end, `${where}.${no}`);
          out.push({ no, wire, value: v, exact, start: p, end: r });
          p = r;
          break;
        }
        case WIRE_I64:
          if (p + 8 > end) this.fail(`${where}.${no}`, 'truncated fixed64');
          out.push({ no, wire, value: 0, exact: true, start: p, end: p + 8 });
          p += 8;
          break;
        case WIRE_I32:
          if (p + 4 > end) this.fail(`${where}.${no}`, 'truncated fixed32');
          out.push({ no, wire, value: 0, exact: true, start: p, end: p + 4 });
          p += 4;
          break;
        case WIRE_LEN: {
          const [len, r, exact] = this.varint(p, end, `${where}.${no}`);
          if (!exact || len < 0 || r + len > end)
            this.fail(`${where}.${no}`, `length ${len} runs past the end of the enclosing message (${end - r} bytes left)`);
          out.push({ no, wire, value: len, exact: true, start: r, end: r + len });
          p = r + len;
          break;
        }
        default:
          this.fail(where, `unsupported wire type ${wire} (field ${no})`);
      }
    }
    return out;
  }

  string(f: PbField, where: string): string {
    this.expectWire(f, WIRE_LEN, where);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(f.start, f.end));
    } catch {
      this.fail(where, 'string is not valid UTF-8');
    }
  }

  float32(f: PbField, where: string): number {
    this.expectWire(f, WIRE_I32, where);
    return this.dv.getFloat32(f.start, true);
  }

  /** An integer field: a plain varint, exact. */
  int(f: PbField, where: string): number {
    this.expectWire(f, WIRE_VARINT, where);
    if (!f.exact) this.fail(where, `integer ${f.value} is out of the supported range (±2^53)`);
    return f.value;
  }

  /** A repeated integer field: either one packed run (WIRE_LEN) or a single varint. */
  ints(f: PbField, where: string, into: number[]): void {
    if (f.wire === WIRE_VARINT) {
      into.push(this.int(f, where));
      return;
    }
    this.expectWire(f, WIRE_LEN, where);
    let p = f.start;
    while (p < f.end) {
      const [v, q, exact] = this.varint(p, f.end, where);
      if (!exact) this.fail(where, `integer ${v} is out of the supported range (±2^53)`);
      into.push(v);
      p = q;
    }
  }

  /** A repeated float field: packed (WIRE_LEN) or a single fixed32. */
  floats(f: PbField, where: string, into: number[]): void {
    if (f.wire === WIRE_I32) {
      into.push(this.float32(f, where));
      return;
    }
    this.expectWire(f, WIRE_LEN, where);
    if ((f.end - f.start) % 4) this.fail(where, `packed floats: ${f.end - f.start} bytes is not a multiple of 4`);
    for (let p = f.start; p < f.end; p += 4) into.push(this.dv.getFloat32(p, true));
  }

  /** A repeated double field: packed or a single fixed64. */
  doubles(f: PbField, where: string, into: number[]): void {
    if (f.wire === WIRE_I64) {
      into.push(this.dv.getFloat64(f.start, true));
      return;
    }
    this.expectWire(f, WIRE_LEN, where);
    if ((f.end - f.start) % 8) this.fail(where, `packed doubles: ${f.end - f.start} bytes is not a multiple of 8`);
    for (let p = f.start; p < f.end; p += 8) into.push(this.dv.getFloat64(p, true));
  }

  expectWire(f: PbField, wire: number, where: string): void {
    if (f.wire !== wire) this.fail(where, `wire type ${f.wire}, expected ${wire}`);
  }
}

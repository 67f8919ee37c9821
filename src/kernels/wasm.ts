// WebAssembly SIMD kernels (AssemblyScript sources in src/kernels/as/, built by scripts/build-wasm.mjs).
//
// The module imports the Heap's WebAssembly.Memory, so the kernels work directly on the tensors. Its
// exports take BYTE offsets; this class converts the interface's float indices with `* 4` (not `<< 2`,
// which would wrap above 2 GiB). The bytes are embedded (base64) so no fs/fetch is needed.

import type { Heap } from './heap.js';
import type { Kernels, OptimCode } from './types.js';
import { WASM_KERNELS_BASE64, WASM_KERNELS_RELAXED_BASE64 } from './wasm-bytes.generated.js';

/** Raw exports of the kernel module (byte-offset pointers). Other kernel files add their own. */
export interface WasmKernelExports {
  gemm(tA: number, tB: number, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, C: number, ldc: number, acc: number): void;
  addBias(M: number, N: number, C: number, ldc: number, bias: number): void;
  sumRows(M: number, N: number, dC: number, ldc: number, db: number): void;
  mul(n: number, x: number, m: number, y: number): void;
  axpy(n: number, a: number, x: number, y: number): void;
  sumSquares(n: number, x: number): number;
  scale(n: number, a: number, x: number): void;
  actForward(n: number, act: number, x: number): void;
  actBackward(n: number, act: number, y: number, d: number): void;
  gruForward(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number,
    gates: number, ghn: number): void;
  gruBackward(B: number, H: number, dh: number, hPrev: number, ldh: number, gates: number, ghn: number,
    dgi: number, dgh: number, dhPrev: number): void;
  lstmForward(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number, tc: number): void;
  lstmBackward(B: number, H: number, dh: number, ldh: number, g4: number, cPrev: number, tc: number,
    dc: number, dg4: number): void;
  gruInfer(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number): void;
  lstmInfer(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number): void;
  gruStep(B: number, H: number, j0: number, j1: number, hPrev: number, ldh: number, whh: number, bhh: number,
    gi: number, gh: number, h: number, gates: number, ghn: number): void;
  lstmStep(B: number, H: number, j0: number, j1: number, hPrev: number, ldh: number, whh: number, bhh: number,
    g4: number, cPrev: number, c: number, h: number, tc: number): void;
  rnnStep(B: number, H: number, j0: number, j1: number, act: number, hPrev: number, ldh: number, whh: number, bhh: number,
    gi: number, h: number): void;
  softmaxXent(N: number, V: number, x: number, targets: number, grad: number, d: number, scale: number, loss: number): void;
  optimStep(kind: number, n: number, w: number, g: number, m: number, v: number,
    a: number, wd: number, b1: number, b2: number, eps: number, sc2: number): void;
  /** Test hooks: y[i] = exp(x[i]) / sigmoid(x[i]) with the vectorised approximations. */
  expN(n: number, x: number, y: number): void;
  sigmoidN(n: number, x: number, y: number): void;
  /** Points this instance's GEMM packing scratch (128 KiB, byte offset) elsewhere. */
  setScratch(p: number): void;
  /** Anything else the module exports (e.g. the sparse kernels). */
  [name: string]: unknown;
}

// The smallest module using a SIMD instruction: (func (result v128) i32.const 0 i32x4.splat).
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b, // code: i32.const 0; i32x4.splat; end
]);

let simdSupported: boolean | undefined;
/** Whether this platform runs WebAssembly SIMD (fixed-width, not relaxed). */
export function wasmSimdSupported(): boolean {
  if (simdSupported === undefined) {
    try {
      simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported;
}

function decodeBase64(s: string): Uint8Array {
  const g = globalThis as { atob?: (s: string) => string; Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) {
    const b = g.Buffer.from(s, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const bin = g.atob!(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The two builds of the kernel module: 'simd128' (fixed-width SIMD) and 'relaxed' (the GEMM and sparse
 * inner loops use f32x4.relaxed_madd, a fused multiply-add where the CPU has one).
 */
export type WasmVariant = 'simd128' | 'relaxed';

/**
 * The module's bytes. `shared`: the memory import is declared shared (for a pool of threads over one
 * shared heap); the builds declare a maximum, so this flips one flag byte (0x01 → 0x03).
 */
export function kernelModuleBytes(variant: WasmVariant, shared = false): Uint8Array {
  const bytes = decodeBase64(variant === 'relaxed' ? WASM_KERNELS_RELAXED_BASE64 : WASM_KERNELS_BASE64);
  return shared ? withSharedMemory(bytes) : bytes;
}

let relaxedOk: boolean | undefined;
/** Whether this engine runs the relaxed-SIMD build (Node 20 needs V8's flag; see src/kernels/node.ts). */
export function wasmRelaxedSupported(): boolean {
  if (relaxedOk === undefined) {
    try {
      relaxedOk = wasmSimdSupported() && WebAssembly.validate(kernelModuleBytes('relaxed') as BufferSource);
    } catch {
      relaxedOk = false;
    }
  }
  return relaxedOk;
}

const compiledCache = new Map<string, WebAssembly.Module>();
/** The compiled kernel module (cached per variant and memory kind). */
export function compileKernelModule(variant: WasmVariant, shared: boolean): WebAssembly.Module {
  const key = `${variant}:${shared}`;
  let m = compiledCache.get(key);
  if (!m) compiledCache.set(key, (m = new WebAssembly.Module(kernelModuleBytes(variant, shared) as BufferSource)));
  return m;
}

/** Sets the memory-import flags of a module from 0x01 (has maximum) to 0x03 (shared, has maximum). */
function withSharedMemory(src: Uint8Array): Uint8Array {
  const bytes = src.slice();
  let p = 8;
  const u32 = (): number => {
    let r = 0, sh = 0, b: number;
    do { b = bytes[p++]; r |= (b & 0x7f) << sh; sh += 7; } while (b & 0x80);
    return r >>> 0;
  };
  const skipName = (): void => { const n = u32(); p += n; };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = u32();
    const end = p + size;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        skipName(); skipName();
        const kind = bytes[p++];
        if (kind === 0) u32();
        else if (kind === 1) { p++; const f = bytes[p++]; u32(); if (f & 1) u32(); }
        else if (kind === 3) p += 2;
        else if (kind === 2) {
          if (bytes[p] !== 0x01) throw new Error(`kernels: memory import flags ${bytes[p]}, expected 1 (a maximum)`);
          bytes[p] = 0x03;
          return bytes;
        }
      }
    }
    p = end;
  }
  throw new Error('kernels: the module imports no memory');
}

function imports(heap: Heap): WebAssembly.Imports {
  return { env: { memory: heap.memory } };
}

/** Instantiates the kernels synchronously (fine in Node and in workers). Null without WASM SIMD. */
export function createWasmKernelsSync(heap: Heap, variant: WasmVariant = 'simd128'): WasmKernels | null {
  if (!wasmSimdSupported() || (variant === 'relaxed' && !wasmRelaxedSupported())) return null;
  try {
    const inst = new WebAssembly.Instance(compileKernelModule(variant, heap.shared), imports(heap));
    return new WasmKernels(heap, inst.exports as unknown as WasmKernelExports, variant);
  } catch {
    return null;
  }
}

/** Instantiates the kernels (async compile; preferred on browser main threads). Null without WASM SIMD. */
export async function createWasmKernels(heap: Heap, variant: WasmVariant = 'simd128'): Promise<WasmKernels | null> {
  if (!wasmSimdSupported() || (variant === 'relaxed' && !wasmRelaxedSupported())) return null;
  try {
    const key = `${variant}:${heap.shared}`;
    let m = compiledCache.get(key);
    if (!m) compiledCache.set(key, (m = await WebAssembly.compile(kernelModuleBytes(variant, heap.shared) as BufferSource)));
    const inst = await WebAssembly.instantiate(m, imports(heap));
    return new WasmKernels(heap, inst.exports as unknown as WasmKernelExports, variant);
  } catch {
    return null;
  }
}

export class WasmKernels implements Kernels {
  readonly name = 'wasm' as const;
  constructor(readonly heap: Heap, readonly exports: WasmKernelExports, readonly variant: WasmVariant = 'simd128') {}

  gemm(tA: boolean, tB: boolean, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, C: number, ldc: number, acc: boolean): void {
    this.exports.gemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, A * 4, lda, B * 4, ldb, C * 4, ldc, acc ? 1 : 0);
  }
  addBias(M: number, N: number, C: number, ldc: number, bias: number): void {
    this.exports.addBias(M, N, C * 4, ldc, bias * 4);
  }
  sumRows(M: number, N: number, dC: number, ldc: number, db: number): void {
    this.exports.sumRows(M, N, dC * 4, ldc, db * 4);
  }
  mul(n: number, x: number, m: number, y: number): void {
    this.exports.mul(n, x * 4, m * 4, y * 4);
  }
  axpy(n: number, a: number, x: number, y: number): void {
    this.exports.axpy(n, a, x * 4, y * 4);
  }
  sumSquares(n: number, x: number): number {
    return this.exports.sumSquares(n, x * 4);
  }
  scale(n: number, a: number, x: number): void {
    this.exports.scale(n, a, x * 4);
  }
  actForward(n: number, act: number, x: number): void {
    this.exports.actForward(n, act, x * 4);
  }
  actBackward(n: number, act: number, y: number, d: number): void {
    this.exports.actBackward(n, act, y * 4, d * 4);
  }
  gruForward(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number,
    gates: number, ghn: number): void {
    this.exports.gruForward(B, H, gi * 4, gh * 4, hPrev * 4, h * 4, ldh, gates * 4, ghn * 4);
  }
  gruBackward(B: number, H: number, dh: number, hPrev: number, ldh: number, gates: number, ghn: number,
    dgi: number, dgh: number, dhPrev: number): void {
    this.exports.gruBackward(B, H, dh * 4, hPrev * 4, ldh, gates * 4, ghn * 4, dgi * 4, dgh * 4, dhPrev * 4);
  }
  lstmForward(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number, tc: number): void {
    this.exports.lstmForward(B, H, g4 * 4, cPrev * 4, c * 4, h * 4, ldh, tc * 4);
  }
  lstmBackward(B: number, H: number, dh: number, ldh: number, g4: number, cPrev: number, tc: number,
    dc: number, dg4: number): void {
    this.exports.lstmBackward(B, H, dh * 4, ldh, g4 * 4, cPrev * 4, tc * 4, dc * 4, dg4 * 4);
  }
  gruInfer(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number): void {
    this.exports.gruInfer(B, H, gi * 4, gh * 4, hPrev * 4, h * 4, ldh);
  }
  lstmInfer(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number): void {
    this.exports.lstmInfer(B, H, g4 * 4, cPrev * 4, c * 4, h * 4, ldh);
  }
  gruStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    gi: number, gh: number, h: number, gates: number, ghn: number): void {
    this.exports.gruStep(B, H, 0, H, hPrev * 4, ldh, whh * 4, bhh * 4, gi * 4, gh * 4, h * 4, gates * 4, ghn * 4);
  }
  lstmStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    g4: number, cPrev: number, c: number, h: number, tc: number): void {
    this.exports.lstmStep(B, H, 0, H, hPrev * 4, ldh, whh * 4, bhh * 4, g4 * 4, cPrev * 4, c * 4, h * 4, tc * 4);
  }
  rnnStep(B: number, H: number, act: number, hPrev: number, ldh: number, whh: number, bhh: number, gi: number, h: number): void {
    this.exports.rnnStep(B, H, 0, H, act, hPrev * 4, ldh, whh * 4, bhh * 4, gi * 4, h * 4);
  }
  softmaxXent(N: number, V: number, x: number, targets: number, d: number, scale: number, loss: number): void {
    this.exports.softmaxXent(N, V, x * 4, targets * 4, d >= 0 ? 1 : 0, d >= 0 ? d * 4 : 0, scale, loss * 4);
  }
  optimStep(kind: OptimCode, n: number, w: number, g: number, m: number, v: number,
    a: number, wd: number, b1: number, b2: number, eps: number, sc2: number): void {
    this.exports.optimStep(kind, n, w * 4, g * 4, m * 4, v * 4, a, wd, b1, b2, eps, sc2);
  }
}

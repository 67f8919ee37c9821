// The block-sparse (BSR) kernel interface: SpMV and SpMM for matrices stored as R×C blocks. Kept
// apart from the CSR interface (sparse.ts) so the two evolve independently; same conventions:
// pointers are float indices into the Heap, activations batch-interleaved for SpMM.
//
// A BSR matrix with nbr block rows: rowptr (u32, nbr + 1 entries, block offsets), colidx (u16 when
// idx16, else u32: the BLOCK column J of each stored block, covering columns J·C … J·C + C − 1) and
// values (f32, R·C per block, row-major inside the block). Implementations: bsr-ref.ts (plain
// TypeScript), the AssemblyScript SIMD kernels in as/bsr.ts, and the threaded ones (threaded.ts).

import { BsrRefKernels } from './bsr-ref.js';
import type { Heap } from './heap.js';
import type { Kernels } from './types.js';

export interface BsrKernels {
  readonly name: 'ts' | 'wasm';
  readonly heap: Heap;
  /** y[I·R + r] = Σ_{blocks k of block row I} Σ_c values[k, r, c] · x[colidx[k]·C + c] (+= when `accumulate`). */
  spmv(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void;
  /** Y[row, 0:B] = Σ values · X[col, 0:B] over the row's stored weights, X [cols, B], Y [nbr·R, B] (+= when `accumulate`). */
  spmm(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void;
}

/** The raw exports of as/bsr.ts (byte pointers). */
export interface BsrWasmExports {
  bsr_spmv16(R: number, C: number, nbr: number, rowptr: number, colidx: number, values: number, x: number, y: number, acc: number): void;
  bsr_spmv32(R: number, C: number, nbr: number, rowptr: number, colidx: number, values: number, x: number, y: number, acc: number): void;
  bsr_spmm16(R: number, C: number, nbr: number, rowptr: number, colidx: number, values: number, X: number, Y: number, B: number, acc: number): void;
  bsr_spmm32(R: number, C: number, nbr: number, rowptr: number, colidx: number, values: number, X: number, Y: number, B: number, acc: number): void;
}

export function hasBsrExports(e: unknown): e is BsrWasmExports {
  return typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>).bsr_spmv16 === 'function';
}

export class WasmBsrKernels implements BsrKernels {
  readonly name = 'wasm' as const;
  constructor(readonly heap: Heap, private readonly e: BsrWasmExports) {}
  spmv(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void {
    (idx16 ? this.e.bsr_spmv16 : this.e.bsr_spmv32)(R, C, nbr, rowptr * 4, colidx * 4, values * 4, x * 4, y * 4, accumulate ? 1 : 0);
  }
  spmm(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void {
    (idx16 ? this.e.bsr_spmm16 : this.e.bsr_spmm32)(R, C, nbr, rowptr * 4, colidx * 4, values * 4, X * 4, Y * 4, B, accumulate ? 1 : 0);
  }
}

/** The BSR kernels that go with a Kernels object: its own (threaded), WASM when the module has them, else the reference. */
export function bsrKernelsFor(kernels: Kernels): BsrKernels {
  const own = (kernels as { bsr?: BsrKernels }).bsr;
  if (own) return own;
  if (kernels.name === 'wasm') {
    const e = (kernels as unknown as { exports?: unknown }).exports;
    if (hasBsrExports(e)) return new WasmBsrKernels(kernels.heap, e);
  }
  return new BsrRefKernels(kernels.heap);
}

export { BsrRefKernels };

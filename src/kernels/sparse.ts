// The sparse kernel interface: CSR SpMV / SpMM and the transposes that move activations between
// the batch-major layout of the dense kernels ([B, n], one sample per row) and the batch-interleaved
// layout of SpMM ([n, B], one B-vector per feature: each nonzero multiplies a contiguous vector).
//
// Pointers are float indices into the Heap (heap.f32), like every other kernel. A CSR matrix is
// rowptr (u32, rows+1 entries), colidx (u16 when it has ≤ 65536 columns, u32 otherwise; the
// pointer is the float index of its 4-byte-aligned start) and values (f32). Two implementations:
// sparse-ref.ts (plain TypeScript) and the AssemblyScript WASM SIMD kernels in as/sparse.ts.

import type { Heap } from './heap.js';
import type { Kernels } from './types.js';
import { SparseRefKernels } from './sparse-ref.js';

export interface SparseKernels {
  readonly name: 'ts' | 'wasm';
  readonly heap: Heap;
  /**
   * y[r] = Σ_{k ∈ row r} values[k] · x[colidx[k]] for r < rows (y[r] += ... when `accumulate`).
   * `idx16`: colidx holds u16 (else u32). x and y must not overlap.
   */
  spmv(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void;
  /**
   * Y[r, 0:B] = Σ_{k ∈ row r} values[k] · X[colidx[k], 0:B] (+= when `accumulate`), with X [cols, B]
   * and Y [rows, B] row-major (batch-interleaved). B ≥ 1; the fast path has 16-lane passes.
   */
  spmm(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void;
  /**
   * Batch-1 SpMV on the SELL-4 layout (src/sparse/csr.ts, csrToSell4; the runtime's fast path):
   * y[row] = Σ over the row's entries of vals · x[col] (+ y[row] when `accumulate`, then + bias[row]
   * when `bias` ≠ 0: a float index; heap tensors never sit at 0), for the rows of
   * `slices` slices of 4. Pointers: sliceptr, perm (u32), idx (u16 byte offsets), vals (f32); x holds
   * `cols` floats (≤ SELL4_MAX_COLS). Per row, even and odd groups are summed apart, then added.
   */
  sell4(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias?: number): void;
  /**
   * sell4 for a matrix of 1×4 blocks (csr.ts bsr14ToSell4): vals hold 16 floats per group (lane l's
   * block at 4l), idx the byte offset of each block's first column. Per row, one f32x4 accumulator over
   * its blocks' 4 columns; the row's sum is (lane 0 + lane 2) + (lane 1 + lane 3).
   */
  sell4b(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias?: number): void;
  /**
   * sell4b for a matrix of 4×4 blocks (csr.ts bsr44ToSell4): a group is one block, whose 4 lanes (its
   * rows) share one column, so idx holds one byte offset per group. The same arithmetic as sell4b.
   */
  sell4b44(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias?: number): void;
  /**
   * sell4 for a matrix of 4×1 blocks (csr.ts bsr41ToSell4): a group is one block, whose 4 lanes (its rows)
   * share one column (one byte offset per group); per row, sums over the groups g ≡ 0…3 (mod 4) from the
   * slice's first, added as (0 + 1) + (2 + 3).
   */
  sell4b41(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias?: number): void;
  /**
   * sell4 for a matrix of 1×2 blocks (csr.ts bsr12ToSell4): vals hold 8 floats per group (lane l's block
   * at 2l), idx each block's first column; per row and block column, sums over even and odd groups; the
   * row's sum is (even₀ + odd₀) + (even₁ + odd₁).
   */
  sell4b12(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias?: number): void;
  /** dst[j·ldd + i] = src[i·lds + j] (+= when `accumulate`) for i < rows, j < cols. */
  transpose(rows: number, cols: number, src: number, lds: number, dst: number, ldd: number, accumulate: boolean): void;
  /**
   * SDDMM, the weight gradient of a sparse layer: for every stored (r, c) of the CSR pattern,
   * out[r·ldo + c] += Σ_{l<L} A[r·L + l] · B[c·L + l] (A [rows, L], B [cols, L], contiguous).
   * Only the pattern's entries of `out` are touched.
   */
  sddmm(idx16: boolean, rows: number, rowptr: number, colidx: number, A: number, B: number, L: number,
    out: number, ldo: number): void;
}

/** The raw exports the WASM module provides for the sparse kernels (byte pointers). */
export interface SparseWasmExports {
  sp_spmv16(rows: number, rowptr: number, colidx: number, values: number, x: number, y: number, acc: number): void;
  sp_spmv32(rows: number, rowptr: number, colidx: number, values: number, x: number, y: number, acc: number): void;
  sp_spmm16(rows: number, rowptr: number, colidx: number, values: number, X: number, Y: number, B: number, acc: number): void;
  sp_spmm32(rows: number, rowptr: number, colidx: number, values: number, X: number, Y: number, B: number, acc: number): void;
  sp_transpose(rows: number, cols: number, src: number, lds: number, dst: number, ldd: number, acc: number): void;
  sp_sell4(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number, y: number, acc: number, bias: number): void;
  sp_sell4b(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number, y: number, acc: number, bias: number): void;
  sp_sell4b44(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number, y: number, acc: number, bias: number): void;
  sp_sell4b41(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number, y: number, acc: number, bias: number): void;
  sp_sell4b12(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number, y: number, acc: number, bias: number): void;
  sp_sddmm16(rows: number, rowptr: number, colidx: number, A: number, B: number, L: number, out: number, ldo: number): void;
  sp_sddmm32(rows: number, rowptr: number, colidx: number, A: number, B: number, L: number, out: number, ldo: number): void;
}

/**
 * Rows per sorting window (σ) of the SELL-4 layout (src/sparse/csr.ts). A window's outputs fill
 * whole 64-byte lines of y (64 rows × 4 bytes = 4 lines), so threads that split the slices on window
 * boundaries never write the same cache line.
 * Sorting all rows instead scatters every thread's outputs over all of y: on 2 cores that false
 * sharing made a 20k-non-zero product 2.3x slower on 2 threads than on 1 (measured).
 */
export const SELL4_WINDOW = 64;

/** The SELL-4 kernels, one per layout (src/sparse/csr.ts): CSR entries, and 1×4, 4×4, 4×1, 1×2 blocks. */
export type Sell4Kernel = 'sell4' | 'sell4b' | 'sell4b44' | 'sell4b41' | 'sell4b12';
/** Weights in one group of 4 lanes (the work a group stands for, to balance threads). */
export const SELL4_GROUP: Record<Sell4Kernel, number> = { sell4: 4, sell4b: 16, sell4b44: 16, sell4b41: 4, sell4b12: 8 };

/**
 * Byte address where sp_sell4 stages x (as/sparse.ts XSTAGE: 64 KiB below HEAP_BASE). A threaded
 * call copies x there once, then runs the slices with cols = 0.
 */
export const SELL4_XSTAGE = 0xa0000;

export function hasSparseExports(e: unknown): e is SparseWasmExports {
  return typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>).sp_spmv16 === 'function'
    && typeof (e as Record<string, unknown>).sp_spmm16 === 'function' && typeof (e as Record<string, unknown>).sp_sell4b === 'function' && typeof (e as Record<string, unknown>).sp_sell4b44 === 'function'
    && typeof (e as Record<string, unknown>).sp_sell4b41 === 'function' && typeof (e as Record<string, unknown>).sp_sell4b12 === 'function';
}

/** WASM SIMD sparse kernels over the exports of the kernels module (pointers converted to bytes). */
export class WasmSparseKernels implements SparseKernels {
  readonly name = 'wasm' as const;
  constructor(readonly heap: Heap, private readonly e: SparseWasmExports) {}
  spmv(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void {
    (idx16 ? this.e.sp_spmv16 : this.e.sp_spmv32)(rows, rowptr * 4, colidx * 4, values * 4, x * 4, y * 4, accumulate ? 1 : 0);
  }
  spmm(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void {
    (idx16 ? this.e.sp_spmm16 : this.e.sp_spmm32)(rows, rowptr * 4, colidx * 4, values * 4, X * 4, Y * 4, B, accumulate ? 1 : 0);
  }
  sell4(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    if (slices > 0) this.e.sp_sell4(slices, sliceptr * 4, perm * 4, idx * 4, vals * 4, x * 4, cols, y * 4, accumulate ? 1 : 0, bias * 4);
  }
  sell4b(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    if (slices > 0) this.e.sp_sell4b(slices, sliceptr * 4, perm * 4, idx * 4, vals * 4, x * 4, cols, y * 4, accumulate ? 1 : 0, bias * 4);
  }
  sell4b44(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    if (slices > 0) this.e.sp_sell4b44(slices, sliceptr * 4, perm * 4, idx * 4, vals * 4, x * 4, cols, y * 4, accumulate ? 1 : 0, bias * 4);
  }
  sell4b41(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    if (slices > 0) this.e.sp_sell4b41(slices, sliceptr * 4, perm * 4, idx * 4, vals * 4, x * 4, cols, y * 4, accumulate ? 1 : 0, bias * 4);
  }
  sell4b12(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    if (slices > 0) this.e.sp_sell4b12(slices, sliceptr * 4, perm * 4, idx * 4, vals * 4, x * 4, cols, y * 4, accumulate ? 1 : 0, bias * 4);
  }
  transpose(rows: number, cols: number, src: number, lds: number, dst: number, ldd: number, accumulate: boolean): void {
    this.e.sp_transpose(rows, cols, src * 4, lds, dst * 4, ldd, accumulate ? 1 : 0);
  }
  sddmm(idx16: boolean, rows: number, rowptr: number, colidx: number, A: number, B: number, L: number,
    out: number, ldo: number): void {
    (idx16 ? this.e.sp_sddmm16 : this.e.sp_sddmm32)(rows, rowptr * 4, colidx * 4, A * 4, B * 4, L, out * 4, ldo);
  }
}

/**
 * The sparse kernels that go with a dense Kernels object: WASM when `kernels` is the WASM backend
 * and its module carries the sparse exports, the TypeScript reference otherwise.
 */
export function sparseKernelsFor(kernels: Kernels): SparseKernels {
  // Threaded kernels carry their own (threaded) sparse kernels.
  const own = (kernels as { sparse?: SparseKernels }).sparse;
  if (own) return own;
  if (kernels.name === 'wasm') {
    const e = (kernels as unknown as { exports?: unknown }).exports;
    if (hasSparseExports(e)) return new WasmSparseKernels(kernels.heap, e);
  }
  return new SparseRefKernels(kernels.heap);
}

export { SparseRefKernels };

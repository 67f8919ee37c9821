// How one kernel call is split across threads. Shared by the calling thread and every pool worker,
// so all of them compute the same partition from the same arguments.
//
// Results never depend on the thread count: every split is along OUTPUT elements (rows or columns of
// C, batch rows of a cell, rows of a sparse matrix), never along a reduction, and every boundary sits
// on a multiple of the kernel's register block (4 rows or 16 columns of a GEMM, 16 elements of a
// vector), so each output element goes through exactly the code path, and the same sequence of
// floating-point operations, as in the single-threaded call. Tests hold this bit for bit.
//
// Arguments travel as numbers in a Float64Array (pointers are byte offsets, as the WASM exports take).

import type { WasmKernelExports } from './wasm.js';

export const Op = {
  Gemm: 1, AddBias: 2, SumRows: 3, Mul: 4, Axpy: 5, Scale: 6, ActForward: 7, ActBackward: 8,
  GruForward: 9, GruBackward: 10, LstmForward: 11, LstmBackward: 12, Spmv16: 13, Spmv32: 14, Spmm16: 15, Spmm32: 16,
  Sddmm16: 17, Sddmm32: 18, Transpose: 19, SoftmaxXent: 20, OptimStep: 21,
  GruStep: 22, LstmStep: 23, RnnStep: 24, Sell4: 25, BsrSpmv16: 26, BsrSpmv32: 27, BsrSpmm16: 28, BsrSpmm32: 29,
  Sell4b: 30,
  Sell4b44: 31, GruInfer: 32, LstmInfer: 33, Sell4b41: 34, Sell4b12: 35,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Argument slots per call; SpMV/SpMM row boundaries (one per chunk + 1) follow at BOUNDS. */
export const ARGS = 16;
export const BOUNDS = 16;
export const MAX_THREADS = 64;
/** A call is cut into at most this many chunks, which the threads claim one at a time. */
export const MAX_CHUNKS = 256;
export const ARG_SLOTS = BOUNDS + MAX_CHUNKS + 1;

/** [start, end) of part t of n over `total` units, both ends multiples of `unit` (the last end is total). */
export function span(total: number, unit: number, t: number, n: number): [number, number] {
  const blocks = Math.ceil(total / unit);
  const b0 = Math.floor((blocks * t) / n), b1 = Math.floor((blocks * (t + 1)) / n);
  return [Math.min(total, b0 * unit), Math.min(total, b1 * unit)];
}

/**
 * GEMM split: by columns of C in blocks of 16 when B is transposed (NT/TT: each thread then packs only
 * its own columns of Bᵀ) or when there are few rows; otherwise by rows in blocks of 4.
 */
export function gemmSplitsColumns(transB: boolean, M: number, N: number): boolean {
  return transB || M < 64 || M < N;
}

/** Chunks per thread: enough for a thread that falls behind to be covered by the others. */
export const CHUNKS_PER_THREAD = 8;

/**
 * How many chunks to cut a call into for `threads` threads: about CHUNKS_PER_THREAD per thread, never
 * more than the call has blocks (the unit of its split), never more than MAX_CHUNKS.
 */
export function chunkCount(op: Op, a: Float64Array, threads: number): number {
  let units: number;
  switch (op) {
    case Op.Gemm:
      units = gemmSplitsColumns(a[1] !== 0, a[2], a[3]) ? Math.ceil(a[3] / 16) : Math.ceil(a[2] / 4);
      break;
    case Op.AddBias: case Op.GruForward: case Op.GruBackward: case Op.LstmForward: case Op.LstmBackward: case Op.SoftmaxXent:
    case Op.GruInfer: case Op.LstmInfer:
      units = a[0];
      break;
    case Op.SumRows:
      units = Math.ceil(a[1] / 16);
      break;
    case Op.GruStep: case Op.LstmStep: case Op.RnnStep:
      units = Math.ceil(a[1] / 16);
      break;
    case Op.Transpose:
      units = Math.ceil(a[1] / 16);
      break;
    case Op.Spmv16: case Op.Spmv32: case Op.Spmm16: case Op.Spmm32: case Op.Sddmm16: case Op.Sddmm32: case Op.Sell4: case Op.Sell4b: case Op.Sell4b44: case Op.Sell4b41: case Op.Sell4b12:
    case Op.BsrSpmv16: case Op.BsrSpmv32: case Op.BsrSpmm16: case Op.BsrSpmm32:
      units = a[0];
      break;
    default:
      units = Math.ceil(a[0] / 16);
  }
  return Math.max(1, Math.min(units, threads * CHUNKS_PER_THREAD, MAX_CHUNKS));
}

type Exports = WasmKernelExports & Record<string, (...a: number[]) => unknown>;

/**
 * Runs chunk t of n of the call described by (op, a) on one thread's kernel instance. Any thread may
 * run any chunk: the chunks' boundaries alone decide the arithmetic, and those sit on block multiples.
 */
export function runPart(e: Exports, op: Op, a: Float64Array, t: number, n: number): void {
  switch (op) {
    case Op.Gemm: {
      const tA = a[0], tB = a[1], M = a[2], N = a[3], K = a[4], A = a[5], lda = a[6], B = a[7], ldb = a[8];
      const C = a[9], ldc = a[10], acc = a[11];
      if (gemmSplitsColumns(tB !== 0, M, N)) {
        const [j0, j1] = span(N, 16, t, n);
        if (j1 <= j0) return;
        // Column j of op(B): B + j·4 (B stored K×N) or B + j·ldb·4 (stored N×K).
        const Bj = tB ? B + j0 * ldb * 4 : B + j0 * 4;
        e.gemm(tA, tB, M, j1 - j0, K, A, lda, Bj, ldb, C + j0 * 4, ldc, acc);
      } else {
        const [i0, i1] = span(M, 4, t, n);
        if (i1 <= i0) return;
        // Row i of op(A): A + i·lda·4 (stored M×K) or A + i·4 (stored K×M).
        const Ai = tA ? A + i0 * 4 : A + i0 * lda * 4;
        e.gemm(tA, tB, i1 - i0, N, K, Ai, lda, B, ldb, C + i0 * ldc * 4, ldc, acc);
      }
      return;
    }
    case Op.AddBias: {
      const [i0, i1] = span(a[0], 1, t, n);
      if (i1 > i0) e.addBias(i1 - i0, a[1], a[2] + i0 * a[3] * 4, a[3], a[4]);
      return;
    }
    case Op.SumRows: {
      const [j0, j1] = span(a[1], 16, t, n);
      if (j1 > j0) e.sumRows(a[0], j1 - j0, a[2] + j0 * 4, a[3], a[4] + j0 * 4);
      return;
    }
    case Op.Mul: {
      const [i0, i1] = span(a[0], 16, t, n);
      if (i1 > i0) e.mul(i1 - i0, a[1] + i0 * 4, a[2] + i0 * 4, a[3] + i0 * 4);
      return;
    }
    case Op.Axpy: {
      const [i0, i1] = span(a[0], 16, t, n);
      if (i1 > i0) e.axpy(i1 - i0, a[1], a[2] + i0 * 4, a[3] + i0 * 4);
      return;
    }
    case Op.Scale: {
      const [i0, i1] = span(a[0], 16, t, n);
      if (i1 > i0) e.scale(i1 - i0, a[1], a[2] + i0 * 4);
      return;
    }
    case Op.ActForward: {
      const [i0, i1] = span(a[0], 16, t, n);
      if (i1 > i0) e.actForward(i1 - i0, a[1], a[2] + i0 * 4);
      return;
    }
    case Op.ActBackward: {
      const [i0, i1] = span(a[0], 16, t, n);
      if (i1 > i0) e.actBackward(i1 - i0, a[1], a[2] + i0 * 4, a[3] + i0 * 4);
      return;
    }
    case Op.GruForward: {
      const H = a[1], ldh = a[6], [b0, b1] = span(a[0], 1, t, n);
      if (b1 <= b0) return;
      const g = b0 * 3 * H * 4, s = b0 * ldh * 4;
      e.gruForward(b1 - b0, H, a[2] + g, a[3] + g, a[4] + s, a[5] + s, ldh, a[7] + g, a[8] + b0 * H * 4);
      return;
    }
    case Op.GruBackward: {
      const H = a[1], ldh = a[4], [b0, b1] = span(a[0], 1, t, n);
      if (b1 <= b0) return;
      const g = b0 * 3 * H * 4, s = b0 * ldh * 4;
      e.gruBackward(b1 - b0, H, a[2] + s, a[3] + s, ldh, a[5] + g, a[6] + b0 * H * 4, a[7] + g, a[8] + g, a[9] + s);
      return;
    }
    case Op.LstmForward: {
      const H = a[1], ldh = a[6], [b0, b1] = span(a[0], 1, t, n);
      if (b1 <= b0) return;
      const g = b0 * 4 * H * 4, c = b0 * H * 4;
      e.lstmForward(b1 - b0, H, a[2] + g, a[3] + c, a[4] + c, a[5] + b0 * ldh * 4, ldh, a[7] + c);
      return;
    }
    case Op.GruInfer: {
      const H = a[1], ldh = a[6], [b0, b1] = span(a[0], 1, t, n);
      if (b1 <= b0) return;
      const g = b0 * 3 * H * 4, s = b0 * ldh * 4;
      e.gruInfer(b1 - b0, H, a[2] + g, a[3] + g, a[4] + s, a[5] + s, ldh);
      return;
    }
    case Op.LstmInfer: {
      const H = a[1], ldh = a[6], [b0, b1] = span(a[0], 1, t, n);
      if (b1 <= b0) return;
      const g = b0 * 4 * H * 4, c = b0 * H * 4;
      e.lstmInfer(b1 - b0, H, a[2] + g, a[3] + c, a[4] + c, a[5] + b0 * ldh * 4, ldh);
      return;
    }
    case Op.GruStep:
    case Op.LstmStep:
    case Op.RnnStep: {
      // A timestep cut by hidden units on multiples of 16 (the GEMM's column blocks); the kernel
      // takes the unit range and full-size pointers.
      const [j0, j1] = span(a[1], 16, t, n);
      if (j1 <= j0) return;
      if (op === Op.GruStep) e.gruStep(a[0], a[1], j0, j1, a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
      else if (op === Op.LstmStep) e.lstmStep(a[0], a[1], j0, j1, a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
      else e.rnnStep(a[0], a[1], j0, j1, a[8], a[2], a[3], a[4], a[5], a[6], a[7]);
      return;
    }
    case Op.OptimStep: {
      // Element-wise: every buffer moves with the chunk (unused state pointers are never read).
      const [i0, i1] = span(a[0], 16, t, n);
      if (i1 <= i0) return;
      const o = i0 * 4;
      e.optimStep(a[1], i1 - i0, a[2] + o, a[3] + o, a[4] + o, a[5] + o, a[6], a[7], a[8], a[9], a[10], a[11]);
      return;
    }
    case Op.SoftmaxXent: {
      // Rows are independent: x, d, targets and loss move with the chunk's first row.
      const V = a[1], [i0, i1] = span(a[0], 1, t, n);
      if (i1 <= i0) return;
      const r = i0 * V * 4;
      e.softmaxXent(i1 - i0, V, a[2] + r, a[3] + i0 * 4, a[4], a[4] ? a[5] + r : 0, a[6], a[7] + i0 * 4);
      return;
    }
    case Op.LstmBackward: {
      const H = a[1], ldh = a[3], [b0, b1] = span(a[0], 1, t, n);
      if (b1 <= b0) return;
      const g = b0 * 4 * H * 4, c = b0 * H * 4;
      e.lstmBackward(b1 - b0, H, a[2] + b0 * ldh * 4, ldh, a[4] + g, a[5] + c, a[6] + c, a[7] + c, a[8] + g);
      return;
    }
    case Op.Spmv16:
    case Op.Spmv32: {
      // Row boundaries balanced by non-zeros, computed once by the caller (a[BOUNDS + t]).
      const r0 = a[BOUNDS + t], r1 = a[BOUNDS + t + 1];
      if (r1 <= r0) return;
      const f = op === Op.Spmv16 ? e.sp_spmv16 : e.sp_spmv32;
      f(r1 - r0, a[1] + r0 * 4, a[2], a[3], a[4], a[5] + r0 * 4, a[6]);
      return;
    }
    case Op.Spmm16:
    case Op.Spmm32: {
      const r0 = a[BOUNDS + t], r1 = a[BOUNDS + t + 1], B = a[6];
      if (r1 <= r0) return;
      const f = op === Op.Spmm16 ? e.sp_spmm16 : e.sp_spmm32;
      f(r1 - r0, a[1] + r0 * 4, a[2], a[3], a[4], a[5] + r0 * B * 4, B, a[7]);
      return;
    }
    case Op.Sell4: {
      // (slices, sliceptr, perm, idx, vals, bias, y, acc): slice boundaries balanced by groups; x is
      // already staged by the calling thread (cols = 0), every row's arithmetic is the same.
      const s0 = a[BOUNDS + t], s1 = a[BOUNDS + t + 1];
      if (s1 > s0) e.sp_sell4(s1 - s0, a[1] + s0 * 4, a[2] + s0 * 16, a[3], a[4], 0, 0, a[6], a[7], a[5]);
      return;
    }
    case Op.Sell4b:
    case Op.Sell4b44:
    case Op.Sell4b41:
    case Op.Sell4b12: {
      const s0 = a[BOUNDS + t], s1 = a[BOUNDS + t + 1];
      const f = op === Op.Sell4b ? e.sp_sell4b : op === Op.Sell4b44 ? e.sp_sell4b44 : op === Op.Sell4b41 ? e.sp_sell4b41 : e.sp_sell4b12;
      if (s1 > s0) f(s1 - s0, a[1] + s0 * 4, a[2] + s0 * 16, a[3], a[4], 0, 0, a[6], a[7], a[5]);
      return;
    }
    case Op.BsrSpmv16:
    case Op.BsrSpmv32:
    case Op.BsrSpmm16:
    case Op.BsrSpmm32: {
      // (nbr, rowptr, colidx, values, x, y, acc, R, C, B): block rows balanced by stored blocks, as SpMV;
      // block row I writes output rows I·R … I·R + R − 1.
      const r0 = a[BOUNDS + t], r1 = a[BOUNDS + t + 1], R = a[7], C = a[8];
      if (r1 <= r0) return;
      if (op === Op.BsrSpmv16 || op === Op.BsrSpmv32)
        (op === Op.BsrSpmv16 ? e.bsr_spmv16 : e.bsr_spmv32)(R, C, r1 - r0, a[1] + r0 * 4, a[2], a[3], a[4], a[5] + r0 * R * 4, a[6]);
      else
        (op === Op.BsrSpmm16 ? e.bsr_spmm16 : e.bsr_spmm32)(R, C, r1 - r0, a[1] + r0 * 4, a[2], a[3], a[4], a[5] + r0 * R * a[9] * 4, a[9], a[6]);
      return;
    }
    case Op.Transpose: {
      // (rows, cols, src, lds, dst, ldd, acc): split by columns of src = rows of dst.
      const [j0, j1] = span(a[1], 16, t, n);
      if (j1 > j0) e.sp_transpose(a[0], j1 - j0, a[2] + j0 * 4, a[3], a[4] + j0 * a[5] * 4, a[5], a[6]);
      return;
    }
    case Op.Sddmm16:
    case Op.Sddmm32: {
      // (rows, rowptr, colidx, A, B, L, out, ldo): rows of A and of out move with the chunk.
      const r0 = a[BOUNDS + t], r1 = a[BOUNDS + t + 1], L = a[6], ldo = a[8];
      if (r1 <= r0) return;
      const f = op === Op.Sddmm16 ? e.sp_sddmm16 : e.sp_sddmm32;
      f(r1 - r0, a[1] + r0 * 4, a[2], a[3] + r0 * L * 4, a[4], L, a[7] + r0 * ldo * 4, ldo);
      return;
    }
  }
}

/**
 * Row boundaries for a CSR matrix split into n parts of about equal non-zeros (plus one unit per row,
 * so empty rows still count): bounds[t] is part t's first row. `rowptr` is the u32 view of the
 * matrix's row pointers (rows + 1 entries, absolute offsets).
 */
export function nnzBounds(rowptr: Uint32Array | Int32Array, base: number, rows: number, n: number, out: Float64Array, at: number): void {
  const start = rowptr[base] >>> 0, total = (rowptr[base + rows] >>> 0) - start + rows;
  out[at] = 0;
  let r = 0;
  for (let t = 1; t < n; t++) {
    const target = Math.floor((total * t) / n);
    // First row r with (rowptr[r] - start) + r ≥ target (monotone, binary search).
    let lo = r, hi = rows;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((rowptr[base + mid] >>> 0) - start + mid < target) lo = mid + 1;
      else hi = mid;
    }
    r = lo;
    out[at + t] = r;
  }
  out[at + n] = rows;
}

// Kernels that split each call across a ThreadPool. Same interface, same results bit for bit as the
// single-threaded WASM kernels (see parallel.ts); calls too small to repay a dispatch (about a
// microsecond with awake workers) run on the calling thread alone.

import type { Heap } from './heap.js';
import type { Kernels, OptimCode } from './types.js';
import type { WasmKernels, WasmVariant } from './wasm.js';
import { BOUNDS, Op, chunkCount, nnzBounds } from './parallel.js';
import type { ThreadPool } from './pool.js';
import type { SparseKernels } from './sparse.js';
import { SELL4_GROUP, SELL4_WINDOW, SELL4_XSTAGE, type Sell4Kernel, WasmSparseKernels, hasSparseExports } from './sparse.js';
import { type BsrKernels, WasmBsrKernels, hasBsrExports } from './bsr.js';

/** The pool operation of each SELL-4 kernel. */
const SELL4_OP: Record<Sell4Kernel, Op> = { sell4: Op.Sell4, sell4b: Op.Sell4b, sell4b44: Op.Sell4b44, sell4b41: Op.Sell4b41, sell4b12: Op.Sell4b12 };

// Below these sizes a call runs on one thread (work in multiply-adds or elements).
const MIN_GEMM_MACS = 32768;
const MIN_ELEMENTS = 16384;
const MIN_CELL_ELEMENTS = 1024;
// SDDMM (training's sparse weight gradient): every stored weight does a whole dot product.
const MIN_SDDMM_NNZ = 4096;
// Sparse products (CSR and BSR SpMV/SpMM, SELL-4): below this many stored weights a call is done
// before a split repays its dispatch and the cache lines of x and y moving between cores. Measured
// on 2 cores: SELL-4 at 20k non-zeros ran 2.3x slower split; CSR SpMM (bench/spmm-threads-ab.ts, two
// runs) at 10–20k non-zeros 0.53–1.14x of its 1-thread speed, mostly slower; 79k 0.73–1.77x; 157k on 1.4–1.9x.
export const MIN_PRODUCT_NNZ = 32768;
// Wake-up of sleeping workers on this 2-vCPU VM: 0.1–2 ms for a call's first chunk (measured), so an
// element-wise call that finds them all asleep splits only at 8x its size threshold.
const ASLEEP_SCALE = 8;

export class ThreadedKernels implements Kernels {
  readonly name = 'wasm' as const;
  readonly heap: Heap;
  readonly variant: WasmVariant;
  readonly sparse: SparseKernels;
  readonly bsr: BsrKernels;
  private readonly a: Float64Array;
  private readonly splitAll: boolean;

  constructor(readonly inner: WasmKernels, readonly pool: ThreadPool, opts: { splitAll?: boolean } = {}) {
    this.splitAll = opts.splitAll ?? false;
    this.heap = inner.heap;
    this.variant = inner.variant;
    this.a = pool.args;
    this.sparse = new ThreadedSparseKernels(this);
    this.bsr = new ThreadedBsrKernels(this);
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Scale of the size thresholds below which a call stays on one thread: 0 splits every call (tests). */
  get minScale(): number {
    return this.splitAll ? 0 : 1;
  }

  /**
   * The same for the cheap element-wise calls (bias, transpose, activations, optimizer…): ASLEEP_SCALE
   * while every worker sleeps, as after a stretch of single-threaded calls (a model's timesteps):
   * waking one takes longer than such a call. Products keep minScale: a model that splits its
   * recurrent product every timestep would otherwise never wake its workers again.
   */
  get elementScale(): number {
    return this.splitAll ? 0 : this.pool.sleeping() ? ASLEEP_SCALE : 1;
  }

  /** Runs `op` (arguments already in the pool's slots) in chunks over every thread. */
  go(op: Op): void {
    this.pool.run(op, chunkCount(op, this.a, this.pool.threads));
  }

  /** Exports of the calling thread's instance (what `sparseKernelsFor` and tests look at). */
  get exports() {
    return this.inner.exports;
  }

  gemm(tA: boolean, tB: boolean, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, C: number, ldc: number, acc: boolean): void {
    if (M * N * K < MIN_GEMM_MACS * this.minScale || M <= 0 || N <= 0 || K <= 0) {
      this.inner.gemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, acc);
      return;
    }
    const a = this.a;
    a[0] = tA ? 1 : 0; a[1] = tB ? 1 : 0; a[2] = M; a[3] = N; a[4] = K;
    a[5] = A * 4; a[6] = lda; a[7] = B * 4; a[8] = ldb; a[9] = C * 4; a[10] = ldc; a[11] = acc ? 1 : 0;
    this.go(Op.Gemm);
  }
  addBias(M: number, N: number, C: number, ldc: number, bias: number): void {
    if (M * N < MIN_ELEMENTS * this.elementScale || M < 2) { this.inner.addBias(M, N, C, ldc, bias); return; }
    const a = this.a;
    a[0] = M; a[1] = N; a[2] = C * 4; a[3] = ldc; a[4] = bias * 4;
    this.go(Op.AddBias);
  }
  sumRows(M: number, N: number, dC: number, ldc: number, db: number): void {
    if (M * N < MIN_ELEMENTS * this.elementScale || N < 32 * this.minScale) { this.inner.sumRows(M, N, dC, ldc, db); return; }
    const a = this.a;
    a[0] = M; a[1] = N; a[2] = dC * 4; a[3] = ldc; a[4] = db * 4;
    this.go(Op.SumRows);
  }
  mul(n: number, x: number, m: number, y: number): void {
    if (n < MIN_ELEMENTS * this.elementScale) { this.inner.mul(n, x, m, y); return; }
    const a = this.a;
    a[0] = n; a[1] = x * 4; a[2] = m * 4; a[3] = y * 4;
    this.go(Op.Mul);
  }
  axpy(n: number, alpha: number, x: number, y: number): void {
    if (n < MIN_ELEMENTS * this.elementScale) { this.inner.axpy(n, alpha, x, y); return; }
    const a = this.a;
    a[0] = n; a[1] = alpha; a[2] = x * 4; a[3] = y * 4;
    this.go(Op.Axpy);
  }
  /** A reduction: one thread, so the sum's rounding never depends on the thread count. */
  sumSquares(n: number, x: number): number {
    return this.inner.sumSquares(n, x);
  }
  scale(n: number, alpha: number, x: number): void {
    if (n < MIN_ELEMENTS * this.elementScale) { this.inner.scale(n, alpha, x); return; }
    const a = this.a;
    a[0] = n; a[1] = alpha; a[2] = x * 4;
    this.go(Op.Scale);
  }
  actForward(n: number, act: number, x: number): void {
    if (n < MIN_ELEMENTS * this.elementScale) { this.inner.actForward(n, act, x); return; }
    const a = this.a;
    a[0] = n; a[1] = act; a[2] = x * 4;
    this.go(Op.ActForward);
  }
  actBackward(n: number, act: number, y: number, d: number): void {
    if (n < MIN_ELEMENTS * this.elementScale) { this.inner.actBackward(n, act, y, d); return; }
    const a = this.a;
    a[0] = n; a[1] = act; a[2] = y * 4; a[3] = d * 4;
    this.go(Op.ActBackward);
  }
  gruForward(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number,
    gates: number, ghn: number): void {
    if (B * H < MIN_CELL_ELEMENTS * this.minScale || B < 2) { this.inner.gruForward(B, H, gi, gh, hPrev, h, ldh, gates, ghn); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = gi * 4; a[3] = gh * 4; a[4] = hPrev * 4; a[5] = h * 4; a[6] = ldh; a[7] = gates * 4; a[8] = ghn * 4;
    this.go(Op.GruForward);
  }
  gruBackward(B: number, H: number, dh: number, hPrev: number, ldh: number, gates: number, ghn: number,
    dgi: number, dgh: number, dhPrev: number): void {
    if (B * H < MIN_CELL_ELEMENTS * this.minScale || B < 2) { this.inner.gruBackward(B, H, dh, hPrev, ldh, gates, ghn, dgi, dgh, dhPrev); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = dh * 4; a[3] = hPrev * 4; a[4] = ldh; a[5] = gates * 4; a[6] = ghn * 4;
    a[7] = dgi * 4; a[8] = dgh * 4; a[9] = dhPrev * 4;
    this.go(Op.GruBackward);
  }
  lstmForward(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number, tc: number): void {
    if (B * H < MIN_CELL_ELEMENTS * this.minScale || B < 2) { this.inner.lstmForward(B, H, g4, cPrev, c, h, ldh, tc); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = g4 * 4; a[3] = cPrev * 4; a[4] = c * 4; a[5] = h * 4; a[6] = ldh; a[7] = tc * 4;
    this.go(Op.LstmForward);
  }
  gruInfer(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number): void {
    if (B * H < MIN_CELL_ELEMENTS * this.minScale || B < 2) { this.inner.gruInfer(B, H, gi, gh, hPrev, h, ldh); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = gi * 4; a[3] = gh * 4; a[4] = hPrev * 4; a[5] = h * 4; a[6] = ldh;
    this.go(Op.GruInfer);
  }
  lstmInfer(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number): void {
    if (B * H < MIN_CELL_ELEMENTS * this.minScale || B < 2) { this.inner.lstmInfer(B, H, g4, cPrev, c, h, ldh); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = g4 * 4; a[3] = cPrev * 4; a[4] = c * 4; a[5] = h * 4; a[6] = ldh;
    this.go(Op.LstmInfer);
  }
  lstmBackward(B: number, H: number, dh: number, ldh: number, g4: number, cPrev: number, tc: number,
    dc: number, dg4: number): void {
    if (B * H < MIN_CELL_ELEMENTS * this.minScale || B < 2) { this.inner.lstmBackward(B, H, dh, ldh, g4, cPrev, tc, dc, dg4); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = dh * 4; a[3] = ldh; a[4] = g4 * 4; a[5] = cPrev * 4; a[6] = tc * 4; a[7] = dc * 4; a[8] = dg4 * 4;
    this.go(Op.LstmBackward);
  }
  gruStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    gi: number, gh: number, h: number, gates: number, ghn: number): void {
    if (B * 3 * H * H < MIN_GEMM_MACS * this.minScale) { this.inner.gruStep(B, H, hPrev, ldh, whh, bhh, gi, gh, h, gates, ghn); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = hPrev * 4; a[3] = ldh; a[4] = whh * 4; a[5] = bhh * 4;
    a[6] = gi * 4; a[7] = gh * 4; a[8] = h * 4; a[9] = gates * 4; a[10] = ghn * 4;
    this.go(Op.GruStep);
  }
  lstmStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    g4: number, cPrev: number, c: number, h: number, tc: number): void {
    if (B * 4 * H * H < MIN_GEMM_MACS * this.minScale) { this.inner.lstmStep(B, H, hPrev, ldh, whh, bhh, g4, cPrev, c, h, tc); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = hPrev * 4; a[3] = ldh; a[4] = whh * 4; a[5] = bhh * 4;
    a[6] = g4 * 4; a[7] = cPrev * 4; a[8] = c * 4; a[9] = h * 4; a[10] = tc * 4;
    this.go(Op.LstmStep);
  }
  rnnStep(B: number, H: number, act: number, hPrev: number, ldh: number, whh: number, bhh: number, gi: number, h: number): void {
    if (B * H * H < MIN_GEMM_MACS * this.minScale) { this.inner.rnnStep(B, H, act, hPrev, ldh, whh, bhh, gi, h); return; }
    const a = this.a;
    a[0] = B; a[1] = H; a[2] = hPrev * 4; a[3] = ldh; a[4] = whh * 4; a[5] = bhh * 4;
    a[6] = gi * 4; a[7] = h * 4; a[8] = act;
    this.go(Op.RnnStep);
  }
  softmaxXent(N: number, V: number, x: number, targets: number, d: number, scale: number, loss: number): void {
    if (N * V < MIN_ELEMENTS * this.elementScale || N < 2) { this.inner.softmaxXent(N, V, x, targets, d, scale, loss); return; }
    const a = this.a;
    a[0] = N; a[1] = V; a[2] = x * 4; a[3] = targets * 4; a[4] = d >= 0 ? 1 : 0; a[5] = d >= 0 ? d * 4 : 0; a[6] = scale; a[7] = loss * 4;
    this.go(Op.SoftmaxXent);
  }
  optimStep(kind: OptimCode, n: number, w: number, g: number, m: number, v: number,
    alpha: number, wd: number, b1: number, b2: number, eps: number, sc2: number): void {
    if (n < MIN_ELEMENTS * this.elementScale) { this.inner.optimStep(kind, n, w, g, m, v, alpha, wd, b1, b2, eps, sc2); return; }
    const a = this.a;
    a[0] = n; a[1] = kind; a[2] = w * 4; a[3] = g * 4; a[4] = m * 4; a[5] = v * 4;
    a[6] = alpha; a[7] = wd; a[8] = b1; a[9] = b2; a[10] = eps; a[11] = sc2;
    this.go(Op.OptimStep);
  }
}

/** SpMV / SpMM / SDDMM split by rows, balanced by non-zeros; the transpose by columns. */
export class ThreadedSparseKernels implements SparseKernels {
  readonly name = 'wasm' as const;
  readonly heap: Heap;
  private readonly one: SparseKernels;

  constructor(private readonly k: ThreadedKernels) {
    this.heap = k.heap;
    const e = k.inner.exports;
    if (!hasSparseExports(e)) throw new Error('kernels: the WASM module has no sparse kernels');
    this.one = new WasmSparseKernels(k.heap, e);
  }

  /**
   * Cuts the rows into chunks of about equal non-zeros, chunk boundaries on multiples of `align`
   * rows; 0 when the matrix is too small to split.
   */
  private chunks(rows: number, rowptr: number, perEntry = 1, align = 1, minNnz = MIN_PRODUCT_NNZ): number {
    const i32 = this.heap.i32;
    const nnz = ((i32[rowptr + rows] >>> 0) - (i32[rowptr] >>> 0)) * perEntry;
    if (nnz < minNnz * this.k.minScale || rows < 2) return 0;
    const a = this.k.pool.args;
    a[0] = Math.ceil(rows / align);
    const n = chunkCount(Op.Spmv16, a, this.k.threads);
    nnzBounds(i32, rowptr, rows, n, a, BOUNDS);
    if (align > 1) {
      for (let t = 1; t < n; t++) a[BOUNDS + t] = Math.max(a[BOUNDS + t - 1], Math.min(rows, Math.round(a[BOUNDS + t] / align) * align));
    }
    return n;
  }

  spmv(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void {
    const n = this.chunks(rows, rowptr);
    if (!n) { this.one.spmv(idx16, rows, rowptr, colidx, values, x, y, accumulate); return; }
    const a = this.k.pool.args;
    a[0] = rows; a[1] = rowptr * 4; a[2] = colidx * 4; a[3] = values * 4; a[4] = x * 4; a[5] = y * 4; a[6] = accumulate ? 1 : 0;
    this.k.pool.run(idx16 ? Op.Spmv16 : Op.Spmv32, n);
  }
  spmm(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void {
    const n = this.chunks(rows, rowptr);
    if (!n) { this.one.spmm(idx16, rows, rowptr, colidx, values, X, Y, B, accumulate); return; }
    const a = this.k.pool.args;
    a[0] = rows; a[1] = rowptr * 4; a[2] = colidx * 4; a[3] = values * 4; a[4] = X * 4; a[5] = Y * 4; a[6] = B; a[7] = accumulate ? 1 : 0;
    this.k.pool.run(idx16 ? Op.Spmm16 : Op.Spmm32, n);
  }
  sell4(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    this.sliced('sell4', slices, sliceptr, perm, idx, vals, x, cols, y, accumulate, bias);
  }
  sell4b(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    this.sliced('sell4b', slices, sliceptr, perm, idx, vals, x, cols, y, accumulate, bias);
  }
  sell4b44(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    this.sliced('sell4b44', slices, sliceptr, perm, idx, vals, x, cols, y, accumulate, bias);
  }
  sell4b41(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    this.sliced('sell4b41', slices, sliceptr, perm, idx, vals, x, cols, y, accumulate, bias);
  }
  sell4b12(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    this.sliced('sell4b12', slices, sliceptr, perm, idx, vals, x, cols, y, accumulate, bias);
  }
  /** sell4 (CSR entries), sell4b (1×4 blocks), sell4b44 (4×4), sell4b41 (4×1) or sell4b12 (1×2). */
  private sliced(kernel: Sell4Kernel, slices: number, sliceptr: number, perm: number, idx: number, vals: number,
    x: number, cols: number, y: number, accumulate: boolean, bias: number): void {
    // sliceptr counts groups of 4 entries (weights per group: SELL4_GROUP); chunks of whole sorting
    // windows (no two threads write one cache line of y).
    const n = this.chunks(slices, sliceptr, SELL4_GROUP[kernel], SELL4_WINDOW / 4);
    if (!n) {
      this.one[kernel](slices, sliceptr, perm, idx, vals, x, cols, y, accumulate, bias);
      return;
    }
    // Stage x once here (every thread reads it there); the pool's dispatch publishes the copy.
    this.heap.copy(SELL4_XSTAGE / 4, x, cols);
    const a = this.k.pool.args;
    a[0] = slices; a[1] = sliceptr * 4; a[2] = perm * 4; a[3] = idx * 4; a[4] = vals * 4; a[5] = bias * 4; a[6] = y * 4; a[7] = accumulate ? 1 : 0;
    this.k.pool.run(SELL4_OP[kernel], n);
  }
  transpose(rows: number, cols: number, src: number, lds: number, dst: number, ldd: number, accumulate: boolean): void {
    if (rows * cols < MIN_ELEMENTS * this.k.elementScale || cols < 32) {
      this.one.transpose(rows, cols, src, lds, dst, ldd, accumulate);
      return;
    }
    const a = this.k.pool.args;
    a[0] = rows; a[1] = cols; a[2] = src * 4; a[3] = lds; a[4] = dst * 4; a[5] = ldd; a[6] = accumulate ? 1 : 0;
    this.k.pool.run(Op.Transpose, chunkCount(Op.Transpose, a, this.k.threads));
  }
  sddmm(idx16: boolean, rows: number, rowptr: number, colidx: number, A: number, B: number, L: number,
    out: number, ldo: number): void {
    const n = this.chunks(rows, rowptr, 1, 1, MIN_SDDMM_NNZ);
    if (!n) { this.one.sddmm(idx16, rows, rowptr, colidx, A, B, L, out, ldo); return; }
    const a = this.k.pool.args;
    a[0] = rows; a[1] = rowptr * 4; a[2] = colidx * 4; a[3] = A * 4; a[4] = B * 4; a[5] = 0; a[6] = L; a[7] = out * 4; a[8] = ldo;
    this.k.pool.run(idx16 ? Op.Sddmm16 : Op.Sddmm32, n);
  }
}

/** BSR SpMV / SpMM split by block rows, balanced by stored blocks (bit-identical to one thread). */
export class ThreadedBsrKernels implements BsrKernels {
  readonly name = 'wasm' as const;
  readonly heap: Heap;
  private readonly one: BsrKernels;

  constructor(private readonly k: ThreadedKernels) {
    this.heap = k.heap;
    const e = k.inner.exports;
    if (!hasBsrExports(e)) throw new Error('kernels: the WASM module has no BSR kernels');
    this.one = new WasmBsrKernels(k.heap, e);
  }

  /** Chunks of block rows of about equal stored blocks; 0 when the matrix is too small to split. */
  private chunks(R: number, C: number, nbr: number, rowptr: number): number {
    const i32 = this.heap.i32;
    const blocks = (i32[rowptr + nbr] >>> 0) - (i32[rowptr] >>> 0);
    if (blocks * R * C < MIN_PRODUCT_NNZ * this.k.minScale || nbr < 2) return 0;
    const a = this.k.pool.args;
    a[0] = nbr;
    const n = chunkCount(Op.BsrSpmv16, a, this.k.threads);
    nnzBounds(i32, rowptr, nbr, n, a, BOUNDS);
    return n;
  }

  spmv(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void {
    const n = this.chunks(R, C, nbr, rowptr);
    if (!n) { this.one.spmv(R, C, idx16, nbr, rowptr, colidx, values, x, y, accumulate); return; }
    const a = this.k.pool.args;
    a[0] = nbr; a[1] = rowptr * 4; a[2] = colidx * 4; a[3] = values * 4; a[4] = x * 4; a[5] = y * 4; a[6] = accumulate ? 1 : 0;
    a[7] = R; a[8] = C; a[9] = 1;
    this.k.pool.run(idx16 ? Op.BsrSpmv16 : Op.BsrSpmv32, n);
  }
  spmm(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void {
    const n = this.chunks(R, C, nbr, rowptr);
    if (!n) { this.one.spmm(R, C, idx16, nbr, rowptr, colidx, values, X, Y, B, accumulate); return; }
    const a = this.k.pool.args;
    a[0] = nbr; a[1] = rowptr * 4; a[2] = colidx * 4; a[3] = values * 4; a[4] = X * 4; a[5] = Y * 4; a[6] = accumulate ? 1 : 0;
    a[7] = R; a[8] = C; a[9] = B;
    this.k.pool.run(idx16 ? Op.BsrSpmm16 : Op.BsrSpmm32, n);
  }
}

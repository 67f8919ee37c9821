// Plain TypeScript reference for the sparse kernels (see sparse.ts for the contract).

import type { Heap } from './heap.js';
import type { SparseKernels } from './sparse.js';

export class SparseRefKernels implements SparseKernels {
  readonly name = 'ts' as const;
  private buf: ArrayBufferLike | null = null;
  private u16 = new Uint16Array(0);
  private u32 = new Uint32Array(0);
  constructor(readonly heap: Heap) {}

  private views(): void {
    const b = this.heap.memory.buffer;
    if (b !== this.buf) {
      this.buf = b;
      this.u16 = new Uint16Array(b);
      this.u32 = new Uint32Array(b);
    }
  }

  spmv(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void {
    this.views();
    const f = this.heap.f32, u32 = this.u32;
    const ci = idx16 ? this.u16 : u32;
    const cbase = idx16 ? colidx * 2 : colidx;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const end = u32[rowptr + r + 1];
      for (let k = u32[rowptr + r]; k < end; k++) s += f[values + k] * f[x + ci[cbase + k]];
      f[y + r] = accumulate ? f[y + r] + s : s;
    }
  }

  spmm(idx16: boolean, rows: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void {
    this.views();
    const f = this.heap.f32, u32 = this.u32;
    const ci = idx16 ? this.u16 : u32;
    const cbase = idx16 ? colidx * 2 : colidx;
    for (let r = 0; r < rows; r++) {
      const yr = Y + r * B;
      if (!accumulate) f.fill(0, yr, yr + B);
      const end = u32[rowptr + r + 1];
      for (let k = u32[rowptr + r]; k < end; k++) {
        const v = f[values + k];
        const xr = X + ci[cbase + k] * B;
        for (let b = 0; b < B; b++) f[yr + b] += v * f[xr + b];
      }
    }
  }

  /** The simd128 kernel's exact arithmetic: per lane, f32 sums of even and odd groups, then added. */
  sell4(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    void cols;
    this.views();
    const f = this.heap.f32, u16 = this.u16, fr = Math.fround;
    this.eachLane(slices, sliceptr, perm, y, accumulate, bias, (g0, g1, l) => {
      let s0 = 0, s1 = 0;
      for (let g = g0; g < g1; g++) {
        const k = g * 4 + l, t = fr(f[vals + k] * f[x + u16[idx * 2 + k] / 4]);
        if ((g - g0) & 1) s1 = fr(s1 + t);
        else s0 = fr(s0 + t);
      }
      return fr(s0 + s1);
    });
  }

  /** The simd128 kernel's exact arithmetic: per lane, 4 f32 column sums over its blocks, then (0 + 2) + (1 + 3). */
  sell4b(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    void cols;
    this.views();
    this.blockSlices(slices, sliceptr, perm, vals, x, y, accumulate, bias, (g, l) => this.u16[idx * 2 + g * 4 + l]);
  }

  /** sell4b with one column offset per group (4×4 blocks): the same arithmetic. */
  sell4b44(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    void cols;
    this.views();
    this.blockSlices(slices, sliceptr, perm, vals, x, y, accumulate, bias, (g) => this.u16[idx * 2 + g]);
  }

  /** The simd128 kernel's exact arithmetic: per lane, f32 sums over the groups g ≡ 0…3 (mod 4) from the slice's first, then (0 + 1) + (2 + 3). */
  sell4b41(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    void cols;
    this.views();
    const f = this.heap.f32, u16 = this.u16, fr = Math.fround, a = [0, 0, 0, 0];
    this.eachLane(slices, sliceptr, perm, y, accumulate, bias, (g0, g1, l) => {
      a.fill(0);
      for (let g = g0; g < g1; g++) a[(g - g0) & 3] = fr(a[(g - g0) & 3] + fr(f[vals + g * 4 + l] * f[x + u16[idx * 2 + g] / 4]));
      return fr(fr(a[0] + a[1]) + fr(a[2] + a[3]));
    });
  }

  /** The simd128 kernel's exact arithmetic: per lane and block column, f32 sums over even and odd groups; then (even₀ + odd₀) + (even₁ + odd₁). */
  sell4b12(slices: number, sliceptr: number, perm: number, idx: number, vals: number, x: number, cols: number,
    y: number, accumulate: boolean, bias = 0): void {
    void cols;
    this.views();
    const f = this.heap.f32, u16 = this.u16, fr = Math.fround, a = [0, 0, 0, 0]; // even₀, even₁, odd₀, odd₁
    this.eachLane(slices, sliceptr, perm, y, accumulate, bias, (g0, g1, l) => {
      a.fill(0);
      for (let g = g0; g < g1; g++) {
        const v = vals + (g * 4 + l) * 2, xc = x + u16[idx * 2 + g * 4 + l] / 4, o = ((g - g0) & 1) * 2;
        a[o] = fr(a[o] + fr(f[v] * f[xc]));
        a[o + 1] = fr(a[o + 1] + fr(f[v + 1] * f[xc + 1]));
      }
      return fr(fr(a[0] + a[2]) + fr(a[1] + a[3]));
    });
  }

  /** sell4b's arithmetic; `colOf(g, l)`: the byte offset of lane l's block in group g. */
  private blockSlices(slices: number, sliceptr: number, perm: number, vals: number, x: number, y: number,
    accumulate: boolean, bias: number, colOf: (g: number, l: number) => number): void {
    const f = this.heap.f32, fr = Math.fround, a = [0, 0, 0, 0];
    this.eachLane(slices, sliceptr, perm, y, accumulate, bias, (g0, g1, l) => {
      a.fill(0);
      for (let g = g0; g < g1; g++) {
        const v = vals + (g * 4 + l) * 4, xc = x + colOf(g, l) / 4;
        for (let c = 0; c < 4; c++) a[c] = fr(a[c] + fr(f[v + c] * f[xc + c]));
      }
      return fr(fr(a[0] + a[2]) + fr(a[1] + a[3]));
    });
  }

  /**
   * The slice and lane loops of every SELL-4 kernel: lane l of slice s writes `rowSum(g0, g1, l)`, its
   * sum over the slice's groups [g0, g1), to its row (perm), as the kernels' putRow: + y[row] when
   * accumulating, then + bias[row]. Views must be fresh (the caller's this.views()).
   */
  private eachLane(slices: number, sliceptr: number, perm: number, y: number, accumulate: boolean, bias: number,
    rowSum: (g0: number, g1: number, l: number) => number): void {
    const f = this.heap.f32, u32 = this.u32, fr = Math.fround;
    for (let s = 0; s < slices; s++) {
      const g0 = u32[sliceptr + s], g1 = u32[sliceptr + s + 1];
      for (let l = 0; l < 4; l++) {
        const p = u32[perm + s * 4 + l];
        if (p === 0xffffffff) continue;
        const o = y + p / 4;
        let v = rowSum(g0, g1, l);
        if (accumulate) v = fr(f[o] + v);
        if (bias) v = fr(v + f[bias + p / 4]);
        f[o] = v;
      }
    }
  }

  transpose(rows: number, cols: number, src: number, lds: number, dst: number, ldd: number, accumulate: boolean): void {
    const f = this.heap.f32;
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        const d = dst + j * ldd + i;
        f[d] = accumulate ? f[d] + f[src + i * lds + j] : f[src + i * lds + j];
      }
  }

  sddmm(idx16: boolean, rows: number, rowptr: number, colidx: number, A: number, B: number, L: number,
    out: number, ldo: number): void {
    this.views();
    const f = this.heap.f32, u32 = this.u32;
    const ci = idx16 ? this.u16 : u32;
    const cbase = idx16 ? colidx * 2 : colidx;
    for (let r = 0; r < rows; r++) {
      const end = u32[rowptr + r + 1];
      for (let k = u32[rowptr + r]; k < end; k++) {
        const c = ci[cbase + k];
        let s = 0;
        for (let l = 0; l < L; l++) s += f[A + r * L + l] * f[B + c * L + l];
        f[out + r * ldo + c] += s;
      }
    }
  }
}

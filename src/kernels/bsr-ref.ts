// Plain TypeScript reference for the BSR kernels (contract in bsr.ts): the obvious loops, in the
// order of the definition (block by block, then column by column).

import type { BsrKernels } from './bsr.js';
import type { Heap } from './heap.js';

export class BsrRefKernels implements BsrKernels {
  readonly name = 'ts' as const;
  private buf: ArrayBufferLike | null = null;
  private u16 = new Uint16Array(0);
  private u32 = new Uint32Array(0);
  constructor(readonly heap: Heap) {}

  private index(idx16: boolean, colidx: number): { ci: Uint16Array | Uint32Array; base: number } {
    const b = this.heap.memory.buffer;
    if (b !== this.buf) {
      this.buf = b;
      this.u16 = new Uint16Array(b);
      this.u32 = new Uint32Array(b);
    }
    return idx16 ? { ci: this.u16, base: colidx * 2 } : { ci: this.u32, base: colidx };
  }

  spmv(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    x: number, y: number, accumulate: boolean): void {
    const { ci, base } = this.index(idx16, colidx);
    const f = this.heap.f32, u32 = this.u32, RC = R * C;
    for (let I = 0; I < nbr; I++) {
      const k0 = u32[rowptr + I], k1 = u32[rowptr + I + 1];
      for (let r = 0; r < R; r++) {
        let s = 0;
        for (let k = k0; k < k1; k++) {
          const xo = x + ci[base + k] * C, vo = values + k * RC + r * C;
          for (let c = 0; c < C; c++) s += f[vo + c] * f[xo + c];
        }
        const o = y + I * R + r;
        f[o] = accumulate ? f[o] + s : s;
      }
    }
  }

  spmm(R: number, C: number, idx16: boolean, nbr: number, rowptr: number, colidx: number, values: number,
    X: number, Y: number, B: number, accumulate: boolean): void {
    const { ci, base } = this.index(idx16, colidx);
    const f = this.heap.f32, u32 = this.u32, RC = R * C;
    for (let I = 0; I < nbr; I++) {
      const k0 = u32[rowptr + I], k1 = u32[rowptr + I + 1];
      for (let r = 0; r < R; r++) {
        const yr = Y + (I * R + r) * B;
        if (!accumulate) f.fill(0, yr, yr + B);
        for (let k = k0; k < k1; k++) {
          const col = ci[base + k] * C, vo = values + k * RC + r * C;
          for (let c = 0; c < C; c++) {
            const v = f[vo + c], xr = X + (col + c) * B;
            for (let b = 0; b < B; b++) f[yr + b] += v * f[xr + b];
          }
        }
      }
    }
  }
}

// Block-sparse (BSR) kernels (AssemblyScript, WebAssembly SIMD f32x4). Contract: src/kernels/bsr.ts.
//
// A BSR matrix of R×C blocks: rowptr (u32, one entry per block row + 1), colidx (u16 or u32, the
// BLOCK column J of each stored block: its columns are J·C … J·C + C − 1) and values (f32, R·C per
// block, row-major inside the block). All pointers are BYTE offsets into the imported memory.
//
// Why blocks are faster than CSR: the columns of a block are contiguous, so x is LOADED (one v128
// per 4 columns) instead of gathered lane by lane, and there is one index per R·C weights.
//  * 1x4: one f32x4 of values times one f32x4 load of x per block, 4 blocks per iteration.
//  * C a multiple of 4, R = 4 (e.g. 4x4): per block one x vector per 4 columns, multiplied by the
//    4 rows' value vectors into 4 row accumulators.
//  * C a multiple of 4, other R (e.g. 1x4, 2x8): the block row is walked once per pair of block rows
//    (two rows share each x load), and once more for an odd last row, 4 blocks at a time; always 4
//    independent accumulators (one chain would be bound by the add latency, not by memory).
//  * C = 1, R a multiple of 4 (e.g. 8x1): a column block: x[J] splat times R contiguous values into
//    R/4 output vectors (two blocks at a time).
//  * anything else: scalar.
// The reduction order of an output row depends only on the block row's own blocks, so splitting the
// block rows across threads never changes a result.

import { madd } from './simd';

// @ts-ignore: decorator
@inline function hsum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

// @ts-ignore: decorator
@inline function storeY(py: usize, s: f32, acc: i32): void {
  store<f32>(py, acc ? load<f32>(py) + s : s);
}

// @ts-ignore: decorator
@inline function bsrSpmvT<I>(R: i32, C: i32, nbr: i32, rowptr: usize, colidx: usize, values: usize, x: usize, y: usize, acc: i32): void {
  const Cb = <usize>C << 2;              // bytes of one block row of x / of one row of a block
  const blockB = <usize>(R * C) << 2;    // bytes of one block's values
  let start = <usize>load<u32>(rowptr);
  for (let I = 0; I < nbr; I++) {
    const end = <usize>load<u32>(rowptr + ((<usize>I + 1) << 2));
    const yI = y + ((<usize>I * <usize>R) << 2);
    if ((C & 3) === 0 && R === 4) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let k = start; k < end; k++) {
        const xp = x + <usize>load<I>(colidx + k * sizeof<I>()) * Cb;
        const vp = values + k * blockB;
        for (let c: usize = 0; c < Cb; c += 16) {
          const xv = v128.load(xp + c);
          a0 = madd(v128.load(vp + c), xv, a0);
          a1 = madd(v128.load(vp + Cb + c), xv, a1);
          a2 = madd(v128.load(vp + 2 * Cb + c), xv, a2);
          a3 = madd(v128.load(vp + 3 * Cb + c), xv, a3);
        }
      }
      storeY(yI, hsum(a0), acc);
      storeY(yI + 4, hsum(a1), acc);
      storeY(yI + 8, hsum(a2), acc);
      storeY(yI + 12, hsum(a3), acc);
    } else if (C === 4 && R === 1) {
      // 1x4, the common block: per block one f32x4 of values and one of x, 4 blocks per iteration.
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let pv = values + (start << 4);
      let pc = colidx + start * sizeof<I>();
      const pe = values + (end << 4);
      const pe4 = pv + (((end - start) & ~(<usize>3)) << 4);
      while (pv < pe4) {
        a0 = madd(v128.load(pv), v128.load(x + (<usize>load<I>(pc) << 4)), a0);
        a1 = madd(v128.load(pv, 16), v128.load(x + (<usize>load<I>(pc + sizeof<I>()) << 4)), a1);
        a2 = madd(v128.load(pv, 32), v128.load(x + (<usize>load<I>(pc + 2 * sizeof<I>()) << 4)), a2);
        a3 = madd(v128.load(pv, 48), v128.load(x + (<usize>load<I>(pc + 3 * sizeof<I>()) << 4)), a3);
        pv += 64;
        pc += 4 * sizeof<I>();
      }
      while (pv < pe) {
        a0 = madd(v128.load(pv), v128.load(x + (<usize>load<I>(pc) << 4)), a0);
        pv += 16;
        pc += sizeof<I>();
      }
      storeY(yI, hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))), acc);
    } else if ((C & 3) === 0) {
      // Rows of the block in groups of 2 or 1; always 4 independent accumulator chains (a single chain
      // would be bound by the add latency, not by memory).
      let r = 0;
      for (; r + 2 <= R; r += 2) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
        const rowOff = <usize>r * Cb;
        let k = start;
        for (; k + 2 <= end; k += 2) {
          const xp = x + <usize>load<I>(colidx + k * sizeof<I>()) * Cb;
          const xq = x + <usize>load<I>(colidx + (k + 1) * sizeof<I>()) * Cb;
          const vp = values + k * blockB + rowOff, vq = vp + blockB;
          for (let c: usize = 0; c < Cb; c += 16) {
            const xv = v128.load(xp + c), xw = v128.load(xq + c);
            a0 = madd(v128.load(vp + c), xv, a0);
            b0 = madd(v128.load(vp + Cb + c), xv, b0);
            a1 = madd(v128.load(vq + c), xw, a1);
            b1 = madd(v128.load(vq + Cb + c), xw, b1);
          }
        }
        if (k < end) {
          const xp = x + <usize>load<I>(colidx + k * sizeof<I>()) * Cb;
          const vp = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 16) {
            const xv = v128.load(xp + c);
            a0 = madd(v128.load(vp + c), xv, a0);
            b0 = madd(v128.load(vp + Cb + c), xv, b0);
          }
        }
        storeY(yI + (<usize>r << 2), hsum(f32x4.add(a0, a1)), acc);
        storeY(yI + (<usize>(r + 1) << 2), hsum(f32x4.add(b0, b1)), acc);
      }
      if (r < R) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        const rowOff = <usize>r * Cb;
        let k = start;
        for (; k + 4 <= end; k += 4) {
          const x0 = x + <usize>load<I>(colidx + k * sizeof<I>()) * Cb;
          const x1 = x + <usize>load<I>(colidx + (k + 1) * sizeof<I>()) * Cb;
          const x2 = x + <usize>load<I>(colidx + (k + 2) * sizeof<I>()) * Cb;
          const x3 = x + <usize>load<I>(colidx + (k + 3) * sizeof<I>()) * Cb;
          const v0 = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 16) {
            a0 = madd(v128.load(v0 + c), v128.load(x0 + c), a0);
            a1 = madd(v128.load(v0 + blockB + c), v128.load(x1 + c), a1);
            a2 = madd(v128.load(v0 + 2 * blockB + c), v128.load(x2 + c), a2);
            a3 = madd(v128.load(v0 + 3 * blockB + c), v128.load(x3 + c), a3);
          }
        }
        for (; k < end; k++) {
          const xp = x + <usize>load<I>(colidx + k * sizeof<I>()) * Cb;
          const vp = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 16) a0 = madd(v128.load(vp + c), v128.load(xp + c), a0);
        }
        storeY(yI + (<usize>r << 2), hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))), acc);
      }
    } else if (C === 1 && (R & 3) === 0) {
      // Column blocks: R consecutive outputs, in R/4 vectors, each block adds x[J]·values.
      for (let r: usize = 0; r < <usize>R << 2; r += 16) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
        let k = start;
        for (; k + 2 <= end; k += 2) {
          const x0 = v128.load32_splat(x + (<usize>load<I>(colidx + k * sizeof<I>()) << 2));
          const x1 = v128.load32_splat(x + (<usize>load<I>(colidx + (k + 1) * sizeof<I>()) << 2));
          a0 = madd(v128.load(values + k * blockB + r), x0, a0);
          a1 = madd(v128.load(values + (k + 1) * blockB + r), x1, a1);
        }
        if (k < end) a0 = madd(v128.load(values + k * blockB + r), v128.load32_splat(x + (<usize>load<I>(colidx + k * sizeof<I>()) << 2)), a0);
        a0 = f32x4.add(a0, a1);
        if (acc) a0 = f32x4.add(v128.load(yI + r), a0);
        v128.store(yI + r, a0);
      }
    } else {
      for (let r = 0; r < R; r++) {
        let s: f32 = 0;
        const rowOff = <usize>r * Cb;
        for (let k = start; k < end; k++) {
          const xp = x + <usize>load<I>(colidx + k * sizeof<I>()) * Cb;
          const vp = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 4) s += load<f32>(vp + c) * load<f32>(xp + c);
        }
        storeY(yI + (<usize>r << 2), s, acc);
      }
    }
    start = end;
  }
}

export function bsr_spmv16(R: i32, C: i32, nbr: i32, rowptr: usize, colidx: usize, values: usize, x: usize, y: usize, acc: i32): void {
  bsrSpmvT<u16>(R, C, nbr, rowptr, colidx, values, x, y, acc);
}

export function bsr_spmv32(R: i32, C: i32, nbr: i32, rowptr: usize, colidx: usize, values: usize, x: usize, y: usize, acc: i32): void {
  bsrSpmvT<u32>(R, C, nbr, rowptr, colidx, values, x, y, acc);
}

// SpMM on batch-interleaved activations: X [cols, B], Y [rows, B] row-major. Per output row (block
// row I, row r of the block), lanes of B in passes of 16, 8, 4 and 1; every weight multiplies one
// contiguous B-vector of X (as the CSR SpMM does). Column blocks (4x1, 8x1) at B ≥ 4 take 4 rows at a
// time instead (bsrSpmmColumns).
// @ts-ignore: decorator
@inline function bsrSpmmT<I>(R: i32, C: i32, nbr: i32, rowptr: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  const ldx = <usize>B << 2;
  const blockB = <usize>(R * C) << 2;
  const Cb = <usize>C << 2;
  let start = <usize>load<u32>(rowptr);
  for (let I = 0; I < nbr; I++) {
    const end = <usize>load<u32>(rowptr + ((<usize>I + 1) << 2));
    if (C === 1 && (R & 3) === 0 && B >= 4) {
      bsrSpmmColumns<I>(R, start, end, colidx, values, X, Y + <usize>(I * R) * ldx, B, acc);
      start = end;
      continue;
    }
    for (let r = 0; r < R; r++) {
      const yr = Y + (<usize>(I * R + r)) * ldx;
      const rowOff = <usize>r * Cb;
      let b = 0;
      for (; b + 16 <= B; b += 16) {
        const yb = yr + (<usize>b << 2);
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        if (acc) { c0 = v128.load(yb); c1 = v128.load(yb, 16); c2 = v128.load(yb, 32); c3 = v128.load(yb, 48); }
        const xb = X + (<usize>b << 2);
        for (let k = start; k < end; k++) {
          let xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * <usize>C * ldx;
          const vp = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 4) {
            const v = v128.load32_splat(vp + c);
            c0 = madd(v, v128.load(xp), c0);
            c1 = madd(v, v128.load(xp, 16), c1);
            c2 = madd(v, v128.load(xp, 32), c2);
            c3 = madd(v, v128.load(xp, 48), c3);
            xp += ldx;
          }
        }
        v128.store(yb, c0); v128.store(yb, c1, 16); v128.store(yb, c2, 32); v128.store(yb, c3, 48);
      }
      if (b + 8 <= B) {
        // 8 lanes (batch 8, the serving case): two accumulators, one pass over the blocks.
        const yb = yr + (<usize>b << 2);
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
        if (acc) { c0 = v128.load(yb); c1 = v128.load(yb, 16); }
        const xb = X + (<usize>b << 2);
        if (C == 4) {
          // 1x4 / Rx4: the block's 4 columns unrolled, alternate columns in two accumulator pairs.
          let d0 = f32x4.splat(0), d1 = f32x4.splat(0);
          for (let k = start; k < end; k++) {
            const xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * 4 * ldx;
            const vp = values + k * blockB + rowOff;
            const v0 = v128.load32_splat(vp), v1 = v128.load32_splat(vp, 4);
            const v2 = v128.load32_splat(vp, 8), v3 = v128.load32_splat(vp, 12);
            c0 = madd(v0, v128.load(xp), c0);
            c1 = madd(v0, v128.load(xp, 16), c1);
            d0 = madd(v1, v128.load(xp + ldx), d0);
            d1 = madd(v1, v128.load(xp + ldx, 16), d1);
            c0 = madd(v2, v128.load(xp + 2 * ldx), c0);
            c1 = madd(v2, v128.load(xp + 2 * ldx, 16), c1);
            d0 = madd(v3, v128.load(xp + 3 * ldx), d0);
            d1 = madd(v3, v128.load(xp + 3 * ldx, 16), d1);
          }
          c0 = f32x4.add(c0, d0);
          c1 = f32x4.add(c1, d1);
        } else {
          // Other widths (4x1, 1x2, ...): alternate blocks in two accumulator pairs (a narrow block
          // is one or two multiply-adds, and one pair would wait on the add latency).
          let d0 = f32x4.splat(0), d1 = f32x4.splat(0);
          let k = start;
          for (; k + 2 <= end; k += 2) {
            let xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * <usize>C * ldx;
            let xq = xb + <usize>load<I>(colidx + (k + 1) * sizeof<I>()) * <usize>C * ldx;
            const vp = values + k * blockB + rowOff, vq = vp + blockB;
            for (let c: usize = 0; c < Cb; c += 4) {
              const v = v128.load32_splat(vp + c), u = v128.load32_splat(vq + c);
              c0 = madd(v, v128.load(xp), c0);
              c1 = madd(v, v128.load(xp, 16), c1);
              d0 = madd(u, v128.load(xq), d0);
              d1 = madd(u, v128.load(xq, 16), d1);
              xp += ldx;
              xq += ldx;
            }
          }
          if (k < end) {
            let xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * <usize>C * ldx;
            const vp = values + k * blockB + rowOff;
            for (let c: usize = 0; c < Cb; c += 4) {
              const v = v128.load32_splat(vp + c);
              c0 = madd(v, v128.load(xp), c0);
              c1 = madd(v, v128.load(xp, 16), c1);
              xp += ldx;
            }
          }
          c0 = f32x4.add(c0, d0);
          c1 = f32x4.add(c1, d1);
        }
        v128.store(yb, c0); v128.store(yb, c1, 16);
        b += 8;
      }
      for (; b + 4 <= B; b += 4) {
        const yb = yr + (<usize>b << 2);
        let c0 = acc ? v128.load(yb) : f32x4.splat(0);
        const xb = X + (<usize>b << 2);
        for (let k = start; k < end; k++) {
          let xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * <usize>C * ldx;
          const vp = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 4) {
            c0 = madd(v128.load32_splat(vp + c), v128.load(xp), c0);
            xp += ldx;
          }
        }
        v128.store(yb, c0);
      }
      for (; b < B; b++) {
        const xb = X + (<usize>b << 2);
        let s: f32 = 0;
        for (let k = start; k < end; k++) {
          let xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * <usize>C * ldx;
          const vp = values + k * blockB + rowOff;
          for (let c: usize = 0; c < Cb; c += 4) {
            s += load<f32>(vp + c) * load<f32>(xp);
            xp += ldx;
          }
        }
        storeY(yr + (<usize>b << 2), s, acc);
      }
    }
    start = end;
  }
}

// Column blocks (C = 1, R a multiple of 4: 4x1, 8x1) in SpMM: 4 rows of the block at a time share
// each load of the block's X row (per block: 2 X loads and 4 value splats for 8 multiply-adds at 8
// lanes, where a row at a time loads X 4 times); 8 independent accumulators. Lanes in passes of 8
// and 4, then a scalar pass for the remainder. Y points at the block row's first output row.
// @ts-ignore: decorator
@inline function bsrSpmmColumns<I>(R: i32, start: usize, end: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  const ldx = <usize>B << 2;
  const blockB = <usize>R << 2;
  for (let r: usize = 0; r < <usize>R; r += 4) {
    const y0 = Y + r * ldx, y1 = y0 + ldx, y2 = y1 + ldx, y3 = y2 + ldx;
    const vr = values + (r << 2);
    let b = 0;
    for (; b + 8 <= B; b += 8) {
      const o = <usize>b << 2;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
      if (acc) {
        a0 = v128.load(y0 + o); a1 = v128.load(y0 + o, 16); b0 = v128.load(y1 + o); b1 = v128.load(y1 + o, 16);
        c0 = v128.load(y2 + o); c1 = v128.load(y2 + o, 16); d0 = v128.load(y3 + o); d1 = v128.load(y3 + o, 16);
      }
      const xb = X + o;
      for (let k = start; k < end; k++) {
        const xp = xb + <usize>load<I>(colidx + k * sizeof<I>()) * ldx;
        const x0 = v128.load(xp), x1 = v128.load(xp, 16);
        const vp = vr + k * blockB;
        const v0 = v128.load32_splat(vp), v1 = v128.load32_splat(vp, 4), v2 = v128.load32_splat(vp, 8), v3 = v128.load32_splat(vp, 12);
        a0 = madd(v0, x0, a0); a1 = madd(v0, x1, a1);
        b0 = madd(v1, x0, b0); b1 = madd(v1, x1, b1);
        c0 = madd(v2, x0, c0); c1 = madd(v2, x1, c1);
        d0 = madd(v3, x0, d0); d1 = madd(v3, x1, d1);
      }
      v128.store(y0 + o, a0); v128.store(y0 + o, a1, 16); v128.store(y1 + o, b0); v128.store(y1 + o, b1, 16);
      v128.store(y2 + o, c0); v128.store(y2 + o, c1, 16); v128.store(y3 + o, d0); v128.store(y3 + o, d1, 16);
    }
    for (; b + 4 <= B; b += 4) {
      const o = <usize>b << 2;
      let a0 = f32x4.splat(0), b0 = f32x4.splat(0), c0 = f32x4.splat(0), d0 = f32x4.splat(0);
      if (acc) { a0 = v128.load(y0 + o); b0 = v128.load(y1 + o); c0 = v128.load(y2 + o); d0 = v128.load(y3 + o); }
      const xb = X + o;
      for (let k = start; k < end; k++) {
        const x0 = v128.load(xb + <usize>load<I>(colidx + k * sizeof<I>()) * ldx);
        const vp = vr + k * blockB;
        a0 = madd(v128.load32_splat(vp), x0, a0);
        b0 = madd(v128.load32_splat(vp, 4), x0, b0);
        c0 = madd(v128.load32_splat(vp, 8), x0, c0);
        d0 = madd(v128.load32_splat(vp, 12), x0, d0);
      }
      v128.store(y0 + o, a0); v128.store(y1 + o, b0); v128.store(y2 + o, c0); v128.store(y3 + o, d0);
    }
    for (; b < B; b++) {
      const o = <usize>b << 2;
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      for (let k = start; k < end; k++) {
        const x0 = load<f32>(X + o + <usize>load<I>(colidx + k * sizeof<I>()) * ldx);
        const vp = vr + k * blockB;
        s0 += load<f32>(vp) * x0; s1 += load<f32>(vp, 4) * x0; s2 += load<f32>(vp, 8) * x0; s3 += load<f32>(vp, 12) * x0;
      }
      storeY(y0 + o, s0, acc); storeY(y1 + o, s1, acc); storeY(y2 + o, s2, acc); storeY(y3 + o, s3, acc);
    }
  }
}

export function bsr_spmm16(R: i32, C: i32, nbr: i32, rowptr: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  bsrSpmmT<u16>(R, C, nbr, rowptr, colidx, values, X, Y, B, acc);
}

export function bsr_spmm32(R: i32, C: i32, nbr: i32, rowptr: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  bsrSpmmT<u32>(R, C, nbr, rowptr, colidx, values, X, Y, B, acc);
}

// Sparse kernels (AssemblyScript, WebAssembly SIMD f32x4): CSR SpMV, SpMM on batch-interleaved
// activations, and a strided transpose. Contract: src/kernels/sparse.ts.
//
// All pointers are BYTE offsets into the imported memory (the JS side multiplies float indices by
// 4); counts and leading dimensions are element counts. rowptr is u32, colidx u16 or u32
// (generic `I`), values f32.
//
// SpMV ("as_v" in PERF.md §3): per row, 8 nonzeros per iteration: the values are loaded as two
// f32x4, x is "gathered" into two f32x4 lane by lane (load32_lane), two vector accumulators; then a
// 4-wide step and a scalar tail. The batch-1 fast path is SELL-4 (sp_sell4, at the end of this file).
//
// SpMM: X is [cols, B], Y is [rows, B] (row-major, so each nonzero multiplies one contiguous
// B-vector of X). Rows outer (the matrix streams from memory once), then 16-lane passes
// (4 accumulators; PERF.md: 32-lane passes spill with V8's 16 xmm registers), then an 8-, a 4-lane
// pass, a 2-lane pass (two nonzeros per vector) and a 1-lane pass (the SpMV gather at stride B)
// for the remainder of B.

import { madd } from './simd';

// x[colidx[k..k+3]] as one f32x4: one load per lane (load32_zero, then load32_lane), no separate
// scalar load and replace_lane. u16 indices: all four in one u64 load, split by shifts (fewer loads
// per non-zero: the load ports, not the arithmetic, bound this loop; 12% faster SELL-4, measured).
// @ts-ignore: decorator
@inline function gather4<I>(x: usize, pc: usize): v128 {
  if (sizeof<I>() == 2) {
    const q = load<u64>(pc);
    const lo = <u32>q, hi = <u32>(q >> 32);
    let h = v128.load32_zero(x + (<usize>(lo & 0xffff) << 2));
    h = v128.load32_lane(x + (<usize>(lo >> 16) << 2), h, 1);
    h = v128.load32_lane(x + (<usize>(hi & 0xffff) << 2), h, 2);
    return v128.load32_lane(x + (<usize>(hi >> 16) << 2), h, 3);
  }
  let g = v128.load32_zero(x + (<usize>load<I>(pc) << 2));
  g = v128.load32_lane(x + (<usize>load<I>(pc + sizeof<I>()) << 2), g, 1);
  g = v128.load32_lane(x + (<usize>load<I>(pc + 2 * sizeof<I>()) << 2), g, 2);
  g = v128.load32_lane(x + (<usize>load<I>(pc + 3 * sizeof<I>()) << 2), g, 3);
  return g;
}

// @ts-ignore: decorator
@inline function gatherS<I>(xb: usize, pc: usize, ldx: usize): v128 {
  let g = f32x4.splat(load<f32>(xb + <usize>load<I>(pc) * ldx));
  g = f32x4.replace_lane(g, 1, load<f32>(xb + <usize>load<I>(pc + sizeof<I>()) * ldx));
  g = f32x4.replace_lane(g, 2, load<f32>(xb + <usize>load<I>(pc + 2 * sizeof<I>()) * ldx));
  g = f32x4.replace_lane(g, 3, load<f32>(xb + <usize>load<I>(pc + 3 * sizeof<I>()) * ldx));
  return g;
}

// @ts-ignore: decorator
@inline function spmvT<I>(rows: i32, rowptr: usize, colidx: usize, values: usize, x: usize, y: usize, acc: i32): void {
  let start = <usize>load<u32>(rowptr);
  for (let r = 0; r < rows; r++) {
    const end = <usize>load<u32>(rowptr + ((<usize>r + 1) << 2));
    const n = end - start;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let pv = values + (start << 2);
    let pc = colidx + start * sizeof<I>();
    const pv8 = pv + ((n & ~(<usize>7)) << 2);
    while (pv < pv8) {
      const v0 = v128.load(pv);
      const v1 = v128.load(pv, 16);
      const g0 = gather4<I>(x, pc);
      const g1 = gather4<I>(x, pc + 4 * sizeof<I>());
      a0 = madd(v0, g0, a0);
      a1 = madd(v1, g1, a1);
      pv += 32;
      pc += 8 * sizeof<I>();
    }
    if (n & 4) {
      a0 = madd(v128.load(pv), gather4<I>(x, pc), a0);
      pv += 16;
      pc += 4 * sizeof<I>();
    }
    a0 = f32x4.add(a0, a1);
    let s = f32x4.extract_lane(a0, 0) + f32x4.extract_lane(a0, 1) + f32x4.extract_lane(a0, 2) + f32x4.extract_lane(a0, 3);
    const rest = n & 3;
    for (let k: usize = 0; k < rest; k++) {
      s += load<f32>(pv) * load<f32>(x + (<usize>load<I>(pc) << 2));
      pv += 4;
      pc += sizeof<I>();
    }
    const py = y + (<usize>r << 2);
    store<f32>(py, acc ? load<f32>(py) + s : s);
    start = end;
  }
}

export function sp_spmv16(rows: i32, rowptr: usize, colidx: usize, values: usize, x: usize, y: usize, acc: i32): void {
  spmvT<u16>(rows, rowptr, colidx, values, x, y, acc);
}

export function sp_spmv32(rows: i32, rowptr: usize, colidx: usize, values: usize, x: usize, y: usize, acc: i32): void {
  spmvT<u32>(rows, rowptr, colidx, values, x, y, acc);
}

// @ts-ignore: decorator
@inline function spmmT<I>(rows: i32, rowptr: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  const ldx = <usize>B << 2;
  let start = <usize>load<u32>(rowptr);
  for (let r = 0; r < rows; r++) {
    const end = <usize>load<u32>(rowptr + ((<usize>r + 1) << 2));
    const yr = Y + <usize>r * ldx;
    let b = 0;
    for (; b + 16 <= B; b += 16) {
      const yb = yr + (<usize>b << 2);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      if (acc) { c0 = v128.load(yb); c1 = v128.load(yb, 16); c2 = v128.load(yb, 32); c3 = v128.load(yb, 48); }
      const xb = X + (<usize>b << 2);
      let pv = values + (start << 2);
      let pc = colidx + start * sizeof<I>();
      const pe = values + (end << 2);
      while (pv < pe) {
        const v = v128.load32_splat(pv);
        const xp = xb + <usize>load<I>(pc) * ldx;
        c0 = madd(v, v128.load(xp), c0);
        c1 = madd(v, v128.load(xp, 16), c1);
        c2 = madd(v, v128.load(xp, 32), c2);
        c3 = madd(v, v128.load(xp, 48), c3);
        pv += 4;
        pc += sizeof<I>();
      }
      v128.store(yb, c0); v128.store(yb, c1, 16); v128.store(yb, c2, 32); v128.store(yb, c3, 48);
    }
    if (b + 8 <= B) {
      const yb = yr + (<usize>b << 2);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      if (acc) { c0 = v128.load(yb); c1 = v128.load(yb, 16); }
      const xb = X + (<usize>b << 2);
      let pv = values + (start << 2);
      let pc = colidx + start * sizeof<I>();
      const pe = values + (end << 2);
      while (pv < pe) {
        const v = v128.load32_splat(pv);
        const xp = xb + <usize>load<I>(pc) * ldx;
        c0 = madd(v, v128.load(xp), c0);
        c1 = madd(v, v128.load(xp, 16), c1);
        pv += 4;
        pc += sizeof<I>();
      }
      v128.store(yb, c0); v128.store(yb, c1, 16);
      b += 8;
    }
    if (b + 4 <= B) {
      // Two accumulators over alternate nonzeros hide the add latency of a single chain.
      const yb = yr + (<usize>b << 2);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      if (acc) c0 = v128.load(yb);
      const xb = X + (<usize>b << 2);
      let pv = values + (start << 2);
      let pc = colidx + start * sizeof<I>();
      const pe = values + (end << 2);
      const pe2 = pv + (((end - start) & ~(<usize>1)) << 2);
      while (pv < pe2) {
        const v0 = v128.load32_splat(pv);
        const v1 = v128.load32_splat(pv, 4);
        c0 = madd(v0, v128.load(xb + <usize>load<I>(pc) * ldx), c0);
        c1 = madd(v1, v128.load(xb + <usize>load<I>(pc + sizeof<I>()) * ldx), c1);
        pv += 8;
        pc += 2 * sizeof<I>();
      }
      if (pv < pe) c0 = madd(v128.load32_splat(pv), v128.load(xb + <usize>load<I>(pc) * ldx), c0);
      v128.store(yb, f32x4.add(c0, c1));
      b += 4;
    }
    if (b + 2 <= B) {
      // Two lanes: two nonzeros per f32x4, [x(c0)[b], x(c0)[b+1], x(c1)[b], x(c1)[b+1]] against
      // [v0, v0, v1, v1]; 4 nonzeros per iteration in two accumulators.
      const xb = X + (<usize>b << 2);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      let pv = values + (start << 2);
      let pc = colidx + start * sizeof<I>();
      const pe = values + (end << 2);
      const pe4 = pv + (((end - start) & ~(<usize>3)) << 2);
      while (pv < pe4) {
        const va = v128.load(pv);
        let xa = v128.load64_zero(xb + <usize>load<I>(pc) * ldx);
        xa = v128.load64_lane(xb + <usize>load<I>(pc + sizeof<I>()) * ldx, xa, 1);
        let xc = v128.load64_zero(xb + <usize>load<I>(pc + 2 * sizeof<I>()) * ldx);
        xc = v128.load64_lane(xb + <usize>load<I>(pc + 3 * sizeof<I>()) * ldx, xc, 1);
        c0 = madd(v128.shuffle<f32>(va, va, 0, 0, 1, 1), xa, c0);
        c1 = madd(v128.shuffle<f32>(va, va, 2, 2, 3, 3), xc, c1);
        pv += 16;
        pc += 4 * sizeof<I>();
      }
      while (pv < pe) {
        c0 = madd(v128.load32_splat(pv), v128.load64_zero(xb + <usize>load<I>(pc) * ldx), c0);
        pv += 4;
        pc += sizeof<I>();
      }
      c0 = f32x4.add(c0, c1);
      let s0 = f32x4.extract_lane(c0, 0) + f32x4.extract_lane(c0, 2);
      let s1 = f32x4.extract_lane(c0, 1) + f32x4.extract_lane(c0, 3);
      const py = yr + (<usize>b << 2);
      if (acc) { s0 += load<f32>(py); s1 += load<f32>(py, 4); }
      store<f32>(py, s0);
      store<f32>(py, s1, 4);
      b += 2;
    }
    if (b < B) {
      // One lane: the SpMV formulation with x at stride B (values as f32x4, x gathered).
      const xb = X + (<usize>b << 2);
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      let pv = values + (start << 2);
      let pc = colidx + start * sizeof<I>();
      const n = end - start;
      const pv8 = pv + ((n & ~(<usize>7)) << 2);
      while (pv < pv8) {
        a0 = madd(v128.load(pv), gatherS<I>(xb, pc, ldx), a0);
        a1 = madd(v128.load(pv, 16), gatherS<I>(xb, pc + 4 * sizeof<I>(), ldx), a1);
        pv += 32;
        pc += 8 * sizeof<I>();
      }
      if (n & 4) {
        a0 = madd(v128.load(pv), gatherS<I>(xb, pc, ldx), a0);
        pv += 16;
        pc += 4 * sizeof<I>();
      }
      a0 = f32x4.add(a0, a1);
      let s = f32x4.extract_lane(a0, 0) + f32x4.extract_lane(a0, 1) + f32x4.extract_lane(a0, 2) + f32x4.extract_lane(a0, 3);
      const rest = n & 3;
      for (let k: usize = 0; k < rest; k++) {
        s += load<f32>(pv) * load<f32>(xb + <usize>load<I>(pc) * ldx);
        pv += 4;
        pc += sizeof<I>();
      }
      const py = yr + (<usize>b << 2);
      store<f32>(py, acc ? load<f32>(py) + s : s);
    }
    start = end;
  }
}

export function sp_spmm16(rows: i32, rowptr: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  spmmT<u16>(rows, rowptr, colidx, values, X, Y, B, acc);
}

export function sp_spmm32(rows: i32, rowptr: usize, colidx: usize, values: usize, X: usize, Y: usize, B: i32, acc: i32): void {
  spmmT<u32>(rows, rowptr, colidx, values, X, Y, B, acc);
}

/** dst[j*ldd + i] = src[i*lds + j] (+= when acc) for i < rows, j < cols. */
export function sp_transpose(rows: i32, cols: i32, src: usize, lds: i32, dst: usize, ldd: i32, acc: i32): void {
  const ls = <usize>lds << 2;
  const ld = <usize>ldd << 2;
  for (let j = 0; j < cols; j++) {
    let ps = src + (<usize>j << 2);
    let pd = dst + <usize>j * ld;
    if (acc) {
      for (let i = 0; i < rows; i++) {
        store<f32>(pd, load<f32>(pd) + load<f32>(ps));
        ps += ls;
        pd += 4;
      }
    } else {
      for (let i = 0; i < rows; i++) {
        store<f32>(pd, load<f32>(ps));
        ps += ls;
        pd += 4;
      }
    }
  }
}

/** Σ x[i] over n floats (n a multiple of 16): a streaming read for measuring memory bandwidth. */
export function sp_readsum(x: usize, n: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const e = x + (<usize>n << 2);
  for (let p = x; p < e; p += 64) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

// SDDMM (sampled dense-dense product), the weight gradient of a sparse layer: for every stored entry
// (r, c) of a CSR pattern, out[r·ldo + c] += Σ_l A[r, l] · B[c, l], with A [rows, L] and B [cols, L]
// row-major (both contiguous along L: the activations transposed so the batch·time axis is the row).
// Per entry one dot product, 8 lanes per iteration in two accumulators, then a 4-wide step and a
// scalar tail; a fixed order, so the result never depends on how rows are split across threads.
// @ts-ignore: decorator
@inline function sddmmT<I>(rows: i32, rowptr: usize, colidx: usize, A: usize, B: usize, L: i32, out: usize, ldo: i32): void {
  const Lb = <usize>L << 2, ldoB = <usize>ldo << 2;
  const L8 = <usize>(L & ~7) << 2, L4 = <usize>(L & ~3) << 2;
  let start = <usize>load<u32>(rowptr);
  for (let r = 0; r < rows; r++) {
    const end = <usize>load<u32>(rowptr + ((<usize>r + 1) << 2));
    const ar = A + <usize>r * Lb, orow = out + <usize>r * ldoB;
    for (let k = start; k < end; k++) {
      const c = <usize>load<I>(colidx + k * sizeof<I>());
      const bc = B + c * Lb;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      let o: usize = 0;
      for (; o < L8; o += 32) {
        s0 = madd(v128.load(ar + o), v128.load(bc + o), s0);
        s1 = madd(v128.load(ar + o, 16), v128.load(bc + o, 16), s1);
      }
      if (o < L4) {
        s0 = madd(v128.load(ar + o), v128.load(bc + o), s0);
        o += 16;
      }
      s0 = f32x4.add(s0, s1);
      let s = f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3);
      for (; o < Lb; o += 4) s += load<f32>(ar + o) * load<f32>(bc + o);
      const po = orow + (c << 2);
      store<f32>(po, load<f32>(po) + s);
    }
    start = end;
  }
}

export function sp_sddmm16(rows: i32, rowptr: usize, colidx: usize, A: usize, B: usize, L: i32, out: usize, ldo: i32): void {
  sddmmT<u16>(rows, rowptr, colidx, A, B, L, out, ldo);
}

export function sp_sddmm32(rows: i32, rowptr: usize, colidx: usize, A: usize, B: usize, L: i32, out: usize, ldo: i32): void {
  sddmmT<u32>(rows, rowptr, colidx, A, B, L, out, ldo);
}

// ---------------------------------------------------------------------------------------------
// SELL-4 SpMV, the batch-1 kernel of the runtime (issue 16). At batch 1 the per-non-zero cost is
// the gather of x, and CSR adds per-row costs (a horizontal sum, 4-wide and scalar tails whose
// branches mispredict) that dominate short rows (e.g. W_ih of a character model: ~6 per row).
// SELL-4 (layout: src/sparse/csr.ts csrToSell4) puts 4 rows in the 4 lanes: group j of a slice holds
// entry j of each of its rows, so one f32x4 of values times one gathered f32x4 of x advances 4 rows,
// with no reduction and no tails (rows are sorted by length, so slices barely pad).
//
// The gather is cut to one instruction per non-zero: column indices are stored as u16 BYTE offsets
// (cols ≤ 16384), and x is first copied to XSTAGE, a fixed 64 KiB region below HEAP_BASE, so a load
// needs no address arithmetic (the region's address is the load's immediate offset). A group's four
// indices come in one u64 load (as in gather4).
// [0xA0000, 0xB0000) lies above dense.ts's packing scratch [512 KiB, 640 KiB) and below HEAP_BASE.

// @ts-ignore: decorator
@inline const XSTAGE: usize = 0xA0000;

// @ts-ignore: decorator
@inline function gatherX(pc: usize): v128 {
  const q = load<u64>(pc);
  const lo = <u32>q, hi = <u32>(q >> 32);
  let g = v128.load32_zero(<usize>(lo & 0xffff), XSTAGE);
  g = v128.load32_lane(<usize>(lo >> 16), g, 1, XSTAGE);
  g = v128.load32_lane(<usize>(hi & 0xffff), g, 2, XSTAGE);
  g = v128.load32_lane(<usize>(hi >> 16), g, 3, XSTAGE);
  return g;
}

// @ts-ignore: decorator
@inline function putRow(y: usize, p: u32, v: f32, acc: i32, bias: usize): void {
  if (p == 0xFFFFFFFF) return;
  const py = y + <usize>p;
  if (acc) v = load<f32>(py) + v;
  if (bias) v += load<f32>(bias + <usize>p);
  store<f32>(py, v);
}

/** Lane l of `r` to the row at perm slot pp + 4l (a slice's 4 rows), each by putRow. */
// @ts-ignore: decorator
@inline function putLanes(y: usize, pp: usize, r: v128, acc: i32, bias: usize): void {
  putRow(y, load<u32>(pp), f32x4.extract_lane(r, 0), acc, bias);
  putRow(y, load<u32>(pp, 4), f32x4.extract_lane(r, 1), acc, bias);
  putRow(y, load<u32>(pp, 8), f32x4.extract_lane(r, 2), acc, bias);
  putRow(y, load<u32>(pp, 12), f32x4.extract_lane(r, 3), acc, bias);
}

/**
 * y[row] = Σ (+ y[row] when acc) (+ bias[row] when bias ≠ 0) over a SELL-4 matrix: `slices` slices; sliceptr (u32, slices+1)
 * counts groups of 4 entries; perm (u32, 4 per slice) each lane's output BYTE offset into y
 * (0xFFFFFFFF: no row); idx (u16 byte offsets into x) and vals (f32), 4 per group.
 * `cols` > 0: copy x[0:cols] to XSTAGE first; 0: XSTAGE already holds x (a threaded call stages
 * it once on the calling thread, then each thread runs its slices). Per slice, two accumulators
 * over alternate groups, added at the end: a fixed order, whatever the split into calls.
 */
export function sp_sell4(slices: i32, sliceptr: usize, perm: usize, idx: usize, vals: usize, x: usize, cols: i32, y: usize, acc: i32, bias: usize): void {
  if (cols > 0) memory.copy(XSTAGE, x, <usize>cols << 2);
  let start = <usize>load<u32>(sliceptr);
  for (let s = 0; s < slices; s++) {
    const end = <usize>load<u32>(sliceptr + ((<usize>s + 1) << 2));
    let pv = vals + (start << 4);
    let pc = idx + (start << 3);
    const n = end - start;
    const pe4 = pv + ((n & ~(<usize>3)) << 4);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    // Four groups per iteration, still two chains (a0 even groups, a1 odd): 2–5% faster at
    // 3072×1024 than two per iteration, the same bits.
    while (pv < pe4) {
      a0 = madd(v128.load(pv), gatherX(pc), a0);
      a1 = madd(v128.load(pv, 16), gatherX(pc + 8), a1);
      a0 = madd(v128.load(pv, 32), gatherX(pc + 16), a0);
      a1 = madd(v128.load(pv, 48), gatherX(pc + 24), a1);
      pv += 64;
      pc += 32;
    }
    if (n & 2) {
      a0 = madd(v128.load(pv), gatherX(pc), a0);
      a1 = madd(v128.load(pv, 16), gatherX(pc + 8), a1);
      pv += 32;
      pc += 16;
    }
    if (n & 1) a0 = madd(v128.load(pv), gatherX(pc), a0);
    a0 = f32x4.add(a0, a1);
    putLanes(y, perm + (<usize>s << 4), a0, acc, bias);
    start = end;
  }
}

// SELL-4 of 1×4 blocks (sp_sell4b; layout: src/sparse/csr.ts bsr14ToSell4): the same slices of 4 rows,
// but an entry is a block of 4 consecutive columns, so x is LOADED (one v128 per block) instead of
// gathered. Each lane's row keeps its own f32x4 accumulator over the 4 columns of its blocks; at the
// end of a slice one transpose-reduce gives the 4 row sums (row l = (a_l.0 + a_l.2) + (a_l.1 + a_l.3)).
// Against per-row BSR (as/bsr.ts), no per-row loop tails or horizontal sums: what dominates short rows
// (a speech model's 768×256 at 90%: 6 blocks per row; 2.2x faster measured there).

// @ts-ignore: decorator
@inline function rowSums(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u0 = f32x4.add(v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), v128.shuffle<i32>(a0, a1, 2, 6, 3, 7));
  const u1 = f32x4.add(v128.shuffle<i32>(a2, a3, 0, 4, 1, 5), v128.shuffle<i32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<i64>(u0, u1, 0, 2), v128.shuffle<i64>(u0, u1, 1, 3));
}

/**
 * sp_sell4 for a matrix of 1×4 blocks: vals hold 16 floats per group (lane l's block at 4l), idx the
 * BYTE offset of each block's first column. Same arguments, staging and output rules as sp_sell4.
 */
export function sp_sell4b(slices: i32, sliceptr: usize, perm: usize, idx: usize, vals: usize, x: usize, cols: i32, y: usize, acc: i32, bias: usize): void {
  blockSlices(slices, sliceptr, perm, idx, vals, x, cols, y, acc, bias, false);
}

/**
 * sp_sell4b for a matrix of 4×4 blocks, where a slice is a block row and the four lanes of a group
 * are the rows of one block: they share its column, so idx holds ONE u16 byte offset per group and
 * x is loaded once per block (sp_sell4b loads it per lane, four times, from four copies of the index).
 * Same arguments, staging and arithmetic (the same bits) as sp_sell4b.
 */
export function sp_sell4b44(slices: i32, sliceptr: usize, perm: usize, idx: usize, vals: usize, x: usize, cols: i32, y: usize, acc: i32, bias: usize): void {
  blockSlices(slices, sliceptr, perm, idx, vals, x, cols, y, acc, bias, true);
}

/** The slice loop of sp_sell4b (`oneIndex` false) and sp_sell4b44 (true); a constant, so each inlined copy keeps one inner loop. */
// @ts-ignore: decorator
@inline function blockSlices(slices: i32, sliceptr: usize, perm: usize, idx: usize, vals: usize, x: usize, cols: i32, y: usize, acc: i32, bias: usize, oneIndex: bool): void {
  if (cols > 0) memory.copy(XSTAGE, x, <usize>cols << 2);
  let start = <usize>load<u32>(sliceptr);
  for (let s = 0; s < slices; s++) {
    const end = <usize>load<u32>(sliceptr + ((<usize>s + 1) << 2));
    let pv = vals + (start << 6);
    let pc = idx + (oneIndex ? start << 1 : start << 3);
    const pe = vals + (end << 6);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    while (pv < pe) {
      if (oneIndex) {
        const xv = v128.load(<usize>load<u16>(pc), XSTAGE);
        a0 = madd(v128.load(pv), xv, a0);
        a1 = madd(v128.load(pv, 16), xv, a1);
        a2 = madd(v128.load(pv, 32), xv, a2);
        a3 = madd(v128.load(pv, 48), xv, a3);
        pc += 2;
      } else {
        const q = load<u64>(pc);
        const lo = <u32>q, hi = <u32>(q >> 32);
        a0 = madd(v128.load(pv), v128.load(<usize>(lo & 0xffff), XSTAGE), a0);
        a1 = madd(v128.load(pv, 16), v128.load(<usize>(lo >> 16), XSTAGE), a1);
        a2 = madd(v128.load(pv, 32), v128.load(<usize>(hi & 0xffff), XSTAGE), a2);
        a3 = madd(v128.load(pv, 48), v128.load(<usize>(hi >> 16), XSTAGE), a3);
        pc += 8;
      }
      pv += 64;
    }
    const r = rowSums(a0, a1, a2, a3);
    putLanes(y, perm + (<usize>s << 4), r, acc, bias);
    start = end;
  }
}

/**
 * sp_sell4 for a matrix of 4×1 blocks (layout: src/sparse/csr.ts bsr41ToSell4): a slice is a block row,
 * a group one block, whose 4 lanes (its rows) share one column: idx holds ONE u16 byte offset per group,
 * x[col] is loaded once and splat, and lane l's sum is row l's (no reduction). Per slice, four
 * accumulators over the groups g ≡ 0, 1, 2, 3 (mod 4) counted from the slice's first, summed as
 * (a0 + a1) + (a2 + a3): four chains, because one block is only ~4 instructions and two chains would be
 * bound by the add latency. Same arguments, staging and output rules as sp_sell4.
 */
export function sp_sell4b41(slices: i32, sliceptr: usize, perm: usize, idx: usize, vals: usize, x: usize, cols: i32, y: usize, acc: i32, bias: usize): void {
  if (cols > 0) memory.copy(XSTAGE, x, <usize>cols << 2);
  let start = <usize>load<u32>(sliceptr);
  for (let s = 0; s < slices; s++) {
    const end = <usize>load<u32>(sliceptr + ((<usize>s + 1) << 2));
    let pv = vals + (start << 4);
    let pc = idx + (start << 1);
    const pe = vals + (end << 4);
    const pe4 = pv + (((end - start) & ~(<usize>3)) << 4);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    while (pv < pe4) {
      const q = load<u64>(pc);
      const lo = <u32>q, hi = <u32>(q >> 32);
      a0 = madd(v128.load(pv), v128.load32_splat(<usize>(lo & 0xffff), XSTAGE), a0);
      a1 = madd(v128.load(pv, 16), v128.load32_splat(<usize>(lo >> 16), XSTAGE), a1);
      a2 = madd(v128.load(pv, 32), v128.load32_splat(<usize>(hi & 0xffff), XSTAGE), a2);
      a3 = madd(v128.load(pv, 48), v128.load32_splat(<usize>(hi >> 16), XSTAGE), a3);
      pv += 64;
      pc += 8;
    }
    if (pv < pe) { a0 = madd(v128.load(pv), v128.load32_splat(<usize>load<u16>(pc), XSTAGE), a0); pv += 16; pc += 2; }
    if (pv < pe) { a1 = madd(v128.load(pv), v128.load32_splat(<usize>load<u16>(pc), XSTAGE), a1); pv += 16; pc += 2; }
    if (pv < pe) a2 = madd(v128.load(pv), v128.load32_splat(<usize>load<u16>(pc), XSTAGE), a2);
    const r = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    putLanes(y, perm + (<usize>s << 4), r, acc, bias);
    start = end;
  }
}

/**
 * sp_sell4 for a matrix of 1×2 blocks (layout: src/sparse/csr.ts bsr12ToSell4, SELL-4 of width 2): a group
 * holds 4 lanes' blocks (8 floats, lane l's at 2l) and 4 u16 byte offsets; the two columns of a block are
 * contiguous, so x comes in 64-bit loads, two lanes per vector. Per lane and column, sums over even and
 * odd groups (accumulators a/c for lanes 0–1, b/d for lanes 2–3); row l = (even₀ + odd₀) + (even₁ + odd₁).
 * Same arguments, staging and output rules as sp_sell4.
 */
export function sp_sell4b12(slices: i32, sliceptr: usize, perm: usize, idx: usize, vals: usize, x: usize, cols: i32, y: usize, acc: i32, bias: usize): void {
  if (cols > 0) memory.copy(XSTAGE, x, <usize>cols << 2);
  let start = <usize>load<u32>(sliceptr);
  for (let s = 0; s < slices; s++) {
    const end = <usize>load<u32>(sliceptr + ((<usize>s + 1) << 2));
    let pv = vals + (start << 5);
    let pc = idx + (start << 3);
    const pe = vals + (end << 5);
    const pe2 = pv + (((end - start) & ~(<usize>1)) << 5);
    let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
    while (pv < pe2) {
      let q = load<u64>(pc);
      let lo = <u32>q, hi = <u32>(q >> 32);
      a = madd(v128.load(pv), v128.load64_lane(<usize>(lo >> 16), v128.load64_zero(<usize>(lo & 0xffff), XSTAGE), 1, XSTAGE), a);
      b = madd(v128.load(pv, 16), v128.load64_lane(<usize>(hi >> 16), v128.load64_zero(<usize>(hi & 0xffff), XSTAGE), 1, XSTAGE), b);
      q = load<u64>(pc, 8);
      lo = <u32>q;
      hi = <u32>(q >> 32);
      c = madd(v128.load(pv, 32), v128.load64_lane(<usize>(lo >> 16), v128.load64_zero(<usize>(lo & 0xffff), XSTAGE), 1, XSTAGE), c);
      d = madd(v128.load(pv, 48), v128.load64_lane(<usize>(hi >> 16), v128.load64_zero(<usize>(hi & 0xffff), XSTAGE), 1, XSTAGE), d);
      pv += 64;
      pc += 16;
    }
    if (pv < pe) {
      const q = load<u64>(pc);
      const lo = <u32>q, hi = <u32>(q >> 32);
      a = madd(v128.load(pv), v128.load64_lane(<usize>(lo >> 16), v128.load64_zero(<usize>(lo & 0xffff), XSTAGE), 1, XSTAGE), a);
      b = madd(v128.load(pv, 16), v128.load64_lane(<usize>(hi >> 16), v128.load64_zero(<usize>(hi & 0xffff), XSTAGE), 1, XSTAGE), b);
    }
    const p = f32x4.add(a, c), o = f32x4.add(b, d);
    const r = f32x4.add(v128.shuffle<f32>(p, o, 0, 2, 4, 6), v128.shuffle<f32>(p, o, 1, 3, 5, 7));
    putLanes(y, perm + (<usize>s << 4), r, acc, bias);
    start = end;
  }
}

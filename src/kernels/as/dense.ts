// Dense kernels (AssemblyScript, WebAssembly SIMD f32x4): GEMM and the row/vector helpers.
//
// All pointers are BYTE offsets into the imported memory (the JS side multiplies float indices by 4);
// leading dimensions and sizes are element counts. No allocation happens here (the runtime is `stub`
// and everything above __heap_base belongs to the JS-side Heap).
//
// GEMM strategy (row-major, C = op(A)·op(B)):
//  * B not transposed (NN, TN): "broadcast" micro-kernel, 4 rows × 8 columns of C in 8 v128
//    accumulators; per k it loads 2 vectors of B's row k and splats 4 scalars of op(A)'s column k.
//    op(A) is addressed with a row stride and a k stride, so NN and TN share the kernel; TN packs each
//    block of op(A) k-contiguous first (packAT), as its rows are A's columns.
//  * NT: "dot" micro-kernel, 2 rows of A × 4 rows of B, vectors along k (both contiguous), 8
//    accumulators reduced by a transpose-add at the end. No packing.
//  * TT: op(B) is packed (transposed) block by block into a static scratch buffer below
//    __heap_base, then the broadcast kernel runs on it.
// Blocking: K in blocks of KC (C accumulates across blocks), M in blocks so the A block stays in L1/L2.

import { madd } from './simd';

// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline const MC_BCAST: i32 = 128;
// Scratch for packing op(B) (NT with many rows, TT): 128 KiB per instance. By default the fixed region
// [512 KiB, 640 KiB) inside the 1 MiB reserved below HEAP_BASE (scripts/build-wasm.mjs checks that the
// module's static data end below it; a fixed address keeps 128 KiB of zeros out of the binary). Each
// worker thread's instance shares the memory, so the pool gives every other instance its own region
// (setScratch) from the heap.
// @ts-ignore: decorator
@inline const SCRATCH_FLOATS: i32 = 32768; // 128 KiB
// NT products with at least this many rows pack Bᵀ; fewer use the dot kernel.
// @ts-ignore: decorator
@inline const PACK_MIN_M: i32 = 64;
let scratch: usize = 0x80000;

/** Points this instance's packing scratch (SCRATCH_FLOATS floats, byte offset) elsewhere. */
export function setScratch(p: usize): void {
  scratch = p;
}

// ---------------------------------------------------------------------------------------------
// Broadcast kernels. op(A)[i, k] lives at a + i*ars + k*aks (bytes); B row k at b + k*ldb (bytes).

// @ts-ignore: decorator
@inline function bcast4x8(kc: i32, a: usize, ars: usize, aks: usize, b: usize, ldb: usize,
  c: usize, ldc: usize, ldc0: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (ldc0) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + ldc * 2); c21 = v128.load(c + ldc * 2, 16);
    c30 = v128.load(c + ldc * 3); c31 = v128.load(c + ldc * 3, 16);
  }
  const o1 = ars, o2 = ars * 2, o3 = ars * 3;
  let pa = a, pb = b;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let x = v128.load32_splat(pa);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(pa + o1);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(pa + o2);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(pa + o3);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    pa += aks;
    pb += ldb;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + ldc * 2, c20); v128.store(c + ldc * 2, c21, 16);
  v128.store(c + ldc * 3, c30); v128.store(c + ldc * 3, c31, 16);
}

// @ts-ignore: decorator
@inline function bcast4x4(kc: i32, a: usize, ars: usize, aks: usize, b: usize, ldb: usize,
  c: usize, ldc: usize, ldc0: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  if (ldc0) {
    c0 = v128.load(c); c1 = v128.load(c + ldc); c2 = v128.load(c + ldc * 2); c3 = v128.load(c + ldc * 3);
  }
  const o1 = ars, o2 = ars * 2, o3 = ars * 3;
  let pa = a, pb = b;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    c0 = madd(v128.load32_splat(pa), b0, c0);
    c1 = madd(v128.load32_splat(pa + o1), b0, c1);
    c2 = madd(v128.load32_splat(pa + o2), b0, c2);
    c3 = madd(v128.load32_splat(pa + o3), b0, c3);
    pa += aks;
    pb += ldb;
  }
  v128.store(c, c0); v128.store(c + ldc, c1); v128.store(c + ldc * 2, c2); v128.store(c + ldc * 3, c3);
}

/** One row of C, columns [0, n4) in vectors (n4 a multiple of 4): 16 columns at a time, then 4. */
function bcastRow(kc: i32, n4: i32, a: usize, aks: usize, b: usize, ldb: usize, c: usize, ldc0: bool): void {
  let j = 0;
  for (; j + 16 <= n4; j += 16) {
    const pbj = b + <usize>j * 4, pcj = c + <usize>j * 4;
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
    if (ldc0) {
      c0 = v128.load(pcj); c1 = v128.load(pcj, 16); c2 = v128.load(pcj, 32); c3 = v128.load(pcj, 48);
    }
    let pa = a, pb = pbj;
    for (let k = 0; k < kc; k++) {
      const x = v128.load32_splat(pa);
      c0 = madd(x, v128.load(pb), c0);
      c1 = madd(x, v128.load(pb, 16), c1);
      c2 = madd(x, v128.load(pb, 32), c2);
      c3 = madd(x, v128.load(pb, 48), c3);
      pa += aks;
      pb += ldb;
    }
    v128.store(pcj, c0); v128.store(pcj, c1, 16); v128.store(pcj, c2, 32); v128.store(pcj, c3, 48);
  }
  for (; j < n4; j += 4) {
    const pbj = b + <usize>j * 4, pcj = c + <usize>j * 4;
    let c0 = ldc0 ? v128.load(pcj) : f32x4.splat(0);
    let c1 = f32x4.splat(0);
    let pa = a, pb = pbj;
    let k = 0;
    for (; k + 2 <= kc; k += 2) {
      c0 = madd(v128.load32_splat(pa), v128.load(pb), c0);
      c1 = madd(v128.load32_splat(pa + aks), v128.load(pb + ldb), c1);
      pa += aks * 2;
      pb += ldb * 2;
    }
    if (k < kc) c0 = madd(v128.load32_splat(pa), v128.load(pb), c0);
    v128.store(pcj, f32x4.add(c0, c1));
  }
}

/**
 * Broadcast GEMM over the region rows [0, M), columns [0, N4) with N4 % 4 == 0, K in blocks.
 * op(A)[i,k] at a + i*ars + k*aks; op(B)[k,j] at b + k*ldb + j*bcs for j inside an 8-column panel
 * start (bcs = 4: plain row-major B; bcs = kc*4 with ldb = 32: B packed panel-major by packBT, then
 * K must be ≤ KC). C row stride ldc (bytes). `load0`: whether the first K block starts from C.
 */
function bcastGemm(M: i32, N4: i32, K: i32, a: usize, ars: usize, aks: usize, b: usize, ldb: usize, bcs: usize,
  c: usize, ldc: usize, load0: bool): void {
  const M4 = M & ~3;
  const N8 = N4 & ~7;
  for (let p = 0; p < K; p += KC) {
    const kc = min(KC, K - p);
    const ldc0 = load0 || p > 0;
    const ap = a + <usize>p * aks, bp = b + <usize>p * ldb;
    for (let ic = 0; ic < M4; ic += MC_BCAST) {
      const mc = min(MC_BCAST, M4 - ic);
      for (let j = 0; j < N8; j += 8) {
        const bj = bp + <usize>j * bcs;
        for (let i = ic; i < ic + mc; i += 4) {
          bcast4x8(kc, ap + <usize>i * ars, ars, aks, bj, ldb, c + <usize>i * ldc + <usize>j * 4, ldc, ldc0);
        }
      }
      if (N8 < N4) {
        const bj = bp + <usize>N8 * bcs;
        for (let i = ic; i < ic + mc; i += 4) {
          bcast4x4(kc, ap + <usize>i * ars, ars, aks, bj, ldb, c + <usize>i * ldc + <usize>N8 * 4, ldc, ldc0);
        }
      }
    }
    for (let i = M4; i < M; i++) {
      if (bcs == 4) {
        bcastRow(kc, N4, ap + <usize>i * ars, aks, bp, ldb, c + <usize>i * ldc, ldc0);
      } else {
        for (let j = 0; j < N4; j += 8) {
          bcastRow(kc, min(8, N4 - j), ap + <usize>i * ars, aks, bp + <usize>j * bcs, ldb,
            c + <usize>i * ldc + <usize>j * 4, ldc0);
        }
      }
    }
  }
}

/**
 * Packs op(B)[0:kc, 0:nc] = (B stored N×K)ᵀ, from src = &B[j0, k0] with row stride ldb (bytes), into
 * dst panel-major: 8-column panels (the last may hold 4), each kc rows × 32 bytes. nc % 4 == 0.
 */
function packBT(kc: i32, nc: i32, src: usize, ldb: usize, dst: usize): void {
  const k4 = kc & ~3;
  const panelBytes = <usize>kc * 32;
  for (let j = 0; j < nc; j += 4) {
    const d = dst + <usize>(j >> 3) * panelBytes + <usize>(j & 7) * 4;
    const s0 = src + <usize>j * ldb, s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
    let k = 0;
    for (; k < k4; k += 4) {
      const o = <usize>k * 4;
      const r0 = v128.load(s0 + o), r1 = v128.load(s1 + o), r2 = v128.load(s2 + o), r3 = v128.load(s3 + o);
      const lo01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), lo23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const hi01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), hi23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const dk = d + <usize>k * 32;
      v128.store(dk, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
      v128.store(dk, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7), 32);
      v128.store(dk, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), 64);
      v128.store(dk, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7), 96);
    }
    for (; k < kc; k++) {
      const o = <usize>k * 4, dk = d + <usize>k * 32;
      store<f32>(dk, load<f32>(s0 + o));
      store<f32>(dk, load<f32>(s1 + o), 4);
      store<f32>(dk, load<f32>(s2 + o), 8);
      store<f32>(dk, load<f32>(s3 + o), 12);
    }
  }
}

/** C[:, 0:N4] (+)= op(A)·Bᵀ with B stored N×K: packs Bᵀ block by block into scratch, then broadcasts. */
function packedGemmBT(M: i32, N4: i32, K: i32, a: usize, ars: usize, aks: usize, b: usize, ldb: usize,
  c: usize, ldc: usize, accum: bool): void {
  for (let p = 0; p < K; p += KC) {
    const kc = min(KC, K - p);
    const ldc0 = accum || p > 0;
    const ncMax = (SCRATCH_FLOATS / kc) & ~7;
    for (let jc = 0; jc < N4; jc += ncMax) {
      const nc = min(ncMax, N4 - jc);
      packBT(kc, nc, b + <usize>jc * ldb + <usize>p * 4, ldb, scratch);
      bcastGemm(M, nc, kc, a + <usize>p * aks, ars, aks, scratch, 32, <usize>kc * 4, c + <usize>jc * 4, ldc, ldc0);
    }
  }
}

/**
 * Packs op(A)[0:mc, 0:kc] of a TN product (A stored K×M: four consecutive rows of op(A) are 16
 * contiguous bytes of one A row) into dst, k-contiguous per 4-row group: group g at dst + g·kc·16,
 * its k-th 4 values at + k·16. mc % 4 == 0. Reads A row by row.
 */
function packAT(kc: i32, mc: i32, src: usize, aks: usize, dst: usize): void {
  const groupBytes = <usize>kc * 16;
  for (let k = 0; k < kc; k++) {
    const s = src + <usize>k * aks, d = dst + <usize>k * 16;
    for (let i = 0; i < mc; i += 4) v128.store(d + <usize>(i >> 2) * groupBytes, v128.load(s + <usize>i * 4));
  }
}

/**
 * C[:, 0:N4] (+)= Aᵀ·B with A stored K×M, B row-major (the weight gradient dW = dGᵀ·X of training).
 * Unpacked, op(A) advances a whole row of A per k. Where rows lie a multiple of 4 KiB apart, every k
 * of a tile lands in the same L1 set (and 4K-aliases C's stores): measured at 25 GFLOP/s against 35–38
 * for other strides (M = 1024 and 2048, N = 256, K = 1600). Each MC_BCAST × KC block of Aᵀ is then
 * packed once (packAT) and read sequentially by every column panel: 35–37 GFLOP/s. For other strides
 * packing gains nothing and costs up to 30% at N = 64, so gemm() packs only those. Same multiply-adds
 * in the same order as the unpacked kernel: the same bits.
 */
function packedGemmAT(M: i32, N4: i32, K: i32, a: usize, aks: usize, b: usize, ldb: usize,
  c: usize, ldc: usize, accum: bool): void {
  const M4 = M & ~3;
  const N8 = N4 & ~7;
  for (let p = 0; p < K; p += KC) {
    const kc = min(KC, K - p);
    const ldc0 = accum || p > 0;
    const ap = a + <usize>p * aks, bp = b + <usize>p * ldb;
    const groupBytes = <usize>kc * 16;
    for (let ic = 0; ic < M4; ic += MC_BCAST) {
      const mc = min(MC_BCAST, M4 - ic);
      packAT(kc, mc, ap + <usize>ic * 4, aks, scratch);
      for (let j = 0; j < N8; j += 8) {
        for (let i = 0; i < mc; i += 4) {
          bcast4x8(kc, scratch + <usize>(i >> 2) * groupBytes, 4, 16, bp + <usize>j * 4, ldb,
            c + <usize>(ic + i) * ldc + <usize>j * 4, ldc, ldc0);
        }
      }
      if (N8 < N4) {
        for (let i = 0; i < mc; i += 4) {
          bcast4x4(kc, scratch + <usize>(i >> 2) * groupBytes, 4, 16, bp + <usize>N8 * 4, ldb,
            c + <usize>(ic + i) * ldc + <usize>N8 * 4, ldc, ldc0);
        }
      }
    }
    for (let i = M4; i < M; i++) bcastRow(kc, N4, ap + <usize>i * 4, aks, bp, ldb, c + <usize>i * ldc, ldc0);
  }
}

// ---------------------------------------------------------------------------------------------
// Dot kernels (NT): A rows and B rows are both contiguous along k.

/** [Σa0, Σa1, Σa2, Σa3] of four vectors. */
// @ts-ignore: decorator
@inline function hsum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

// @ts-ignore: decorator
@inline function hsum(a: v128): f32 {
  const s = f32x4.add(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** C[0..2, 0..4] (+)= A[0..2, :kc] · B[0..4, :kc]ᵀ. */
function dot2x4(kc: i32, a: usize, lda: usize, b: usize, ldb: usize, c: usize, ldc: usize, ldc0: bool): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  const a1 = a + lda;
  const b1 = b + ldb, b2 = b + ldb * 2, b3 = b + ldb * 3;
  const k4 = kc & ~3;
  let o: usize = 0;
  const end = <usize>k4 * 4;
  for (; o < end; o += 16) {
    const x0 = v128.load(a + o);
    const x1 = v128.load(a1 + o);
    let y = v128.load(b + o);
    s00 = madd(x0, y, s00);
    s10 = madd(x1, y, s10);
    y = v128.load(b1 + o);
    s01 = madd(x0, y, s01);
    s11 = madd(x1, y, s11);
    y = v128.load(b2 + o);
    s02 = madd(x0, y, s02);
    s12 = madd(x1, y, s12);
    y = v128.load(b3 + o);
    s03 = madd(x0, y, s03);
    s13 = madd(x1, y, s13);
  }
  let r0 = hsum4(s00, s01, s02, s03);
  let r1 = hsum4(s10, s11, s12, s13);
  for (let k = k4; k < kc; k++) {
    const ok = <usize>k * 4;
    let y = f32x4.splat(load<f32>(b + ok));
    y = f32x4.replace_lane(y, 1, load<f32>(b1 + ok));
    y = f32x4.replace_lane(y, 2, load<f32>(b2 + ok));
    y = f32x4.replace_lane(y, 3, load<f32>(b3 + ok));
    r0 = madd(v128.load32_splat(a + ok), y, r0);
    r1 = madd(v128.load32_splat(a1 + ok), y, r1);
  }
  if (ldc0) {
    r0 = f32x4.add(r0, v128.load(c));
    r1 = f32x4.add(r1, v128.load(c + ldc));
  }
  v128.store(c, r0);
  v128.store(c + ldc, r1);
}

/** C[0, 0..4] (+)= A[0, :kc] · B[0..4, :kc]ᵀ. */
function dot1x4(kc: i32, a: usize, b: usize, ldb: usize, c: usize, ldc0: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const b1 = b + ldb, b2 = b + ldb * 2, b3 = b + ldb * 3;
  const k4 = kc & ~3;
  const end = <usize>k4 * 4;
  for (let o: usize = 0; o < end; o += 16) {
    const x0 = v128.load(a + o);
    s0 = madd(x0, v128.load(b + o), s0);
    s1 = madd(x0, v128.load(b1 + o), s1);
    s2 = madd(x0, v128.load(b2 + o), s2);
    s3 = madd(x0, v128.load(b3 + o), s3);
  }
  let r0 = hsum4(s0, s1, s2, s3);
  for (let k = k4; k < kc; k++) {
    const ok = <usize>k * 4;
    let y = f32x4.splat(load<f32>(b + ok));
    y = f32x4.replace_lane(y, 1, load<f32>(b1 + ok));
    y = f32x4.replace_lane(y, 2, load<f32>(b2 + ok));
    y = f32x4.replace_lane(y, 3, load<f32>(b3 + ok));
    r0 = madd(v128.load32_splat(a + ok), y, r0);
  }
  if (ldc0) r0 = f32x4.add(r0, v128.load(c));
  v128.store(c, r0);
}

/** One dot product of length kc. */
function dot1(kc: i32, a: usize, b: usize): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  const k8 = kc & ~7;
  const end8 = <usize>k8 * 4;
  let o: usize = 0;
  for (; o < end8; o += 32) {
    s0 = madd(v128.load(a + o), v128.load(b + o), s0);
    s1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), s1);
  }
  const end4 = <usize>(kc & ~3) * 4;
  if (o < end4) {
    s0 = madd(v128.load(a + o), v128.load(b + o), s0);
    o += 16;
  }
  let s = hsum(f32x4.add(s0, s1));
  const end = <usize>kc * 4;
  for (; o < end; o += 4) s += load<f32>(a + o) * load<f32>(b + o);
  return s;
}

function dotGemm(M: i32, N: i32, K: i32, a: usize, lda: usize, b: usize, ldb: usize,
  c: usize, ldc: usize, load0: bool): void {
  const M2 = M & ~1, N4 = N & ~3;
  const KCD = 512;
  for (let p = 0; p < K; p += KCD) {
    const kc = min(KCD, K - p);
    const ldc0 = load0 || p > 0;
    const ap = a + <usize>p * 4, bp = b + <usize>p * 4;
    // Rows of A per block: keep the A block around 32 KiB (it is re-read for every 4 rows of B).
    let mc = max(2, (8192 / kc) & ~1);
    for (let ic = 0; ic < M; ic += mc) {
      const iend = min(M, ic + mc);
      const iend2 = min(M2, iend);
      for (let j = 0; j < N4; j += 4) {
        const bj = bp + <usize>j * ldb;
        for (let i = ic; i < iend2; i += 2) {
          dot2x4(kc, ap + <usize>i * lda, lda, bj, ldb, c + <usize>i * ldc + <usize>j * 4, ldc, ldc0);
        }
        if (iend2 < iend) dot1x4(kc, ap + <usize>iend2 * lda, bj, ldb, c + <usize>iend2 * ldc + <usize>j * 4, ldc0);
      }
      for (let j = N4; j < N; j++) {
        const bj = bp + <usize>j * ldb;
        for (let i = ic; i < iend; i++) {
          const pc = c + <usize>i * ldc + <usize>j * 4;
          const s = dot1(kc, ap + <usize>i * lda, bj);
          store<f32>(pc, ldc0 ? load<f32>(pc) + s : s);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Scalar fallback for edge columns: C[i, j] for i < M, j in [j0, N), generic strides (bytes). */
function edgeCols(M: i32, j0: i32, N: i32, K: i32, a: usize, ars: usize, aks: usize,
  b: usize, bks: usize, bjs: usize, c: usize, ldc: usize, ldc0: bool): void {
  for (let i = 0; i < M; i++) {
    const pa = a + <usize>i * ars;
    for (let j = j0; j < N; j++) {
      const pb = b + <usize>j * bjs;
      let s0: f32 = 0, s1: f32 = 0;
      let k = 0;
      for (; k + 2 <= K; k += 2) {
        s0 += load<f32>(pa + <usize>k * aks) * load<f32>(pb + <usize>k * bks);
        s1 += load<f32>(pa + <usize>(k + 1) * aks) * load<f32>(pb + <usize>(k + 1) * bks);
      }
      if (k < K) s0 += load<f32>(pa + <usize>k * aks) * load<f32>(pb + <usize>k * bks);
      const pc = c + <usize>i * ldc + <usize>j * 4;
      const s = s0 + s1;
      store<f32>(pc, ldc0 ? load<f32>(pc) + s : s);
    }
  }
}

/**
 * C = op(A)·op(B) (+ C when acc != 0). Pointers in bytes, leading dimensions in elements.
 * See src/kernels/types.ts for the exact contract.
 */
export function gemm(transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, acc: i32): void {
  if (M <= 0 || N <= 0) return;
  const ldcB = <usize>ldc * 4;
  const accum = acc != 0;
  if (K <= 0) {
    if (!accum) for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldcB, 0, <usize>N * 4);
    return;
  }
  const ldaB = <usize>lda * 4, ldbB = <usize>ldb * 4;
  // op(A)[i, k] = a + i*ars + k*aks
  const ars: usize = transA ? 4 : ldaB;
  const aks: usize = transA ? ldaB : 4;
  if (!transB) {
    const N4 = N & ~3;
    // TN whose A rows lie a multiple of 4 KiB apart (LSTM-256's G = 1024): pack op(A) (see packedGemmAT).
    if (transA && (aks & 4095) == 0 && M >= 4 && N4 >= 8) packedGemmAT(M, N4, K, a, aks, b, ldbB, c, ldcB, accum);
    else bcastGemm(M, N4, K, a, ars, aks, b, ldbB, 4, c, ldcB, accum);
    if (N4 < N) edgeCols(M, N4, N, K, a, ars, aks, b, ldbB, 4, c, ldcB, accum);
    return;
  }
  if (!transA && M < PACK_MIN_M) {
    // Few rows (the recurrent step): packing Bᵀ would cost as much as it saves; dot products instead.
    dotGemm(M, N, K, a, ldaB, b, ldbB, c, ldcB, accum);
    return;
  }
  // NT with many rows, and TT: pack op(B) = Bᵀ panel-major and run the broadcast kernel.
  const N4 = N & ~3;
  packedGemmBT(M, N4, K, a, ars, aks, b, ldbB, c, ldcB, accum);
  if (N4 < N) edgeCols(M, N4, N, K, a, ars, aks, b, 4, ldbB, c, ldcB, accum);
}

// ---------------------------------------------------------------------------------------------
// Row / column helpers.

/** C[i, j] += bias[j]. */
export function addBias(M: i32, N: i32, c: usize, ldc: i32, bias: usize): void {
  const ldcB = <usize>ldc * 4;
  const N4 = N & ~3;
  for (let i = 0; i < M; i++) {
    const row = c + <usize>i * ldcB;
    let j = 0;
    for (; j < N4; j += 4) {
      const o = <usize>j * 4;
      v128.store(row + o, f32x4.add(v128.load(row + o), v128.load(bias + o)));
    }
    for (; j < N; j++) {
      const o = <usize>j * 4;
      store<f32>(row + o, load<f32>(row + o) + load<f32>(bias + o));
    }
  }
}

/** db[j] += Σ_i dC[i, j]. */
export function sumRows(M: i32, N: i32, dc: usize, ldc: i32, db: usize): void {
  const ldcB = <usize>ldc * 4;
  const N16 = N & ~15, N4 = N & ~3;
  let j = 0;
  for (; j < N16; j += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = dc + <usize>j * 4;
    for (let i = 0; i < M; i++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
      p += ldcB;
    }
    const q = db + <usize>j * 4;
    v128.store(q, f32x4.add(v128.load(q), s0));
    v128.store(q, f32x4.add(v128.load(q, 16), s1), 16);
    v128.store(q, f32x4.add(v128.load(q, 32), s2), 32);
    v128.store(q, f32x4.add(v128.load(q, 48), s3), 48);
  }
  for (; j < N4; j += 4) {
    let s0 = f32x4.splat(0);
    let p = dc + <usize>j * 4;
    for (let i = 0; i < M; i++) {
      s0 = f32x4.add(s0, v128.load(p));
      p += ldcB;
    }
    const q = db + <usize>j * 4;
    v128.store(q, f32x4.add(v128.load(q), s0));
  }
  for (; j < N; j++) {
    let s: f32 = 0;
    let p = dc + <usize>j * 4;
    for (let i = 0; i < M; i++) {
      s += load<f32>(p);
      p += ldcB;
    }
    const q = db + <usize>j * 4;
    store<f32>(q, load<f32>(q) + s);
  }
}

/** y[i] = x[i] * m[i]. */
export function mul(n: i32, x: usize, m: usize, y: usize): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i * 4;
    v128.store(y + o, f32x4.mul(v128.load(x + o), v128.load(m + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(y + o, load<f32>(x + o) * load<f32>(m + o));
  }
}

/** y[i] += a * x[i]. */
export function axpy(n: i32, a: f32, x: usize, y: usize): void {
  const va = f32x4.splat(a);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i * 4;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

/** x[i] *= a. */
export function scale(n: i32, a: f32, x: usize): void {
  const va = f32x4.splat(a);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i * 4;
    v128.store(x + o, f32x4.mul(va, v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(x + o, a * load<f32>(x + o));
  }
}

/** Σ x[i]², accumulated in f64. */
export function sumSquares(n: i32, x: usize): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const v = v128.load(x + <usize>i * 4);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(s0, s1);
  let r = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + <usize>i * 4);
    r += v * v;
  }
  return r;
}

// Inference-only recurrent cells (AssemblyScript, WebAssembly SIMD f32x4): the GRU and LSTM cells of
// pointwise.ts without the values that only backward needs (no gates, gh_n or tanh(c) written), and
// with a cheaper tanh.
//
// tanh is the 13/6-degree rational interpolant of Eigen that ONNX Runtime's MLAS also uses (a few
// ulp on [-7.9, 7.9], exactly ±1 beyond), and σ(x) = ½ + ½·tanh(x/2): one division and no exp per
// activation, both within 3e-7 of exact. The GRU-1024 cell runs 1.7–1.9x faster than gruForward.
// Training keeps pointwise.ts's exp-based cells, so its results do not move. NaN propagates.
// Pointers are BYTE offsets.

import { ld, st } from './simd';

// @ts-ignore: decorator
@inline function vtanhRational(x0: v128): v128 {
  // pmax(x, lo) = x < lo ? lo : x and pmin(x, hi) = hi < x ? hi : x keep NaN.
  const x = f32x4.pmin(f32x4.pmax(x0, f32x4.splat(-7.90531110763549805)), f32x4.splat(7.90531110763549805));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(-2.76076847742355e-16);
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(2.00018790482477e-13));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(-8.60467152213735e-11));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(5.12229709037114e-8));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(1.48572235717979e-5));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(6.37261928875436e-4));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(4.89352455891786e-3));
  p = f32x4.mul(p, x);
  let q = f32x4.splat(1.19825839466702e-6);
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(1.18534705686654e-4));
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(2.26843463243900e-3));
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(4.89352518554385e-3));
  return f32x4.div(p, q);
}

// @ts-ignore: decorator
@inline function vsigmoidRational(x: v128): v128 {
  const half = f32x4.splat(0.5);
  return f32x4.add(half, f32x4.mul(half, vtanhRational(f32x4.mul(half, x))));
}


// @ts-ignore: decorator
@inline function gruCell(H: usize, oi: usize, oh: usize, ohp: usize, oho: usize, full: bool): void {
  const r = vsigmoidRational(f32x4.add(ld(oi, full), ld(oh, full)));
  const z = vsigmoidRational(f32x4.add(ld(oi + H, full), ld(oh + H, full)));
  const n = vtanhRational(f32x4.add(ld(oi + H * 2, full), f32x4.mul(r, ld(oh + H * 2, full))));
  // (1 − z)·n + z·hPrev = n + z·(hPrev − n)
  st(oho, f32x4.add(n, f32x4.mul(z, f32x4.sub(ld(ohp, full), n))), full);
}

/**
 * GRU cell for inference, gate order r, z, n: gi [B,3H] = W_ih x + b_ih, gh [B,3H] = W_hh h + b_hh;
 * writes h [B,H] (row stride ldh, as hPrev) only.
 */
export function gruInfer(B: i32, H: i32, gi: usize, gh: usize, hPrev: usize, h: usize, ldh: i32): void {
  const HB = <usize>H * 4, H3B = HB * 3, ldhB = <usize>ldh * 4;
  for (let b = 0; b < B; b++) {
    const bi = gi + <usize>b * H3B, bh = gh + <usize>b * H3B;
    const bp = hPrev + <usize>b * ldhB, bo = h + <usize>b * ldhB;
    let j = 0;
    for (; j + 4 <= H; j += 4) { const o = <usize>j * 4; gruCell(HB, bi + o, bh + o, bp + o, bo + o, true); }
    for (; j < H; j++) { const o = <usize>j * 4; gruCell(HB, bi + o, bh + o, bp + o, bo + o, false); }
  }
}

// @ts-ignore: decorator
@inline function lstmCell(H: usize, og: usize, ocp: usize, oc: usize, oh: usize, full: bool): void {
  const i = vsigmoidRational(ld(og, full));
  const f = vsigmoidRational(ld(og + H, full));
  const g = vtanhRational(ld(og + H * 2, full));
  const o = vsigmoidRational(ld(og + H * 3, full));
  const c = f32x4.add(f32x4.mul(f, ld(ocp, full)), f32x4.mul(i, g));
  st(oc, c, full);
  st(oh, f32x4.mul(o, vtanhRational(c)), full);
}

/**
 * LSTM cell for inference, gate order i, f, g, o: g4 [B,4H] = W_ih x + b_ih + W_hh h + b_hh (read
 * only); writes c [B,H] (row stride H, as cPrev) and h [B,H] (row stride ldh).
 */
export function lstmInfer(B: i32, H: i32, g4: usize, cPrev: usize, c: usize, h: usize, ldh: i32): void {
  const HB = <usize>H * 4, H4B = HB * 4, ldhB = <usize>ldh * 4;
  for (let b = 0; b < B; b++) {
    const bg = g4 + <usize>b * H4B, bs = <usize>b * HB, bh = h + <usize>b * ldhB;
    let j = 0;
    for (; j + 4 <= H; j += 4) { const o = <usize>j * 4; lstmCell(HB, bg + o, cPrev + bs + o, c + bs + o, bh + o, true); }
    for (; j < H; j++) { const o = <usize>j * 4; lstmCell(HB, bg + o, cPrev + bs + o, c + bs + o, bh + o, false); }
  }
}

// Pointwise kernels (AssemblyScript, WebAssembly SIMD f32x4): activations and the GRU/LSTM cells.
//
// exp is vectorised (Cephes expf: range reduction by ln 2 in two parts + degree-5 polynomial,
// relative error about 1e-7, inputs clamped to [-87, 88]); sigmoid and tanh are derived from it,
// tanh using an odd polynomial for |x| < 0.625 so it stays accurate near 0. NaN propagates.
// Pointers are BYTE offsets. Tails (sizes not a multiple of 4) run the same vector code on one lane.

import { ld, st } from './simd';

// @ts-ignore: decorator
@inline export function vexp(x0: v128): v128 {
  // pmax(x, lo) = x < lo ? lo : x and pmin(x, hi) = hi < x ? hi : x keep NaN.
  const x = f32x4.pmin(f32x4.pmax(x0, f32x4.splat(-87.0)), f32x4.splat(88.0));
  // Round x·log2(e) to an integer by adding 1.5·2^23 (round to nearest even, as f32x4.nearest): the sum's
  // low mantissa bits then hold that integer, so 2^n is built from them without a float-to-int conversion
  // (V8's i32x4.trunc_sat_f32x4_s is ~7 instructions on x64). |x·log2(e)| ≤ 127 here. Same bits as before.
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const fx = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  // bits(t) = 0x4B400000 + n, and 0x4B400000 << 23 overflows to 0: so (bits(t) + 127) << 23 = (n + 127) << 23.
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(y, scale);
}

// @ts-ignore: decorator
@inline function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  // |x| < 0.625: x + x·z·P(z), z = x² (Cephes tanhf).
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(p, z), x));
  // |x| ≥ 0.625: sign(x)·(1 − 2/(exp(2|x|) + 1)); tanh(9) rounds to 1 in f32.
  const one = f32x4.splat(1.0);
  const e = vexp(f32x4.mul(f32x4.pmin(ax, f32x4.splat(9.0)), f32x4.splat(2.0)));
  const t = f32x4.sub(one, f32x4.div(f32x4.splat(2.0), f32x4.add(e, one)));
  const large = v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, large, f32x4.lt(ax, f32x4.splat(0.625)));
}


// ---------------------------------------------------------------------------------------------
// Exported test hooks for the elementwise functions (out[i] = f(x[i])).

export function expN(n: i32, x: usize, y: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(y + o, vexp(ld(x + o, true)), true); }
  for (; i < n; i++) { const o = <usize>i * 4; st(y + o, vexp(ld(x + o, false)), false); }
}

export function sigmoidN(n: i32, x: usize, y: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(y + o, vsigmoid(ld(x + o, true)), true); }
  for (; i < n; i++) { const o = <usize>i * 4; st(y + o, vsigmoid(ld(x + o, false)), false); }
}

// ---------------------------------------------------------------------------------------------
// Vanilla RNN activations. act: 0 tanh, 1 relu, 2 clipped relu min(max(x,0),20).

// @ts-ignore: decorator
@inline function actF(v: v128, act: i32): v128 {
  if (act == 0) return vtanh(v);
  const r = f32x4.pmax(v, f32x4.splat(0)); // v < 0 ? 0 : v (NaN stays)
  return act == 1 ? r : f32x4.pmin(r, f32x4.splat(20.0));
}

export function actForward(n: i32, act: i32, x: usize): void {
  let i = 0;
  if (act == 0) {
    for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(x + o, actF(ld(x + o, true), 0), true); }
    for (; i < n; i++) { const o = <usize>i * 4; st(x + o, actF(ld(x + o, false), 0), false); }
  } else if (act == 1) {
    for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(x + o, actF(ld(x + o, true), 1), true); }
    for (; i < n; i++) { const o = <usize>i * 4; st(x + o, actF(ld(x + o, false), 1), false); }
  } else {
    for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(x + o, actF(ld(x + o, true), 2), true); }
    for (; i < n; i++) { const o = <usize>i * 4; st(x + o, actF(ld(x + o, false), 2), false); }
  }
}

// @ts-ignore: decorator
@inline function actB(y: v128, d: v128, act: i32): v128 {
  const one = f32x4.splat(1.0);
  if (act == 0) return f32x4.mul(d, f32x4.sub(one, f32x4.mul(y, y)));
  let m = f32x4.gt(y, f32x4.splat(0));
  if (act == 2) m = v128.and(m, f32x4.lt(y, f32x4.splat(20.0)));
  return f32x4.mul(d, v128.and(m, one));
}

export function actBackward(n: i32, act: i32, y: usize, d: usize): void {
  let i = 0;
  if (act == 0) {
    for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(d + o, actB(ld(y + o, true), ld(d + o, true), 0), true); }
    for (; i < n; i++) { const o = <usize>i * 4; st(d + o, actB(ld(y + o, false), ld(d + o, false), 0), false); }
  } else if (act == 1) {
    for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(d + o, actB(ld(y + o, true), ld(d + o, true), 1), true); }
    for (; i < n; i++) { const o = <usize>i * 4; st(d + o, actB(ld(y + o, false), ld(d + o, false), 1), false); }
  } else {
    for (; i + 4 <= n; i += 4) { const o = <usize>i * 4; st(d + o, actB(ld(y + o, true), ld(d + o, true), 2), true); }
    for (; i < n; i++) { const o = <usize>i * 4; st(d + o, actB(ld(y + o, false), ld(d + o, false), 2), false); }
  }
}

// ---------------------------------------------------------------------------------------------
// GRU (gate order r, z, n). Offsets o are byte offsets of column j inside a row.

export function gruForward(B: i32, H: i32, gi: usize, gh: usize, hPrev: usize, h: usize, ldh: i32,
  gates: usize, ghn: usize): void {
  gruForwardUnits(B, H, 0, H, gi, gh, hPrev, h, ldh, gates, ghn);
}

/** gruForward for hidden units [j0, j1) only (pointers as for all units); a timestep cut by units. */
export function gruForwardUnits(B: i32, H: i32, j0: i32, j1: i32, gi: usize, gh: usize, hPrev: usize, h: usize, ldh: i32,
  gates: usize, ghn: usize): void {
  const HB = <usize>H * 4, H3B = HB * 3, ldhB = <usize>ldh * 4;
  for (let b = 0; b < B; b++) {
    const bi = gi + <usize>b * H3B, bh = gh + <usize>b * H3B, bg = gates + <usize>b * H3B;
    const bp = hPrev + <usize>b * ldhB, bo = h + <usize>b * ldhB, bn = ghn + <usize>b * HB;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const o = <usize>j * 4;
      gruCell(HB, bi + o, bh + o, bg + o, bp + o, bo + o, bn + o, true);
    }
    for (; j < j1; j++) {
      const o = <usize>j * 4;
      gruCell(HB, bi + o, bh + o, bg + o, bp + o, bo + o, bn + o, false);
    }
  }
}

// @ts-ignore: decorator
@inline function gruCell(H: usize, oi: usize, oh: usize, og: usize, ohp: usize, oho: usize, ohn: usize, full: bool): void {
  const one = f32x4.splat(1.0);
  const r = vsigmoid(f32x4.add(ld(oi, full), ld(oh, full)));
  const z = vsigmoid(f32x4.add(ld(oi + H, full), ld(oh + H, full)));
  const hn = ld(oh + H * 2, full);
  const n = vtanh(f32x4.add(ld(oi + H * 2, full), f32x4.mul(r, hn)));
  const hp = ld(ohp, full);
  st(oho, f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, hp)), full);
  st(og, r, full);
  st(og + H, z, full);
  st(og + H * 2, n, full);
  st(ohn, hn, full);
}

// @ts-ignore: decorator
@inline function gruBwdCell(H: usize, od: usize, ohp: usize, og: usize, ohn: usize, odi: usize, odh: usize,
  odp: usize, full: bool): void {
  const one = f32x4.splat(1.0);
  const r = ld(og, full), z = ld(og + H, full), n = ld(og + H * 2, full);
  const d = ld(od, full);
  const hp = ld(ohp, full);
  const dn = f32x4.mul(f32x4.mul(d, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
  const dz = f32x4.mul(f32x4.mul(f32x4.mul(d, f32x4.sub(hp, n)), z), f32x4.sub(one, z));
  const dr = f32x4.mul(f32x4.mul(f32x4.mul(dn, ld(ohn, full)), r), f32x4.sub(one, r));
  st(odi, dr, full);
  st(odi + H, dz, full);
  st(odi + H * 2, dn, full);
  st(odh, dr, full);
  st(odh + H, dz, full);
  st(odh + H * 2, f32x4.mul(dn, r), full);
  st(odp, f32x4.mul(d, z), full);
}

export function gruBackward(B: i32, H: i32, dh: usize, hPrev: usize, ldh: i32, gates: usize, ghn: usize,
  dgi: usize, dgh: usize, dhPrev: usize): void {
  const HB = <usize>H * 4, H3B = HB * 3, ldhB = <usize>ldh * 4;
  for (let b = 0; b < B; b++) {
    const bd = dh + <usize>b * ldhB, bp = hPrev + <usize>b * ldhB, bg = gates + <usize>b * H3B;
    const bn = ghn + <usize>b * HB, bi = dgi + <usize>b * H3B, bh = dgh + <usize>b * H3B;
    const bq = dhPrev + <usize>b * ldhB;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j * 4;
      gruBwdCell(HB, bd + o, bp + o, bg + o, bn + o, bi + o, bh + o, bq + o, true);
    }
    for (; j < H; j++) {
      const o = <usize>j * 4;
      gruBwdCell(HB, bd + o, bp + o, bg + o, bn + o, bi + o, bh + o, bq + o, false);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// LSTM (gate order i, f, g, o). c, cPrev, tc, dc are [B, H] (stride H); h, dh use ldh.

// @ts-ignore: decorator
@inline function lstmFwdCell(H: usize, og: usize, ocp: usize, oc: usize, oh: usize, otc: usize, full: bool): void {
  const i = vsigmoid(ld(og, full));
  const f = vsigmoid(ld(og + H, full));
  const g = vtanh(ld(og + H * 2, full));
  const o = vsigmoid(ld(og + H * 3, full));
  const c = f32x4.add(f32x4.mul(f, ld(ocp, full)), f32x4.mul(i, g));
  const t = vtanh(c);
  st(og, i, full);
  st(og + H, f, full);
  st(og + H * 2, g, full);
  st(og + H * 3, o, full);
  st(oc, c, full);
  st(otc, t, full);
  st(oh, f32x4.mul(o, t), full);
}

export function lstmForward(B: i32, H: i32, g4: usize, cPrev: usize, c: usize, h: usize, ldh: i32, tc: usize): void {
  lstmForwardUnits(B, H, 0, H, g4, cPrev, c, h, ldh, tc);
}

/** lstmForward for hidden units [j0, j1) only (pointers as for all units). */
export function lstmForwardUnits(B: i32, H: i32, j0: i32, j1: i32, g4: usize, cPrev: usize, c: usize, h: usize, ldh: i32, tc: usize): void {
  const HB = <usize>H * 4, H4B = HB * 4, ldhB = <usize>ldh * 4;
  for (let b = 0; b < B; b++) {
    const bg = g4 + <usize>b * H4B, bs = <usize>b * HB, bh = h + <usize>b * ldhB;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const o = <usize>j * 4;
      lstmFwdCell(HB, bg + o, cPrev + bs + o, c + bs + o, bh + o, tc + bs + o, true);
    }
    for (; j < j1; j++) {
      const o = <usize>j * 4;
      lstmFwdCell(HB, bg + o, cPrev + bs + o, c + bs + o, bh + o, tc + bs + o, false);
    }
  }
}

// @ts-ignore: decorator
@inline function lstmBwdCell(H: usize, odh: usize, og: usize, ocp: usize, otc: usize, odc: usize, odg: usize,
  full: bool): void {
  const one = f32x4.splat(1.0);
  const i = ld(og, full), f = ld(og + H, full), g = ld(og + H * 2, full), o = ld(og + H * 3, full);
  const t = ld(otc, full);
  const d = ld(odh, full);
  const dc = f32x4.add(ld(odc, full), f32x4.mul(f32x4.mul(d, o), f32x4.sub(one, f32x4.mul(t, t))));
  st(odg, f32x4.mul(f32x4.mul(f32x4.mul(dc, g), i), f32x4.sub(one, i)), full);
  st(odg + H, f32x4.mul(f32x4.mul(f32x4.mul(dc, ld(ocp, full)), f), f32x4.sub(one, f)), full);
  st(odg + H * 2, f32x4.mul(f32x4.mul(dc, i), f32x4.sub(one, f32x4.mul(g, g))), full);
  st(odg + H * 3, f32x4.mul(f32x4.mul(f32x4.mul(d, t), o), f32x4.sub(one, o)), full);
  st(odc, f32x4.mul(dc, f), full);
}

export function lstmBackward(B: i32, H: i32, dh: usize, ldh: i32, g4: usize, cPrev: usize, tc: usize,
  dc: usize, dg4: usize): void {
  const HB = <usize>H * 4, H4B = HB * 4, ldhB = <usize>ldh * 4;
  for (let b = 0; b < B; b++) {
    const bd = dh + <usize>b * ldhB, bg = g4 + <usize>b * H4B, bs = <usize>b * HB, bo = dg4 + <usize>b * H4B;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j * 4;
      lstmBwdCell(HB, bd + o, bg + o, cPrev + bs + o, tc + bs + o, dc + bs + o, bo + o, true);
    }
    for (; j < H; j++) {
      const o = <usize>j * 4;
      lstmBwdCell(HB, bd + o, bg + o, cPrev + bs + o, tc + bs + o, dc + bs + o, bo + o, false);
    }
  }
}

// A machine-ceiling probe for benchmarks: `iters` rounds of 12 independent f32x4 multiply-add chains
// a = a·m + b (madd: a multiply and an add in the simd128 build, relaxed_madd in the relaxed build);
// 12 chains cover the latency of either form on current x86 and ARM cores. 96 flops per round; the
// result is returned so the work cannot be optimised away.
import { madd } from './simd';

export function peakMulAdd(iters: i32): f32 {
  const m = f32x4.splat(0.999999), b = f32x4.splat(1e-7);
  let a0 = f32x4.splat(1), a1 = f32x4.splat(2), a2 = f32x4.splat(3), a3 = f32x4.splat(4);
  let a4 = f32x4.splat(5), a5 = f32x4.splat(6), a6 = f32x4.splat(7), a7 = f32x4.splat(8);
  let a8 = f32x4.splat(9), a9 = f32x4.splat(10), a10 = f32x4.splat(11), a11 = f32x4.splat(12);
  for (let i = 0; i < iters; i++) {
    a0 = madd(a0, m, b); a1 = madd(a1, m, b); a2 = madd(a2, m, b); a3 = madd(a3, m, b);
    a4 = madd(a4, m, b); a5 = madd(a5, m, b); a6 = madd(a6, m, b); a7 = madd(a7, m, b);
    a8 = madd(a8, m, b); a9 = madd(a9, m, b); a10 = madd(a10, m, b); a11 = madd(a11, m, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
  return f32x4.extract_lane(t, 0);
}

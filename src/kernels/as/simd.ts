// Shared SIMD helpers for the kernel modules.

/**
 * c + a·b, lane-wise. In the relaxed-SIMD build (scripts/build-wasm.mjs, `--enable relaxed-simd`)
 * this is f32x4.relaxed_madd: one fused multiply-add where the CPU has FMA (Intel, ARM), else the
 * same two operations. In the simd128 build it is a multiply and an add, rounded twice.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// Load/store either 4 lanes (full) or lane 0 only, for a kernel's vector body and its one-lane
// tail. Called with a constant `full`, so after inlining the branch folds away.
// @ts-ignore: decorator
@inline export function ld(p: usize, full: bool): v128 {
  return full ? v128.load(p) : v128.load32_zero(p);
}
// @ts-ignore: decorator
@inline export function st(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else v128.store32_lane(p, v, 0);
}

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

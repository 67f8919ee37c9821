// Kernel selection: WebAssembly SIMD when the platform runs it, the TypeScript reference otherwise.
import type { Heap } from './heap.js';
import type { Kernels } from './types.js';
import { RefKernels } from './ref.js';
import { createWasmKernelsSync } from './wasm.js';

export { Heap, HEAP_BASE } from './heap.js';
export type { Kernels, Activation } from './types.js';
export { ACTIVATION_CODE } from './types.js';
export { RefKernels } from './ref.js';
export { WasmKernels, createWasmKernels, createWasmKernelsSync, wasmSimdSupported } from './wasm.js';
export type { WasmKernelExports } from './wasm.js';

/**
 * Kernels for `heap`: 'wasm' (WebAssembly SIMD; throws where unavailable), 'ts' (reference), or
 * 'auto' (wasm when available, else ts).
 */
export function createKernels(heap: Heap, prefer: 'wasm' | 'relaxed' | 'ts' | 'auto' = 'auto'): Kernels {
  if (prefer === 'ts') return new RefKernels(heap);
  if (prefer === 'relaxed') {
    const r = createWasmKernelsSync(heap, 'relaxed');
    if (!r) throw new Error('createKernels: this JavaScript engine does not run relaxed SIMD; use wasm');
    return r;
  }
  const k = createWasmKernelsSync(heap);
  if (k) return k;
  if (prefer === 'wasm') throw new Error('createKernels: WebAssembly SIMD is not available on this platform');
  return new RefKernels(heap);
}
export { wasmRelaxedSupported, kernelModuleBytes, compileKernelModule } from './wasm.js';
export type { WasmVariant } from './wasm.js';
// The Node engine (worker threads) lives in './engine.js'; it is not re-exported here so that the
// browser runtime, which imports this file, never pulls in Node modules.

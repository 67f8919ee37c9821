// Kernel selection: WebAssembly SIMD when the platform runs it, the TypeScript reference otherwise.
export { Heap, HEAP_BASE } from './heap.js';
export type { Kernels, Activation } from './types.js';
export { ACTIVATION_CODE } from './types.js';
export { RefKernels } from './ref.js';

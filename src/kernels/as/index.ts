// AssemblyScript entry point: a plain list of re-exports (compiled by scripts/build-wasm.mjs).
export * from './dense';
export * from './pointwise';
export * from './sparse';
export * from './bsr';
export * from './peak';

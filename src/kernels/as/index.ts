// AssemblyScript entry point: a plain list of re-exports (compiled by scripts/build-wasm.mjs).
export * from './dense';
export * from './pointwise';
export * from './infer';
export * from './loss';
export * from './optim';
export * from './step';
export * from './sparse';
export * from './bsr';
export * from './peak';

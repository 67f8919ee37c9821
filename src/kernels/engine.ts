// The compute engine (Node): one heap, its kernels and a pool of worker threads.
//
// Every command that computes creates one engine with `await createEngine({ kernels, threads })` and
// then calls `engine.kernels` synchronously: the factory is async only because workers start
// asynchronously; afterwards each kernel call drives the workers through shared memory (pool.ts).
// With threads > 1 the heap is a shared WebAssembly.Memory. Results do not depend on the thread count
// (parallel.ts), so a run may resume on a machine with another number of cores and continue bit-exactly.
//
// Kernel variants: 'wasm' (fixed-width SIMD, everywhere), 'relaxed' (fused multiply-add through relaxed
// SIMD; results differ from 'wasm' in the last bits, and are reproducible within the variant), 'ts'
// (the TypeScript reference, one thread). 'auto' takes 'relaxed' only where the engine supports it and a
// short calibration shows it at least 10% faster than 'wasm' (FMA roughly doubles the multiply-add peak
// on Intel and ARM; on AMD Zen separate multiply and add pipes keep up with it), else 'wasm', else 'ts'.
// The calibration's verdict is remembered per machine (src/kernels/node.ts), so runs stay reproducible.

import { Heap } from './heap.js';
import type { Kernels } from './types.js';
import { RefKernels } from './ref.js';
import {
  compileKernelModule, createWasmKernelsSync, wasmRelaxedSupported, wasmSimdSupported, type WasmVariant,
} from './wasm.js';
import { ThreadPool } from './pool.js';
import { ThreadedKernels } from './threaded.js';
import { MAX_THREADS } from './parallel.js';
import { nodeCores, rememberedChoice, spawnNodeWorker } from './node.js';

import { KERNEL_CHOICES, engineOf, relaxedIsFaster, type KernelChoice } from './choice.js';

export { KERNEL_CHOICES, type KernelChoice };

export interface EngineOptions {
  /** Kernel variant (default 'auto'). */
  kernels?: KernelChoice;
  /** Threads including the calling thread (default: the machine's cores; 1 = no worker threads). */
  threads?: number;
  /** Initial heap size in bytes. */
  heapBytes?: number;
  /** Microseconds an idle worker spins before it sleeps (default 200). */
  spinMicros?: number;
  /** Split every kernel call across the threads, however small (tests of the partitioning). */
  splitAll?: boolean;
  /** Why the caller chose this thread count, shown by `describe()` (e.g. a model too small to split). */
  threadsNote?: string;
}

export interface Engine {
  readonly heap: Heap;
  readonly kernels: Kernels;
  /** The kernel variant that runs: 'simd128', 'relaxed' or 'ts'. */
  readonly variant: WasmVariant | 'ts';
  /** Threads that compute (1 without a pool). */
  readonly threads: number;
  /** Why fewer threads or another variant than asked for run, if so. */
  readonly note: string | null;
  /** One line for logs, e.g. "kernels wasm simd128 (auto), 2 threads". */
  describe(): string;
  /** Stops the worker pool (idle workers never keep the process alive; this frees them early). */
  close(): Promise<void>;
}

/** The number of cores (the default thread count). */
export function defaultThreads(): number {
  return nodeCores();
}

export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  const choice = opts.kernels ?? 'auto';
  if (!KERNEL_CHOICES.includes(choice)) throw new RangeError(`--kernels must be one of ${KERNEL_CHOICES.join(', ')}, got "${choice}"`);
  const asked = opts.threads ?? defaultThreads();
  if (!Number.isInteger(asked) || asked < 1 || asked > MAX_THREADS) {
    throw new RangeError(`--threads must be an integer from 1 to ${MAX_THREADS}, got "${asked}"`);
  }
  let note: string | null = opts.threadsNote ?? null;
  let variant: WasmVariant | 'ts';
  if (choice === 'ts') variant = 'ts';
  else if (!wasmSimdSupported()) {
    if (choice !== 'auto') throw new Error('--kernels: WebAssembly SIMD is not available in this JavaScript engine; use --kernels ts');
    variant = 'ts';
    note = 'WebAssembly SIMD is not available: TypeScript reference kernels';
  } else if (choice === 'relaxed') {
    if (!wasmRelaxedSupported()) {
      throw new Error('--kernels relaxed: this JavaScript engine does not run relaxed SIMD; use --kernels wasm (or auto)');
    }
    variant = 'relaxed';
  } else variant = choice === 'wasm' ? 'simd128' : autoVariant();

  const threads = variant === 'ts' ? 1 : asked;
  if (variant === 'ts' && asked > 1) note = `${note ? note + '; ' : ''}the TypeScript kernels run on one thread`;
  const heap = new Heap(opts.heapBytes, { shared: threads > 1 });
  let kernels: Kernels;
  let pool: ThreadPool | null = null;
  if (variant === 'ts') kernels = new RefKernels(heap);
  else {
    const inner = createWasmKernelsSync(heap, variant);
    if (!inner) throw new Error(`kernels: the ${variant} WebAssembly module failed to instantiate`);
    kernels = inner;
    if (threads > 1) {
      pool = await ThreadPool.start({
        threads, module: compileKernelModule(variant, true), memory: heap.memory, main: inner.exports,
        scratch: () => heap.alloc(32768) * 4, spawn: spawnNodeWorker, spinMicros: opts.spinMicros,
      });
      kernels = new ThreadedKernels(inner, pool, { splitAll: opts.splitAll });
    }
  }
  return engineOf({ heap, kernels, variant, threads, note, choice, pool });
}

let autoChoice: WasmVariant | undefined;
/** 'relaxed' where supported and clearly faster on this machine (remembered; else a ~40 ms calibration). */
export function autoVariant(): WasmVariant {
  if (autoChoice) return autoChoice;
  if (!wasmRelaxedSupported()) return (autoChoice = 'simd128');
  return (autoChoice = rememberedChoice(calibrate) === 'relaxed' ? 'relaxed' : 'simd128');
}

/** Times a recurrent-step-sized GEMM with both variants (choice.ts). */
function calibrate(): WasmVariant {
  const k = (v: WasmVariant) => createWasmKernelsSync(new Heap(4 << 20), v)!;
  return relaxedIsFaster(k('simd128'), k('relaxed')) ? 'relaxed' : 'simd128';
}

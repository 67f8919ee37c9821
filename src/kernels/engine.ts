// The compute engine: one heap, its kernels and (where available) a pool of worker threads.
//
// Every command that computes creates one engine with `await createEngine({ kernels, threads })` and
// uses `engine.kernels` synchronously afterwards. The factory is async because a worker pool starts
// asynchronously; the kernels it returns are plain synchronous calls (workers are driven through
// shared memory with Atomics, never with messages).

import { Heap } from './heap.js';
import type { Kernels } from './types.js';
import { createKernels } from './index.js';

/** What `--kernels` accepts. `auto`: the fastest supported variant on this machine. */
export type KernelChoice = 'auto' | 'wasm' | 'relaxed' | 'ts';
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'wasm', 'relaxed', 'ts'];

export interface EngineOptions {
  /** Kernel variant (default 'auto'). */
  kernels?: KernelChoice;
  /** Worker threads including the calling thread (default: the machine's cores; 1 = single-threaded). */
  threads?: number;
  /** Initial heap size in bytes. */
  heapBytes?: number;
}

export interface Engine {
  readonly heap: Heap;
  readonly kernels: Kernels;
  /** Threads actually used (1 when the platform or the kernel variant has no threads). */
  readonly threads: number;
  /** One line for logs: the kernel variant and the thread count, e.g. "kernels wasm (simd128), 2 threads". */
  describe(): string;
  /** Stops the worker pool (idle workers never keep the process alive; this frees them early). */
  close(): Promise<void>;
}

/** The number of cores the platform reports (1 where it reports none). */
export function defaultThreads(): number {
  const g = globalThis as { navigator?: { hardwareConcurrency?: number } };
  const n = g.navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? Math.floor(n) : 1;
}

export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  const choice = opts.kernels ?? 'auto';
  const heap = new Heap(opts.heapBytes);
  const kernels = createKernels(heap, choice === 'relaxed' ? 'wasm' : choice);
  const label = kernels.name === 'wasm' ? 'wasm (simd128)' : 'ts (reference)';
  return {
    heap,
    kernels,
    threads: 1,
    describe: () => `kernels ${label}, 1 thread`,
    close: async () => {},
  };
}

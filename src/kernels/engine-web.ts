// The compute engine in browsers: one heap, its kernels and, where the platform allows it, a pool of
// Web Workers computing on a shared heap. The browser twin of engine.ts (which is Node-only: it
// starts worker_threads); same Engine interface, same kernel choices, same results.
//
// Threads need three things, and the engine runs on one thread when any is missing (it says why in
// `note`):
//  * SharedArrayBuffer, which browsers give only to cross-origin isolated pages (served with
//    `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`);
//  * a thread that may block in Atomics.wait: a Web Worker, not a page's main thread (ThreadPool.run
//    waits for the workers' last chunks);
//  * Web Workers: the pool's workers are module workers running dist/web/sparse-rnn-pool.js
//    (src/web/pool-worker.ts); each gets the compiled module and the shared memory by postMessage.
// Browsers refuse synchronous compiles of large modules on the main thread, so everything here
// compiles with WebAssembly.compile.
//
// 'auto' runs the same calibration as the Node engine (relaxed SIMD only where the browser validates
// the relaxed module and a short GEMM timing shows it at least 10% faster), with async compiles.

import type { Engine } from './engine.js'; // types only: nothing of engine.ts (Node) is bundled
import { KERNEL_CHOICES, engineOf, relaxedIsFaster, type KernelChoice } from './choice.js';
import { Heap } from './heap.js';
import type { Kernels } from './types.js';
import { RefKernels } from './ref.js';
import {
  WasmKernels, kernelModuleBytes, wasmRelaxedSupported, wasmSimdSupported, type WasmKernelExports, type WasmVariant,
} from './wasm.js';
import { ThreadPool, type SpawnWorker } from './pool.js';
import { ThreadedKernels } from './threaded.js';
import { MAX_THREADS } from './parallel.js';

export type { Engine, KernelChoice };

export interface WebEngineOptions {
  /** Kernel variant (default 'auto'). */
  kernels?: KernelChoice;
  /**
   * Threads including the calling thread (default: navigator.hardwareConcurrency where threads are
   * possible, else 1). Where they are not possible the engine runs on one thread and says why.
   */
  threads?: number;
  /**
   * URL of the pool worker script, dist/web/sparse-rnn-pool.js (default: sparse-rnn-pool.js next to
   * the bundle this code is in, as in dist/web/).
   */
  poolWorkerUrl?: string | URL;
  /** Initial heap size in bytes. */
  heapBytes?: number;
  /** Microseconds an idle worker spins before it sleeps (default 200). */
  spinMicros?: number;
  /** Split every kernel call across the threads, however small (tests of the partitioning). */
  splitAll?: boolean;
}

type Scope = { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number }; Worker?: unknown };
const scope = globalThis as unknown as Scope;

let waitOk: boolean | undefined;
/** Whether this thread may block in Atomics.wait (workers yes; a page's main thread no). */
function canWait(): boolean {
  if (waitOk === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // returns 'not-equal' at once where allowed
      waitOk = true;
    } catch {
      waitOk = false;
    }
  }
  return waitOk;
}

/** Whether this page or worker is cross-origin isolated, so that it has SharedArrayBuffer. */
export function crossOriginIsolatedNow(): boolean {
  return scope.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

/** The logical cores the browser reports (at least 1, at most the pool's limit). */
export function browserCores(): number {
  const n = Math.floor(scope.navigator?.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(MAX_THREADS, Number.isFinite(n) ? n : 1));
}

/** Null when this thread can run a pool of worker threads, else why not (one line). */
export function webThreadsUnavailable(): string | null {
  if (!crossOriginIsolatedNow()) {
    return 'not cross-origin isolated (serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (typeof scope.Worker !== 'function') return 'this context cannot start Web Workers';
  if (!canWait()) return 'a page\'s main thread cannot wait on worker threads (threads run in Web Worker mode)';
  return null;
}

/** Starts pool workers as module Web Workers from `url`; each says 'ready' once it has instantiated the module. */
export function webWorkerSpawner(url: string | URL): SpawnWorker {
  return (init) => new Promise((resolve, reject) => {
    let w: Worker;
    try {
      w = new Worker(url, { type: 'module', name: `sparse-rnn kernels ${init.index}` });
    } catch (e) {
      reject(new Error(`kernels: could not start the pool worker ${String(url)}: ${(e as Error).message}`));
      return;
    }
    const fail = (why: string): void => {
      w.terminate();
      reject(new Error(`kernels: the pool worker ${String(url)} did not start: ${why}`));
    };
    w.onmessage = (ev: MessageEvent): void => {
      if (ev.data === 'ready') {
        w.onmessage = w.onerror = w.onmessageerror = null;
        resolve({ terminate: () => w.terminate() });
      } else fail((ev.data as { error?: string })?.error ?? String(ev.data));
    };
    w.onerror = (ev: ErrorEvent): void => {
      ev.preventDefault();
      fail(ev.message || 'the script failed to load (is poolWorkerUrl right, and served with the page\'s COEP?)');
    };
    w.onmessageerror = (): void => fail('it could not receive the shared memory');
    try {
      w.postMessage(init);
    } catch (e) {
      fail((e as Error).message);
    }
  });
}

/** Compiles (async) and instantiates the kernel module over `heap`. */
async function instantiate(heap: Heap, variant: WasmVariant): Promise<{ module: WebAssembly.Module; kernels: WasmKernels }> {
  const module = await WebAssembly.compile(kernelModuleBytes(variant, heap.shared) as BufferSource);
  const inst = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
  return { module, kernels: new WasmKernels(heap, inst.exports as unknown as WasmKernelExports, variant) };
}

let autoChoice: Promise<WasmVariant> | undefined;
/** The variant 'auto' picks in this browser (calibrated once per page or worker). */
export function autoVariantAsync(): Promise<WasmVariant> {
  autoChoice ??= (async (): Promise<WasmVariant> => {
    if (!wasmRelaxedSupported()) return 'simd128';
    try {
      const [s, r] = await Promise.all([instantiate(new Heap(4 << 20), 'simd128'), instantiate(new Heap(4 << 20), 'relaxed')]);
      return relaxedIsFaster(s.kernels, r.kernels) ? 'relaxed' : 'simd128';
    } catch {
      return 'simd128'; // validated but would not compile or instantiate: take the fixed-width build
    }
  })();
  return autoChoice;
}

/** Creates the engine: async because modules compile and workers start asynchronously. */
export async function createWebEngine(opts: WebEngineOptions = {}): Promise<Engine> {
  const choice = opts.kernels ?? 'auto';
  if (!KERNEL_CHOICES.includes(choice)) throw new RangeError(`kernels must be one of ${KERNEL_CHOICES.join(', ')}, got "${choice}"`);
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > MAX_THREADS)) {
    throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS}, got "${opts.threads}"`);
  }
  const notes: string[] = [];
  let variant: WasmVariant | 'ts';
  if (choice === 'ts') variant = 'ts';
  else if (!wasmSimdSupported()) {
    if (choice !== 'auto') throw new Error('kernels: this browser does not run WebAssembly SIMD; use kernels "ts" (or "auto")');
    variant = 'ts';
    notes.push('WebAssembly SIMD is not available: TypeScript reference kernels');
  } else if (choice === 'relaxed') {
    if (!wasmRelaxedSupported()) throw new Error('kernels "relaxed": this browser does not run relaxed SIMD (Chrome ≥ 114 does); use "wasm" or "auto"');
    variant = 'relaxed';
  } else variant = choice === 'wasm' ? 'simd128' : await autoVariantAsync();

  const unavailable = variant === 'ts' ? null : webThreadsUnavailable();
  const asked = opts.threads ?? (unavailable ? 1 : browserCores());
  let threads = asked;
  if (variant === 'ts') {
    threads = 1;
    if (asked > 1) notes.push('the TypeScript kernels run on one thread');
  } else if (unavailable) {
    threads = 1;
    if (asked > 1) notes.push(unavailable);
  }

  const heap = new Heap(opts.heapBytes, { shared: threads > 1 });
  let kernels: Kernels;
  let pool: ThreadPool | null = null;
  if (variant === 'ts') kernels = new RefKernels(heap);
  else {
    const { module, kernels: inner } = await instantiate(heap, variant);
    kernels = inner;
    if (threads > 1) {
      pool = await ThreadPool.start({
        threads, module, memory: heap.memory, main: inner.exports, scratch: () => heap.alloc(32768) * 4,
        spawn: webWorkerSpawner(opts.poolWorkerUrl ?? new URL('./sparse-rnn-pool.js', import.meta.url)),
        spinMicros: opts.spinMicros,
      });
      kernels = new ThreadedKernels(inner, pool, { splitAll: opts.splitAll });
    }
  }
  const note = notes.length ? notes.join('; ') : null;
  return engineOf({ heap, kernels, variant, threads, note, choice, pool });
}

// A pool of worker threads that run the WASM kernels on one shared heap, driven through shared memory.
//
// The calling thread is thread 0; workers 1..n-1 each hold their own instance of the same module over
// the same shared WebAssembly.Memory. A call writes its arguments into a control block, bumps a
// generation counter and runs its own part; workers see the new generation, run theirs (the split is
// computed identically everywhere: parallel.ts) and count themselves done. No messages after start-up:
// the recurrent product is sequential over time, so each call must cost microseconds, not a message.
//
// Waiting, as OpenMP and pthreadpool do it: spin for a bounded time (workers: `spinMicros`, so the
// per-timestep calls of a training step find them awake), then sleep in Atomics.wait. A sleeping
// worker is woken with Atomics.notify (15–30 µs here). Workers never keep the process alive.
//
// Browser-safe: spawning a worker is the platform's job (src/kernels/node.ts for Node; a page passes
// its own). Threads need SharedArrayBuffer: Node, or a cross-origin isolated page.

import { ARGS, BOUNDS, MAX_THREADS, runPart, type Op } from './parallel.js';
import type { WasmKernelExports } from './wasm.js';

// Control block (Int32 indices). GEN and DONE sit on their own 64-byte lines.
const GEN = 0;
const DONE = 16;
const OP = 32;
const SLEEPERS = 33;
const MAIN_WAITING = 34;
const STOP = 35;
const FAILED = 36;
const CONTROL_INTS = 64;
const ARG_OFFSET = CONTROL_INTS * 4;
export const CONTROL_BYTES = ARG_OFFSET + (ARGS + BOUNDS + MAX_THREADS + 1) * 8;

/** What a worker needs to join the pool (structured-cloneable). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** This worker's thread index (1..n-1) and the pool size. */
  index: number;
  threads: number;
  /** Byte offset of this worker's 128 KiB GEMM packing scratch. */
  scratch: number;
  spinMicros: number;
}

export interface PoolWorker {
  terminate(): void | Promise<unknown>;
}

/** Starts one worker running `serveKernels` with `init`; resolves once it has instantiated the module. */
export type SpawnWorker = (init: WorkerInit) => Promise<PoolWorker>;

type Exports = WasmKernelExports & Record<string, (...a: number[]) => unknown>;

const now = (): number => performance.now();

/**
 * A worker's loop: wait for a call, run its part, count itself done. Returns when the pool stops.
 * Runs inside the worker (src/kernels/pool-worker.ts).
 */
export function serveKernels(init: WorkerInit, onReady: () => void): void {
  const inst = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const e = inst.exports as unknown as Exports;
  e.setScratch(init.scratch);
  const c = new Int32Array(init.control, 0, CONTROL_INTS);
  const a = new Float64Array(init.control, ARG_OFFSET, ARGS + BOUNDS + MAX_THREADS + 1);
  const spinMs = init.spinMicros / 1000;
  // Read the generation before saying ready: the first call may come right after.
  let seen = Atomics.load(c, GEN);
  onReady();
  for (;;) {
    let g = Atomics.load(c, GEN);
    if (g === seen) {
      let deadline = now() + spinMs;
      for (let i = 1; (g = Atomics.load(c, GEN)) === seen; i++) {
        if ((i & 127) === 0 && now() > deadline) {
          Atomics.add(c, SLEEPERS, 1);
          Atomics.wait(c, GEN, seen);
          Atomics.sub(c, SLEEPERS, 1);
          deadline = now() + spinMs;
        }
      }
    }
    seen = g;
    if (Atomics.load(c, STOP)) return;
    try {
      runPart(e, c[OP] as Op, a, init.index, init.threads);
    } catch {
      Atomics.store(c, FAILED, 1);
    }
    if (Atomics.add(c, DONE, 1) + 1 === init.threads - 1 && Atomics.load(c, MAIN_WAITING)) Atomics.notify(c, DONE);
  }
}

export class ThreadPool {
  readonly args: Float64Array;
  private readonly c: Int32Array;
  private workers: PoolWorker[] = [];
  private closed = false;

  private constructor(readonly threads: number, readonly main: Exports, readonly control: SharedArrayBuffer) {
    this.c = new Int32Array(control, 0, CONTROL_INTS);
    this.args = new Float64Array(control, ARG_OFFSET, ARGS + BOUNDS + MAX_THREADS + 1);
  }

  /**
   * Starts threads − 1 workers over `memory` (shared). `scratch(i)` gives worker i its packing scratch.
   * `main` is the calling thread's instance of the same module.
   */
  static async start(opts: {
    threads: number; module: WebAssembly.Module; memory: WebAssembly.Memory; main: WasmKernelExports;
    scratch: (index: number) => number; spawn: SpawnWorker; spinMicros?: number;
  }): Promise<ThreadPool> {
    const n = Math.max(1, Math.min(MAX_THREADS, Math.floor(opts.threads)));
    const pool = new ThreadPool(n, opts.main as Exports, new SharedArrayBuffer(CONTROL_BYTES));
    const spinMicros = opts.spinMicros ?? 200;
    try {
      pool.workers = await Promise.all(Array.from({ length: n - 1 }, (_, i) => opts.spawn({
        module: opts.module, memory: opts.memory, control: pool.control, index: i + 1, threads: n,
        scratch: opts.scratch(i + 1), spinMicros,
      })));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Runs `op` with the arguments already written into `args`, on every thread; returns when all are done. */
  run(op: Op): void {
    const c = this.c, n = this.threads;
    if (this.closed) throw new Error('kernels: the thread pool is closed');
    c[OP] = op;
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, GEN);
    runPart(this.main, op, this.args, 0, n);
    const want = n - 1;
    if (Atomics.load(c, DONE) < want) {
      // Workers finish about when we do: spin briefly, then sleep until the last one notifies.
      const deadline = now() + 1;
      for (let i = 1; Atomics.load(c, DONE) < want; i++) {
        if ((i & 127) === 0 && now() > deadline) {
          Atomics.store(c, MAIN_WAITING, 1);
          for (let d = Atomics.load(c, DONE); d < want; d = Atomics.load(c, DONE)) Atomics.wait(c, DONE, d, 1000);
          Atomics.store(c, MAIN_WAITING, 0);
          break;
        }
      }
    }
    if (Atomics.load(c, FAILED)) {
      Atomics.store(c, FAILED, 0);
      throw new Error('kernels: a worker thread failed inside a kernel (out-of-bounds memory access?)');
    }
  }

  /** Stops and terminates the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.c, STOP, 1);
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

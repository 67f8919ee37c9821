// A pool of worker threads that run the WASM kernels on one shared heap, driven through shared memory.
//
// The calling thread and workers 1..n-1 each hold an instance of the same module over the same shared
// WebAssembly.Memory. A call writes its arguments into a control block, cuts the work into chunks
// (parallel.ts: chunk boundaries on kernel-block multiples, so any thread may run any chunk and the
// result is the same bit for bit) and bumps a generation counter. Every thread, the caller included,
// then claims chunks one at a time until none is left. The caller never waits for a worker that is
// asleep or descheduled unless that worker holds a chunk, which keeps a busy neighbour from stalling
// every call. No messages after start-up: a per-timestep call must cost microseconds.
//
// Claims are a compare-and-swap on one word holding (generation, next chunk), so a worker that read a
// call's arguments just as the call finished can never run a chunk of the next call with them. A new
// call first closes the last call's ticket, then writes its chunk count: no claim pairs an old ticket
// with a new count (test/threads.test.ts, "no chunk runs twice").
//
// Waiting, as OpenMP and pthreadpool do it: workers spin for a bounded time (`spinMicros`, so the
// per-timestep calls of a training step find them awake), then sleep in Atomics.wait; a sleeping worker
// is woken with Atomics.notify. Workers never keep the process alive.
//
// Browser-safe: spawning a worker is the platform's job (src/kernels/node.ts for Node; a page passes
// its own). Threads need SharedArrayBuffer: Node, or a cross-origin isolated page.

import { ARGS, ARG_SLOTS, MAX_THREADS, runPart, type Op } from './parallel.js';
import type { WasmKernelExports } from './wasm.js';

// Control block (Int32 indices). Words written by different threads sit on their own 64-byte lines.
const GEN = 0;
const TICKET = 16; // (generation & 0x7fff) << 16 | next chunk
const DONE = 32; // chunks finished
const OP = 48;
const CHUNKS = 49;
const SLEEPERS = 50;
const MAIN_WAITING = 51;
const STOP = 52;
const FAILED = 53;
const CONTROL_INTS = 64;
const ARG_OFFSET = CONTROL_INTS * 4;
export const CONTROL_BYTES = ARG_OFFSET + (ARGS + ARG_SLOTS) * 8;

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
  terminate(): unknown;
}

/** Starts one worker running `serveKernels` with `init`; resolves once it has instantiated the module. */
export type SpawnWorker = (init: WorkerInit) => Promise<PoolWorker>;

type Exports = WasmKernelExports & Record<string, (...a: number[]) => unknown>;

const now = (): number => performance.now();

/**
 * Claims and runs chunks of generation `gen` until none is left. Returns how many it ran.
 * `c`: control words, `a`: arguments; both already hold generation `gen`'s call when called.
 */
function work(e: Exports, c: Int32Array, a: Float64Array, gen: number): number {
  const tag = (gen & 0x7fff) << 16;
  let ran = 0;
  for (;;) {
    const t = Atomics.load(c, TICKET);
    if ((t & ~0xffff) !== tag) return ran; // the call is over (and another may have begun)
    const i = t & 0xffff, n = c[CHUNKS];
    if (i >= n) return ran;
    if (Atomics.compareExchange(c, TICKET, t, t + 1) !== t) continue;
    // Claimed chunk i of this call: its arguments cannot change until every chunk is done.
    try {
      runPart(e, c[OP] as Op, a, i, n);
    } catch {
      Atomics.store(c, FAILED, 1);
    }
    ran++;
    if (Atomics.add(c, DONE, 1) + 1 === n && Atomics.load(c, MAIN_WAITING)) Atomics.notify(c, DONE);
  }
}

/**
 * A worker's loop: wait for a call, claim and run chunks, repeat. Returns when the pool stops.
 * Runs inside the worker (src/kernels/pool-worker.ts).
 */
export function serveKernels(init: WorkerInit, onReady: () => void): void {
  const inst = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const e = inst.exports as unknown as Exports;
  e.setScratch(init.scratch);
  const c = new Int32Array(init.control, 0, CONTROL_INTS);
  const a = new Float64Array(init.control, ARG_OFFSET, ARGS + ARG_SLOTS);
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
    work(e, c, a, g);
  }
}

export class ThreadPool {
  readonly args: Float64Array;
  private readonly c: Int32Array;
  private workers: PoolWorker[] = [];
  private closed = false;
  private gen = 0;

  private constructor(readonly threads: number, readonly main: Exports, readonly control: SharedArrayBuffer) {
    this.c = new Int32Array(control, 0, CONTROL_INTS);
    this.args = new Float64Array(control, ARG_OFFSET, ARGS + ARG_SLOTS);
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
    // Wait for every worker, also when one fails, so none is left asleep in Atomics.wait.
    const started = await Promise.allSettled(Array.from({ length: n - 1 }, (_, i) => opts.spawn({
      module: opts.module, memory: opts.memory, control: pool.control, index: i + 1, threads: n,
      scratch: opts.scratch(i + 1), spinMicros,
    })));
    pool.workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  /** Whether every worker is asleep (it spun past its spin time without a call). */
  sleeping(): boolean {
    return Atomics.load(this.c, SLEEPERS) >= this.threads - 1;
  }

  /**
   * Runs `op`, with its arguments already in `args`, as `chunks` chunks over all threads; returns when
   * every chunk is done.
   */
  run(op: Op, chunks: number): void {
    const c = this.c;
    if (this.closed) throw new Error('kernels: the thread pool is closed');
    const gen = (this.gen = (this.gen + 1) & 0x7fffffff);
    // Close the last call's ticket before its chunk count changes. A worker that read that ticket just
    // before (all chunks claimed) and this call's larger count just after would otherwise claim a chunk
    // of this call under the old ticket: run it twice (an accumulating call adds twice) and count it.
    Atomics.store(c, TICKET, ((gen & 0x7fff) << 16) | 0xffff);
    c[OP] = op;
    c[CHUNKS] = chunks;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, TICKET, (gen & 0x7fff) << 16);
    Atomics.store(c, GEN, gen);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, GEN);
    work(this.main, c, this.args, gen);
    if (Atomics.load(c, DONE) < chunks) {
      // The last chunks are running on workers: spin briefly, then sleep until the last one notifies.
      const deadline = now() + 0.5;
      for (let i = 1; Atomics.load(c, DONE) < chunks; i++) {
        if ((i & 127) === 0 && now() > deadline) {
          Atomics.store(c, MAIN_WAITING, 1);
          for (let d = Atomics.load(c, DONE); d < chunks; d = Atomics.load(c, DONE)) Atomics.wait(c, DONE, d, 1000);
          Atomics.store(c, MAIN_WAITING, 0);
          break;
        }
      }
    }
    if (Atomics.load(c, FAILED)) {
      Atomics.store(c, FAILED, 0);
      throw new Error('kernels: a kernel failed on a worker thread (out-of-bounds memory access?)');
    }
  }

  /** Stops and terminates the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.c, STOP, 1);
    Atomics.store(this.c, GEN, (this.gen + 1) & 0x7fffffff);
    Atomics.notify(this.c, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

// The machine's multiply-add ceiling for `npm run bench -- train`: independent f32x4 multiply-add
// chains (src/kernels/as/peak.ts) on 1 and on N threads at once, for each kernel variant. This is
// the roof a GEMM can approach; our GEMMs' GFLOP/s are quoted against it.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import '../src/kernels/node.js';
import { kernelModuleBytes, wasmRelaxedSupported, type WasmVariant } from '../src/kernels/wasm.js';
import { Heap } from '../src/kernels/heap.js';

const ITERS = 20_000_000; // 96 flops each: ~2 GFLOP per thread per round

function runPeak(variant: WasmVariant): number {
  const heap = new Heap(2 << 20);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(kernelModuleBytes(variant) as BufferSource), { env: { memory: heap.memory } });
  const peak = inst.exports.peakMulAdd as (n: number) => number;
  peak(100_000); // warm up (tier-up)
  const t0 = performance.now();
  peak(ITERS);
  return performance.now() - t0;
}

if (!isMainThread && workerData?.peak) {
  const { variant, start } = workerData as { variant: WasmVariant; start: SharedArrayBuffer };
  const flag = new Int32Array(start);
  Atomics.wait(flag, 0, 0);
  parentPort!.postMessage(runPeak(variant));
}

/** GFLOP/s of `threads` threads running the chain at once (best of `rounds`). */
export async function peakGflops(variant: WasmVariant, threads: number, rounds = 3): Promise<number> {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const start = new SharedArrayBuffer(4);
    const ws = Array.from({ length: threads }, () => new Worker(new URL(import.meta.url), { workerData: { peak: true, variant, start } }));
    const times = ws.map((w) => new Promise<number>((res, rej) => (w.once('message', res), w.once('error', rej))));
    await new Promise((res) => setTimeout(res, 200)); // let every worker reach the barrier
    Atomics.store(new Int32Array(start), 0, 1);
    Atomics.notify(new Int32Array(start), 0);
    const ms = Math.max(...(await Promise.all(times)));
    await Promise.all(ws.map((w) => w.terminate()));
    best = Math.max(best, (threads * ITERS * 96) / (ms * 1e6));
  }
  return best;
}

export function peakVariants(): WasmVariant[] {
  return wasmRelaxedSupported() ? ['simd128', 'relaxed'] : ['simd128'];
}

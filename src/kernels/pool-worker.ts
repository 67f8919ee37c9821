// Entry point of a kernel pool worker, in Node (worker_threads) and in browsers (module Web Worker):
// receive the WorkerInit, instantiate the kernels, say 'ready', then serve calls until the pool stops.

import { serveKernels, type WorkerInit } from './pool.js';

type Port = { postMessage(m: unknown): void };

function start(init: WorkerInit, port: Port): void {
  try {
    serveKernels(init, () => port.postMessage('ready'));
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
}

const g = globalThis as { process?: { versions?: { node?: string } }; onmessage?: unknown; postMessage?: (m: unknown) => void };
if (g.process?.versions?.node) {
  const { parentPort, workerData } = await import('node:worker_threads');
  if (parentPort && workerData) start(workerData as WorkerInit, parentPort);
} else {
  g.onmessage = (ev: { data: WorkerInit }) => start(ev.data, { postMessage: (m) => g.postMessage!(m) });
}

// Entry of dist/web/sparse-rnn-pool.js: one kernel pool worker in a browser, a module Web Worker
// started by createWebEngine (src/kernels/engine-web.ts). It receives the WorkerInit (the compiled
// module, the shared memory and the control block), instantiates the kernels, says 'ready' and then
// serves kernel calls through shared memory until the pool stops. Same protocol as the Node entry,
// src/kernels/pool-worker.ts, without its Node branch, so this bundle holds no Node code.

import { serveKernels, type WorkerInit } from '../kernels/pool.js';

const scope = globalThis as unknown as {
  onmessage: ((ev: MessageEvent<WorkerInit>) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = (ev: MessageEvent<WorkerInit>): void => {
  scope.onmessage = null; // one init per worker; the loop below never returns to the event loop
  try {
    serveKernels(ev.data, () => scope.postMessage('ready'));
  } catch (e) {
    scope.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
};

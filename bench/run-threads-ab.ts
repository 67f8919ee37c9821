// A small model's run() on a 1-thread engine, a 2-thread engine, and the 2-thread engine's own
// single-threaded kernels (its shared heap, no pool): where does a second thread cost time when the
// model hands nothing to the pool? Speech GRU-256×2 at 90%, T = 50, interleaved rounds.
// Run under the bench lock: flock /tmp/sparse-rnn-bench.lock node dist/bench/run-threads-ab.js

import { createEngine } from '../src/kernels/engine.js';
import type { ThreadedKernels } from '../src/kernels/threaded.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { SPEECH_GRU, exportSparse, randomPrunedWeights } from './model.js';

const c = SPEECH_GRU.config;
const bytes = exportSparse(c, randomPrunedWeights(c, 0.9, 'unstructured'), 'unstructured');
const one = await createEngine({ threads: 1, kernels: 'wasm' }), two = await createEngine({ threads: 2, kernels: 'wasm' });
const models: [string, SparseModel][] = [
  ['1-thread engine', SparseModel.load(bytes, { kernels: one.kernels })],
  ['2-thread engine', SparseModel.load(bytes, { kernels: two.kernels })],
  ['2-thread engine, its single-threaded kernels (shared heap, no pool)', SparseModel.load(bytes, { kernels: (two.kernels as ThreadedKernels).inner })],
];
const T = 50, x = Float32Array.from({ length: T * c.inputSize }, (_, i) => Math.sin(i));
const now = (): number => performance.now(), med = (v: number[]): number => [...v].sort((p, q) => p - q)[v.length >> 1];
const t = models.map((): number[] => []);
for (const [, m] of models) m.run(x);
for (let r = 0; r < 21; r++)
  models.forEach(([, m], i) => {
    const t0 = now();
    for (let k = 0; k < 20; k++) m.run(x);
    t[i].push(((now() - t0) * 1000) / 20 / T);
  });
console.log(`${SPEECH_GRU.name} at 90%, run() over T = ${T}, batch 1; median of 21 interleaved rounds of 20 calls`);
for (const [i, [name]] of models.entries()) console.log(`${name}: ${med(t[i]).toFixed(1)} µs/step (${(med(t[i]) / med(t[0])).toFixed(2)}x the 1-thread engine)`);
await one.close();
await two.close();

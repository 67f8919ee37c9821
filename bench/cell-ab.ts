// A/B: the runtime's inference cells (gruInfer / lstmInfer: nothing kept for backward, rational
// tanh, σ(x) = ½ + ½·tanh(x/2)) against the training cells in their place (gruForward /
// lstmForward, exp-based, writing gates for backward), whole models at 90%, batch 1, 1 thread.
// Same process, same model; the two cells alternate sample by sample (21 rounds of 10 calls).
// Run on an otherwise idle machine: node dist/bench/cell-ab.js

import { SparseModel } from '../src/sparse/runtime.js';
import type { Kernels } from '../src/kernels/types.js';
import type { ModelConfig } from '../src/nn/config.js';
import { SPEECH_GRU, exportSparse, modelInputs, randomPrunedWeights } from './model.js';

const CHAR = { vocabSize: 90, inputSize: 64, outputSize: 90, bidirectional: false } as const;
const cases: [string, ModelConfig, string][] = [
  ['GRU-1024×1', { cell: 'gru', hiddenSize: 1024, numLayers: 1, ...CHAR }, 'unstructured'],
  ['GRU-1024×1', { cell: 'gru', hiddenSize: 1024, numLayers: 1, ...CHAR }, '1x4'],
  ['GRU-1024×1', { cell: 'gru', hiddenSize: 1024, numLayers: 1, ...CHAR }, '4x4'],
  ['LSTM-1024×1', { cell: 'lstm', hiddenSize: 1024, numLayers: 1, ...CHAR }, 'unstructured'],
  [SPEECH_GRU.name, SPEECH_GRU.config, 'unstructured'],
  [SPEECH_GRU.name, SPEECH_GRU.config, '4x4'],
];
const med = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1];
const T = 50;
console.log('| model | blocks | run(): inference cell µs/step | training cell | speed-up | step(): inference cell | training cell | speed-up |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, config, block] of cases) {
  const model = SparseModel.load(exportSparse(config, randomPrunedWeights(config, 0.9, block), block));
  const k = model.kernels as Kernels & Record<'gruInfer' | 'lstmInfer', unknown>;
  const H = config.hiddenSize, scratch = k.heap.alloc(4 * H), scratch2 = k.heap.alloc(H);
  const inferCells = { gruInfer: k.gruInfer, lstmInfer: k.lstmInfer };
  const trainCells = {
    gruInfer: (B: number, h: number, gi: number, gh: number, hp: number, ho: number, ldh: number): void =>
      k.gruForward(B, h, gi, gh, hp, ho, ldh, scratch, scratch2),
    lstmInfer: (B: number, h: number, g4: number, cp: number, c: number, ho: number, ldh: number): void =>
      k.lstmForward(B, h, g4, cp, c, ho, ldh, scratch2),
  };
  const { ids, x } = modelInputs(config, T, 1);
  const input = (ids ?? x)!;
  const st = model.createState(1);
  const perStep = config.vocabSize ? (t: number) => ids![t] : (t: number) => x!.subarray(t * config.inputSize, (t + 1) * config.inputSize);
  const t: Record<string, number[]> = { runI: [], runT: [], stepI: [], stepT: [] };
  for (let r = 0; r < 22; r++) {
    for (const [tag, cells] of [['I', inferCells], ['T', trainCells]] as const) {
      Object.assign(k, cells);
      let t0 = performance.now();
      for (let i = 0; i < 10; i++) model.run(input);
      const a = (performance.now() - t0) * 1000 / (10 * T);
      t0 = performance.now();
      for (let i = 0; i < 10; i++) for (let s = 0; s < T; s++) model.step(perStep(s), st);
      const b = (performance.now() - t0) * 1000 / (10 * T);
      if (r > 0) (t[`run${tag}`].push(a), t[`step${tag}`].push(b)); // round 0 warms up
    }
  }
  Object.assign(k, inferCells);
  const f = (v: number): string => v.toFixed(1);
  console.log(`| ${name} | ${block} | ${f(med(t.runI))} | ${f(med(t.runT))} | **${(med(t.runT) / med(t.runI)).toFixed(2)}x** | ${f(med(t.stepI))} | ${f(med(t.stepT))} | **${(med(t.stepT) / med(t.stepI)).toFixed(2)}x** |`);
}

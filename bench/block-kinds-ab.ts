// The GRU-1024 × 1 character model at 90%, batch 1, 1 thread, one process, interleaved: every weight matrix
// in 4×4 (or 1×4) blocks, against blocks in W_hh only (W_ih and the output layer unstructured, CSR), as
// `"block": {"recurrent": [4, 4]}` trains it. Same W_hh in both; µs per timestep of a 50-step run(), and of step().
// node dist/bench/block-kinds-ab.js > bench/results/block-kinds-ab.md
import { createEngine } from '../src/kernels/engine.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import type { ModelConfig } from '../src/nn/config.js';
import { interleaved, modelInputs, parseBlock, randomPrunedWeights } from './model.js';

const config: ModelConfig = { cell: 'gru', hiddenSize: 1024, numLayers: 1, vocabSize: 90, inputSize: 64, outputSize: 90, bidirectional: false };
const T = 50;
console.log(`<!-- node dist/bench/block-kinds-ab.js · ${new Date().toISOString()} -->`);
console.log('GRU-1024 × 1 char model, 90%, batch 1, 1 thread, T = 50; medians of interleaved rounds (µs per timestep)');
console.log('');
console.log('| block | every matrix in blocks: run() | W_hh only: run() | ratio | every matrix: step() | W_hh only: step() | ratio |');
console.log('|---|---|---|---|---|---|---|');
for (const block of ['4x4', '1x4']) {
  const shape = parseBlock(block)!;
  const all = randomPrunedWeights(config, 0.9, block, 1);
  const mixed = new Map(randomPrunedWeights(config, 0.9, 'unstructured', 2));
  mixed.set('rnn.weight_hh_l0', all.get('rnn.weight_hh_l0')!);
  const a = exportModel(config, all, { values: 'fp32', block: shape });
  const b = exportModel(config, mixed, { values: 'fp32', blockByKind: { recurrent: shape } });
  const e = await createEngine({ threads: 1, kernels: 'auto', heapBytes: 256 << 20 });
  const ma = SparseModel.load(a, { kernels: e.kernels }), mb = SparseModel.load(b, { kernels: e.kernels });
  const { ids } = modelInputs(config, T, 1);
  // Same W_hh, different W_ih / output layer: the outputs differ; what is compared is the time.
  const sa = ma.createState(1), sb = mb.createState(1), one = ids!.subarray(0, 1);
  const { us } = await interleaved([
    { name: 'all', steps: T, call: () => ma.run(ids!, { batch: 1 }) },
    { name: 'rec', steps: T, call: () => mb.run(ids!, { batch: 1 }) },
    { name: 'allStep', steps: 1, call: () => ma.step(one, sa) },
    { name: 'recStep', steps: 1, call: () => mb.step(one, sb) },
  ], 21, 20, 60_000);
  const f = (x: number): string => x.toFixed(1);
  const [ra, rb, sa1, sb1] = ['all', 'rec', 'allStep', 'recStep'].map((k) => us.get(k)!);
  console.log(`| ${block} | ${f(ra)} | ${f(rb)} | ${(ra / rb).toFixed(2)}x | ${f(sa1)} | ${f(sb1)} | ${(sa1 / sb1).toFixed(2)}x |`);
  await e.close();
}

// Which block shape in W_hh runs fastest: the GRU-1024 × 1 character model at 90%, batch 1, 1 thread,
// with W_hh pruned unstructured or in R×C blocks (W_ih and the output layer unstructured, as
// `"block": {"recurrent": [R, C]}` trains it: the char-LM rows 2br, 2b44r, 2b41r, 2b12r). One process,
// interleaved rounds; µs per timestep of step() (the streaming call) and of a 50-step run().
// node dist/bench/block-shapes-ab.js [--batch B] [shape ...] > bench/results/block-shapes-ab.md
// (--batch B: step() and run() over B streams, µs per timestep of all B.)
import { createEngine } from '../src/kernels/engine.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import type { ModelConfig } from '../src/nn/config.js';
import { interleaved, modelInputs, parseBlock, randomPrunedWeights } from './model.js';

const config: ModelConfig = { cell: 'gru', hiddenSize: 1024, numLayers: 1, vocabSize: 90, inputSize: 64, outputSize: 90, bidirectional: false };
const T = 50;
const args = process.argv.slice(2);
const bAt = args.indexOf('--batch');
const B = bAt >= 0 ? Number(args.splice(bAt, 2)[1]) : 1;
if (!Number.isInteger(B) || B < 1) throw new Error('--batch: expected a whole number ≥ 1');
const shapes = args.length ? args : ['unstructured', '1x4', '4x4', '4x1', '1x2'];
for (const s of shapes) parseBlock(s);

const e = await createEngine({ threads: 1, kernels: 'auto', heapBytes: 512 << 20 });
const base = randomPrunedWeights(config, 0.9, 'unstructured', 2);
const { ids } = modelInputs(config, T, B);
const one = ids!.subarray(0, B);
const timers = shapes.flatMap((block) => {
  const shape = parseBlock(block);
  const w = new Map(base);
  w.set('rnn.weight_hh_l0', randomPrunedWeights(config, 0.9, block, 1).get('rnn.weight_hh_l0')!);
  const bytes = exportModel(config, w, shape ? { values: 'fp32', blockByKind: { recurrent: shape } } : { values: 'fp32' });
  const m = SparseModel.load(bytes, { kernels: e.kernels });
  const st = m.createState(B);
  return [
    { name: `${block} run`, steps: T, call: () => { m.run(ids!, { batch: B }); } },
    { name: `${block} step`, steps: 1, call: () => { m.step(one, st); } },
  ];
});
const { us, rounds } = await interleaved(timers, 21, 20, 90_000);
const f = (x: number): string => x.toFixed(1);
console.log(`<!-- node dist/bench/block-shapes-ab.js${B > 1 ? ` --batch ${B}` : ''} ${shapes.join(' ')} · ${new Date().toISOString()} · ${rounds} rounds -->`);
console.log(`GRU-1024 × 1 char model, 90%, batch ${B}, 1 thread, blocks in W_hh only; medians of interleaved rounds (µs per timestep)`);
console.log('');
console.log('| W_hh | step() | vs unstructured | run(), T = 50 | vs unstructured |');
console.log('|---|---|---|---|---|');
const u = (k: string): number => us.get(k)!;
const ref = shapes.includes('unstructured') ? 'unstructured' : shapes[0];
for (const b of shapes)
  console.log(`| ${b} | ${f(u(`${b} step`))} | ${(u(`${ref} step`) / u(`${b} step`)).toFixed(2)}x | ${f(u(`${b} run`))} | ${(u(`${ref} run`) / u(`${b} run`)).toFixed(2)}x |`);
await e.close();

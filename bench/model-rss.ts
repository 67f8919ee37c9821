// Child process of bench/model.ts's peak-RSS pass: `node model-rss.js <kind> <file> <config json>`
// loads the file (ours: .srnn on the auto kernels, 1 thread; ort: .onnx in onnxruntime-node, 1
// intra-op thread), runs 50 timesteps at batch 1 and prints its peak resident set (VmHWM) in MiB. Kinds
// none-ours / none-ort do the same imports and load nothing (the baseline).

import { existsSync, readFileSync } from 'node:fs';
import type { ModelConfig } from '../src/nn/config.js';
import { modelInputs } from './model.js';

const [kind, file, configJson] = process.argv.slice(2);
const c = JSON.parse(configJson) as ModelConfig;
const T = 50;
const { ids, x } = modelInputs(c, T, 1);
if (kind === 'ours' || kind === 'none-ours') {
  const { createEngine } = await import('../src/kernels/engine.js');
  const { SparseModel } = await import('../src/sparse/runtime.js');
  const e = await createEngine({ threads: 1, kernels: 'auto' });
  if (kind === 'ours') SparseModel.load(readFileSync(file), { kernels: e.kernels }).run((ids ?? x)!);
  await e.close();
} else if (kind === 'ort' || kind === 'none-ort') {
  const { loadOrt, ortFeeds, ortSessionOptions } = await import('./ort.js');
  const ort = await loadOrt();
  if (!ort) throw new Error('model-rss: onnxruntime-node is not installed');
  if (kind === 'ort') {
    const s = await ort.InferenceSession.create(file, ortSessionOptions(1));
    await s.run(ortFeeds(ort, c, ids, x, T, 1));
  }
} else throw new Error(`model-rss: unknown kind ${kind}`);
// VmHWM: this process image's peak (getrusage's maxRSS survives exec, so a child forked from a
// large parent would report the parent's size).
const hwm = existsSync('/proc/self/status') ? /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] : undefined;
process.stdout.write(`${(hwm ? Number(hwm) : process.resourceUsage().maxRSS) / 1024}\n`);

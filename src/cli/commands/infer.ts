// `sparse-rnn infer model.srnn --input X.npy --output Y.npy`: run whole sequences through the
// sparse runtime. X is [T, B, input] floats, or [T, B] integer token ids for a model with an
// embedding; Y is [T, B, outputSize] (or [T, B, dirs·hidden] for a model without a head).

import type { Command } from 'commander';
import { loadNpyFile, saveNpyFile } from '../../io/fs.js';
import { createEngine, type Engine, type KernelChoice } from '../../kernels/engine.js';
import { loadSrnnFile } from '../../train/checkpoint.js';
import type { SrnnHeader } from '../../sparse/format.js';
import { action, addEngineOptions, commandEngine, outOption, refuseOverwrite } from '../common.js';

export interface InferOptions {
  input: string;
  output: string;
  softmax: boolean;
  kernels: KernelChoice;
}

export async function inferCommand(modelPath: string, o: InferOptions, engine?: (model?: SrnnHeader) => Promise<Engine>): Promise<{ shape: number[]; ms: number; backend: string }> {
  const make = engine ?? (() => createEngine({ kernels: o.kernels, threads: 1 }));
  const model = await loadSrnnFile(modelPath, async (header) => (await make(header)).kernels, { purpose: 'infer', softmax: o.softmax });
  const x = await loadNpyFile(o.input);
  const c = model.config;
  let T: number, B: number;
  let seq: Float32Array | Int32Array;
  if (c.vocabSize) {
    if (x.shape.length !== 2) throw new Error(`${o.input}: shape [${x.shape}], expected token ids [T, B] (the model has a ${c.vocabSize}-token embedding)`);
    [T, B] = x.shape;
    seq = new Int32Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i];
      if (!Number.isInteger(v) || v < 0 || v >= c.vocabSize) throw new Error(`${o.input}: token id ${v} at index ${i} is outside [0, ${c.vocabSize})`);
      seq[i] = v;
    }
  } else {
    if (x.shape.length !== 3 || x.shape[2] !== c.inputSize)
      throw new Error(`${o.input}: shape [${x.shape}], expected [T, B, ${c.inputSize}] (time-major)`);
    if (!(x.data instanceof Float32Array || x.data instanceof Float64Array)) throw new Error(`${o.input}: dtype ${x.dtype}, expected float32`);
    [T, B] = x.shape;
    seq = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
    for (let i = 0; i < seq.length; i++) if (!Number.isFinite(seq[i])) throw new Error(`${o.input}: non-finite value at index ${i}`);
  }
  const t0 = performance.now();
  const y = model.run(seq, { batch: B });
  const ms = performance.now() - t0;
  const shape = [T, B, model.outputFeatures];
  await saveNpyFile(o.output, y, shape);
  return { shape, ms, backend: `${model.kernels.name}/${model.sparse.name}` };
}

export function registerInfer(program: Command): void {
  addEngineOptions(program.command('infer'))
    .description('run an .srnn model on X.npy [T,B,input] (or token ids [T,B]) → Y.npy [T,B,output]')
    .argument('<model.srnn>', 'model written by `sparse-rnn export`')
    .requiredOption('--input <X.npy>', 'inputs [T, B, input] float32, or [T, B] integer token ids')
    .addOption(outOption('where to write the outputs Y.npy [T, B, output]').makeOptionMandatory())
    .option('--softmax', 'apply softmax to the head output (probabilities instead of logits)', false)
    .option('--quiet', 'print nothing but errors', false)
    .option('--force', 'replace an existing --out file', false)
    .action(action(async (modelPath: string, o: Omit<InferOptions, 'output'> & { out: string; threads?: number; quiet: boolean; force: boolean }) => {
      refuseOverwrite(o.out, o, 'file', false);
      const r = await inferCommand(modelPath, { ...o, output: o.out }, (model) => commandEngine(o, undefined, model));
      if (!o.quiet) process.stderr.write(`wrote ${o.out} [${r.shape}] in ${r.ms.toFixed(1)} ms (${r.backend})\n`);
    }));
}

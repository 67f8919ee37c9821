// `sparse-rnn bench kernels [--quick] [--json]` and `sparse-rnn bench model <file.srnn>`.

import { Command } from 'commander';
import { action, addEngineOptions, commandEngine, int, type EngineCliOptions } from '../common.js';
import { readSrnnHeaderChecked } from '../../train/checkpoint.js';

// Loaded on use: the benchmark lives in bench/ (outside dist/src), so registering the commands
// never depends on it being packaged.
type BenchModule = typeof import('../../../bench/kernels.js');
const loadBench = async (): Promise<BenchModule> => {
  try {
    return await import('../../../bench/kernels.js');
  } catch (e) {
    throw new Error(`the kernel benchmark is not available in this installation (${(e as Error).message})`);
  }
};

export function addBenchSubcommands(bench: Command): void {
  bench.command('kernels')
    .description('sparse SpMV/SpMM vs dense GEMV/GEMM (ours, WASM) vs a native peer (onnxruntime-node, if installed) on DeepBench shapes')
    .option('--quick', 'a subset that runs in under 30 s', false)
    .option('--json', 'print the rows as JSON', false)
    .option('--crossover', 'measure the dense/CSR crossover density instead', false)
    .action(action(async (o: { quick: boolean; json: boolean; crossover: boolean }) => {
      const { benchKernels, crossoverProbe, renderKernelRows } = await loadBench();
      if (o.crossover) {
        const rows = crossoverProbe({ quick: o.quick });
        if (o.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      const r = await benchKernels({ quick: o.quick, json: o.json });
      if (!o.json) process.stdout.write(`${renderKernelRows(r)}\n`);
    }));
  addEngineOptions(bench.command('model')
    .description('per-timestep latency of an .srnn model: sparse vs its dense form vs onnxruntime (if installed), at the same thread count')
    .argument('<file.srnn>', 'model')
    .option('--seq <T>', 'sequence length for run()', int('--seq', 1), 50)
    .option('--json', 'print JSON', false))
    .action(action(async (file: string, o: { seq: number; json: boolean } & EngineCliOptions) => {
      const { benchModel, benchModelPeer } = await loadBench();
      // A missing file or another kind: one line, before the engine; the header sizes its default threads.
      const { header } = await readSrnnHeaderChecked(file, 'bench model');
      const engine = await commandEngine(o, undefined, header);
      const r = await benchModelPeer(file, benchModel(file, { seqLen: o.seq, kernels: engine.kernels }), undefined, engine.threads);
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      await engine.close();
    }));
}

/** Alias with the name used in the brief. */
export const registerBenchKernels = addBenchSubcommands;

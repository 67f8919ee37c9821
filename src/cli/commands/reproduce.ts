// `sparse-rnn reproduce [--quick|--full] [--task charlm|speech|all] [--out runs/reproduce]`: the
// paper's experiments on real data, written to RESULTS.md (+ SVG plots in results/). Thin: the
// work is in experiments/ (compiled to dist/experiments), imported when the command runs.

import { Command, Option } from 'commander';
import { action, int } from '../common.js';
import type { ReproduceOptions, ReproduceTask } from '../../../experiments/reproduce.js';

interface CliOptions {
  quick: boolean;
  full: boolean;
  task: ReproduceTask;
  out?: string;
  parallel: number;
  kernels: 'auto' | 'wasm' | 'ts';
  bench: boolean;
  results: string;
  plots: string;
  seed?: number;
  only?: string[];
}

export function registerReproduce(program: Command): void {
  program.command('reproduce')
    .description("reproduce the paper's experiments (Tables 3, 4, 6, Figures 1, 2) on Moby Dick (and speech when available); writes RESULTS.md and results/*.svg")
    .addOption(new Option('--quick', 'smoke test of the whole pipeline in under 10 minutes (small models, numbers labelled quick)').conflicts('full'))
    .addOption(new Option('--full', 'the real runs: 10 epochs of 661 steps as the PyTorch reference (about 1–3 h on 2 cores); the default').conflicts('quick'))
    .addOption(new Option('--task <task>', 'which experiments').choices(['charlm', 'speech', 'all']).default('all'))
    .option('-o, --out <dir>', 'run folders: checkpoints and reports (default runs/reproduce, --quick: runs/reproduce-quick)')
    .option('--parallel <n>', 'runs trained at once, one worker thread each', int('--parallel', 1), 2)
    .addOption(new Option('--kernels <impl>').choices(['auto', 'wasm', 'ts']).default('auto'))
    .option('--no-bench', 'skip the inference latency measurement (Table 6 analog)')
    .option('--results <file>', 'markdown file whose reproduce sections are rewritten', 'RESULTS.md')
    .option('--plots <dir>', 'folder for the SVG plots', 'results')
    .option('--seed <n>', 'training seed of every run (default 1234; use another --out and --results for a seed-noise check)', int('--seed', 0))
    .option('--only <ids>', 'only these runs of the task\'s plan, comma-separated (e.g. gru-dense,gru-medium)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .action(action(async (o: CliOptions) => {
      const mode = o.quick ? 'quick' : 'full';
      const modPath = '../../../experiments/reproduce.js';
      const m = (await import(modPath)) as { reproduce: (opts: ReproduceOptions) => Promise<{ completed: boolean }> };
      const res = await m.reproduce({
        mode, task: o.task, out: o.out ?? (mode === 'quick' ? 'runs/reproduce-quick' : 'runs/reproduce'),
        parallel: o.parallel, kernels: o.kernels, bench: o.bench, resultsFile: o.results, plotsDir: o.plots, seed: o.seed, only: o.only,
        command: `sparse-rnn ${process.argv.slice(2).join(' ')}`,
      });
      if (!res.completed) process.exitCode = 130;
    }));
}

// `sparse-rnn reproduce [--quick|--full] [--task charlm|speech|all] [--out runs/reproduce]`: the
// paper's experiments on real data. Thin: the work is in experiments/ (compiled to
// dist/experiments). --full writes RESULTS.md and results/*.svg; --quick writes its own into its
// run folder (never the repository's), unless --results names a file.

import { Command, Option } from 'commander';
import { createEngine, type KernelChoice } from '../../kernels/engine.js';
import { checkReproduceFolders, checkReproduceOptions, reproduce, type ReproduceTask } from '../../../experiments/reproduce.js';
import { action, int } from '../common.js';

interface CliOptions {
  quick: boolean;
  full: boolean;
  task: ReproduceTask;
  out?: string;
  parallel: number;
  kernels: KernelChoice;
  threads: number;
  bench: boolean;
  results?: string;
  plots?: string;
  seed?: number;
  seeds?: number;
  only?: string[];
  summaries?: string;
  budget?: number;
  lrSchedule?: 'constant' | 'cosine';
  dryRun?: boolean;
  reportOnly?: boolean;
}

export function registerReproduce(program: Command): void {
  program.command('reproduce')
    .description("reproduce the paper's experiments (Tables 3, 4, 6, Figures 1, 2) on Moby Dick and the speech corpus; --full writes RESULTS.md and results/*.svg")
    .addOption(new Option('--quick', 'smoke test of the whole pipeline in under 10 minutes (small models); results go to <out>/RESULTS.md and <out>/results/').conflicts('full'))
    .addOption(new Option('--full', 'the real runs (char-LM: 10 epochs of 661 steps as the PyTorch reference; speech: 16 epochs on the robust corpus); --dry-run lists each run with its estimated time; the default').conflicts('quick'))
    .addOption(new Option('--task <task>', 'which experiments (all = charlm and speech; sotu: the data-rich char-LM claim plan, sotu-budget: its budget search)')
      .choices(['charlm', 'speech', 'sotu', 'sotu-budget', 'all']).default('all'))
    .option('-o, --out <dir>', 'run folders: checkpoints and reports (default runs/reproduce, --quick: runs/reproduce-quick)')
    .option('--parallel <n>', 'trainings at once, one worker thread each', int('--parallel', 1), 2)
    .addOption(new Option('--kernels <impl>', 'compute kernels: auto (fastest supported), wasm (SIMD), relaxed (relaxed SIMD), ts (reference)')
      .choices(['auto', 'wasm', 'relaxed', 'ts']).default('auto'))
    .option('--threads <n>', 'compute threads of each training (default 1: --parallel single-threaded trainings at once)', int('--threads', 1), 1)
    .option('--no-bench', 'skip the inference latency measurement (Table 6 analog)')
    .option('--results <file>', 'markdown file whose reproduce sections are rewritten (default: RESULTS.md with --full, <out>/RESULTS.md with --quick)')
    .option('--plots <dir>', 'folder for the SVG plots (default: results/ with --full or --results, <out>/results/ with --quick)')
    .option('--seed <n>', 'first training seed S (default 1234)', int('--seed', 0))
    .option('--seeds <n>', 'run every plan row with seeds S … S+n−1 (default: 3 for the rows the claims compare in --full, else 1)', int('--seeds', 1))
    .option('--summaries <dir>', 'run summaries (small JSON per finished run) written and reused, to continue a plan on another machine (default results/runs with --full, <out>/summaries with --quick)')
    .option('--budget <passes>', 'sotu, sotu-budget: passes over the training split (default 1 and 2: the budget search found the larger dense model ahead after 1 pass, behind after 2)', int('--budget', 1))
    .addOption(new Option('--lr-schedule <kind>', 'sotu, sotu-budget: constant (default) or cosine (down to 0 over the budget); a cosine plan keeps its own summaries (results/runs/<task>-cosine) and RESULTS.md section')
      .choices(['constant', 'cosine']))
    .option('--dry-run', 'list the plan\'s runs with estimated times on this machine and exit (alias --plan)')
    .option('--plan', 'same as --dry-run')
    .addOption(new Option('--report-only', 'write the report from the runs that have finished (run folders or summaries), training nothing: unfinished runs and the runs that wait for them are left out, rows are shown with the seeds they have (latency is measured as usual; add --no-bench to measure nothing; the speech corpus is synthesised if missing)').conflicts(['dryRun', 'plan']))
    .option('--only <ids>', 'only these runs of the task\'s plan, comma-separated (e.g. gru-dense,gru-medium), with the runs they start from (finished ones are taken from their summaries)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .action(action(async (o: CliOptions & { plan?: boolean }) => {
      const mode = o.quick ? 'quick' : 'full';
      const dryRun = o.dryRun || o.plan;
      checkReproduceOptions(o);
      checkReproduceFolders({ out: o.out, summaries: o.summaries, plotsDir: o.plots });
      if (!dryRun && !o.reportOnly) {
        const engine = await createEngine({ kernels: o.kernels, threads: o.threads });
        process.stderr.write(`${engine.describe()} per training, ${o.parallel} at once\n`);
        await engine.close();
      }
      const res = await reproduce({
        mode, task: o.task, out: o.out ?? (mode === 'quick' ? 'runs/reproduce-quick' : 'runs/reproduce'),
        parallel: o.parallel, kernels: o.kernels, threads: o.threads, bench: o.bench,
        resultsFile: o.results, plotsDir: o.plots, seed: o.seed, only: o.only, seeds: o.seeds, summaries: o.summaries, budget: o.budget, lrSchedule: o.lrSchedule, dryRun, reportOnly: o.reportOnly,
        command: `sparse-rnn ${process.argv.slice(2).join(' ')}`,
      });
      if (!res.completed) process.exitCode = 130;
    }));
}

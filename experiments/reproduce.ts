// `sparse-rnn reproduce`: the paper's experiments on real data. --full writes RESULTS.md (each task
// between its own markers, so the sections of other tasks and of the demo stay untouched) with
// SVG plots in results/; --quick (a smoke test) writes its own RESULTS.md and results/ into its run
// folder and never touches the repository's, unless a results file is named explicitly. The char-LM part lives in ./charlm.ts, the speech part in ./speech.ts;
// both train through ./runner.ts.

import type { KernelChoice } from '../src/kernels/engine.js';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadCharCorpus } from '../src/data/charlm.js';
import {
  GRU256_MS_PER_STEP, SOTU_STEPS_PER_PASS, charlmPlan, charlmReport, dependencies, firstSeedRuns, estimateCharlmSeconds, estimateFullMinutes, machineDescription, measureLatency,
  runCharlmPlan, stepsPerEpoch,
  planKey, readJson, type CharlmExperiment, type CharlmPlan, type PlanLrSchedule, type Latency, type PlanOverrides, type RunResult,
} from './charlm.js';
import { RECIPE_SCALE, RNN256_MS_PER_STEP, estimateSpeechMinutes, reproduceSpeech, speechDependencies, speechParams, speechPlan } from './speech.js';
import { finishedIn, reportOnlyRuns, scheduledSeconds } from './runner.js';
import { invocationLog } from './invocations.js';
import { describeRecipe } from '../src/data/speech/synth.js';

/** 'all': charlm and speech; the SOTU plans ('sotu', 'sotu-budget') are asked for by name (hours each). */
export type ReproduceTask = 'charlm' | 'speech' | 'sotu' | 'sotu-budget' | 'all';

export interface ReproduceOptions {
  mode: 'quick' | 'full';
  task: ReproduceTask;
  /** Run folders (checkpoints, reports); each task uses a subfolder (`charlm/`, `speech/`). */
  out: string;
  /** The markdown file whose sections are (re)written; default RESULTS.md (--full) or <out>/RESULTS.md (--quick). */
  resultsFile?: string;
  /** Where the SVG plots go; default results/ (--full) or <out>/results/ (--quick). */
  plotsDir?: string;
  /** Runs trained at once (one worker thread each); default 2. */
  parallel?: number;
  kernels?: KernelChoice;
  /** Threads of each training worker's engine (default 1: `parallel` single-threaded trainings). */
  threads?: number;
  log?: (s: string) => void;
  /** The command line, recorded in the results. */
  command?: string;
  /** Measure inference latency (Table 6 analog); default true. */
  bench?: boolean;
  /** Char-LM plan changes (tests, custom corpora). */
  plan?: PlanOverrides;
  /** Training seed of every run (a seed-noise check); default the plans' 1234. */
  seed?: number;
  /** Only these rows of the task's plan (one task at a time). */
  only?: string[];
  /** Seeds per row (S = seed, …, S + seeds − 1) for every row; default: the plan's (3 for claim rows in --full, else 1). */
  seeds?: number;
  /**
   * Folder of the run summaries (`<summaries>/<task>/<run>.json`): written as runs finish, read to
   * continue a plan elsewhere. Default results/runs (--full) or <out>/summaries (--quick).
   */
  summaries?: string;
  /** SOTU plans: passes over the training split. */
  budget?: number;
  /** SOTU plans: the learning-rate schedule (a cosine plan keeps its own summaries and RESULTS.md section). */
  lrSchedule?: PlanLrSchedule;
  /** List the plan's runs with estimated times; train nothing. */
  dryRun?: boolean;
  /**
   * Write the report from the runs that have finished (run folders or summaries), training nothing:
   * unfinished runs (and the runs that wait for them) are left out, and rows are reported with the
   * seeds they have. Latency is measured as usual (--no-bench: kept measurements only).
   */
  reportOnly?: boolean;
}

export interface ReproduceResult {
  completed: boolean;
  /** Markdown written per task (absent when a task did not finish or was not available). */
  /** By section name: charlm, speech, sotu, sotu-budget, and the cosine plans' sotu-cosine, sotu-budget-cosine. */
  sections: Record<string, string>;
  notes: string[];
  charlm?: { plan: CharlmPlan; results: Map<string, RunResult>; latency: Map<string, Latency>; skipped: string[]; trained: string[] };
}

export const sectionMarkers = (name: string): [string, string] => [`<!-- reproduce:${name}:begin -->`, `<!-- reproduce:${name}:end -->`];

/** Replace (or append) the section `name` of a markdown file, between its markers; atomic. */
export function writeSection(file: string, name: string, markdown: string): void {
  const [b, e] = sectionMarkers(name);
  const block = `${b}\n${markdown.trimEnd()}\n${e}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Results\n\nEvery number here comes from a command in this repository; each section names its command.\n';
  const i = text.indexOf(b), j = text.indexOf(e);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + e.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** The char-LM plan of a task, on its corpus (loaded: its vocabulary sizes the models). */
export function charlmTaskPlan(o: ReproduceOptions, experiment: CharlmExperiment): CharlmPlan {
  const corpusName = o.plan?.corpus ?? (experiment === 'moby' ? 'moby-dick' : 'sotu');
  const corpus = loadCharCorpus(corpusName);
  return charlmPlan(o.mode, {
    ...o.plan, experiment, corpus: corpusName, vocabSize: corpus.vocab.length, seed: o.seed ?? o.plan?.seed, only: o.only ?? o.plan?.only,
    seeds: o.seeds ?? o.plan?.seeds, passes: o.budget ?? o.plan?.passes, lrSchedule: o.lrSchedule ?? o.plan?.lrSchedule,
  });
}

/** The summaries folder of a task. */
export function summariesDir(o: Pick<ReproduceOptions, 'mode' | 'out' | 'summaries'>, task: string): string {
  return join(o.summaries ?? (o.mode === 'full' ? join('results', 'runs') : join(o.out, 'summaries')), task);
}

async function reproduceCharLM(o: ReproduceOptions, log: (s: string) => void, resultsFile: string, plotsDir: string, experiment: CharlmExperiment = 'moby'): Promise<{ md: string | null; info: ReproduceResult['charlm'] }> {
  const task0 = charlmTaskPlan(o, experiment);
  const task = planKey(task0);
  const out = join(o.out, task);
  const partial = o.reportOnly ? reportOnlyRuns(task0.runs, dependencies, finishedIn(out, summariesDir(o, task)), task, log) : null;
  const plan = partial ? { ...task0, runs: partial.kept } : task0;
  const defaultCommand = `sparse-rnn reproduce --${o.mode} --task ${experiment === 'moby' ? 'charlm' : experiment}${plan.lrSchedule === 'cosine' ? ' --lr-schedule cosine' : ''}`;
  log(`reproduce ${task} (${o.mode}): ${plan.runs.length} runs, ${plan.epochs} epochs${plan.maxStepsPerEpoch ? ` capped at ${plan.maxStepsPerEpoch} steps` : ''}, ` +
    `${o.parallel ?? 2} at a time; run folders in ${out}/`);
  const invocation = invocationLog(out, o.command ?? defaultCommand);
  const rep = await runCharlmPlan(plan, { out, parallel: o.parallel, kernels: o.kernels, threads: o.threads, log: o.log, exportSrnn: o.bench ?? true, summaries: summariesDir(o, task), trainNothing: o.reportOnly });
  if (!rep.completed) {
    invocation.record(rep);
    log(`reproduce charlm: not all runs finished; ${resultsFile} not updated (run the same command again to continue)`);
    return { md: null, info: { plan, results: rep.results, latency: new Map(), skipped: rep.skipped, trained: rep.trained } };
  }
  let latency = new Map<string, Latency>();
  let latencyNote: string | undefined;
  if ((o.bench ?? true) && experiment === 'moby') {
    log('reproduce charlm: measuring per-timestep inference latency (batch 1), one model at a time…');
    latency = await measureLatency(firstSeedRuns(plan.runs, rep.results), { log }) // one seed per row: latency does not depend on the seed;
  } else latencyNote = 'latency measurement switched off for this invocation';
  const notes: string[] = partial?.note ? [partial.note] : [];
  // --full duration estimate from the speed measured here (the largest model that ran).
  const ref = [...rep.results.values()].sort((a, b) => b.hidden - a.hidden)[0];
  if (experiment === 'moby' && ref && Number.isFinite(ref.timing.msPerStep)) {
    const ev = ref.timing.epochs.map((e) => e.seconds - e.trainMs / 1000).filter((x) => x > 0);
    const evalSecPerKChar = ev.length ? ev.reduce((a, b) => a + b, 0) / ev.length / (ref.validChars / 1000) : undefined;
    const est = estimateFullMinutes({ hidden: ref.hidden, msPerStep: ref.timing.msPerStep, evalSecPerKChar });
    notes.push(`Estimated \`--full\` duration on this machine: about ${est.minutes.toFixed(0)} min wall with 2 runs at a time ` +
      `(from GRU-${ref.hidden} at ${ref.timing.msPerStep.toFixed(0)} ms/step measured here, scaled by multiply-adds per character; GRU-512 ≈ ${(est.perRun['4'] / 60).toFixed(0)} min, GRU-256 ≈ ${(est.perRun['1'] / 60).toFixed(0)} min per run). ` +
      `At the 65–95 ms/step GRU-256 takes on an idle core: about ${estimateFullMinutes({ hidden: 256, msPerStep: 65 }).minutes.toFixed(0)}–${estimateFullMinutes({ hidden: 256, msPerStep: 95 }).minutes.toFixed(0)} min. ` +
      `Every run gets the full ${plan.epochs} epochs; the longest run is estimated at ${(Math.max(...Object.values(est.perRun)) / 60).toFixed(0)} min at the speed measured here (the plans are sized for about 2 h per run at most); \`--dry-run\` lists every run.`);
  }
  const invocations = invocation.record(rep);
  const md = charlmReport(plan, rep.results, latency, {
    constantRuns: plan.lrSchedule === 'cosine' ? constantRunsOf(plan, summariesDir(o, planKey({ ...plan, lrSchedule: 'constant' }))) : undefined,
    command: o.command ?? defaultCommand,
    plotsDir, resultsFile, machine: machineDescription(), invocations, current: invocation.current(rep),
    skipped: rep.skipped, latencyNote, notes,
  });
  return { md, info: { plan, results: rep.results, latency, skipped: rep.skipped, trained: rep.trained } };
}

/** A cosine plan's rows as they finished with a constant learning rate at the same budget (from that plan's summaries). */
function constantRunsOf(plan: CharlmPlan, dir: string): Map<string, RunResult> {
  const out = new Map<string, RunResult>();
  for (const r of plan.runs) {
    const f = join(dir, `${r.id}.json`);
    if (!existsSync(f)) continue;
    const res = readJson<RunResult>(f);
    if (res.spec.lrSchedule === undefined && res.spec.epochs === plan.epochs && res.spec.hidden === r.hidden) out.set(r.id, res);
  }
  return out;
}

/** Where results go: the repository's RESULTS.md and results/ only for --full (or when named explicitly). */
export function resultsTargets(o: Pick<ReproduceOptions, 'mode' | 'out' | 'resultsFile' | 'plotsDir'>): { resultsFile: string; plotsDir: string } {
  const full = o.mode === 'full';
  const resultsFile = o.resultsFile ?? (full ? 'RESULTS.md' : join(o.out, 'RESULTS.md'));
  return { resultsFile, plotsDir: o.plotsDir ?? (full || o.resultsFile ? 'results' : join(o.out, 'results')) };
}

/** The plan of every task asked for, its runs and estimated times on this machine (`--dry-run`). */
export function planListing(o: ReproduceOptions): string {
  const lines: string[] = [];
  const slots = Math.max(1, o.parallel ?? 2);
  const tasks: ('charlm' | 'speech' | 'sotu' | 'sotu-budget')[] = o.task === 'all' ? ['charlm', 'speech'] : [o.task];
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  for (const task of tasks) {
    let runs: { id: string; model: string; seed: number; label: string; deps: string[] }[] = [];
    let secs: Record<string, number> = {};
    let header = '';
    if (task === 'speech') {
      const plan = speechPlan(o.mode, { seed: o.seed, only: o.only, seeds: o.seeds });
      const F = plan.features.nMels * plan.features.stack;
      const scale = RECIPE_SCALE[plan.recipe.name];
      secs = estimateSpeechMinutes(plan, { weights: speechParams('rnn_clipped', true, plan.layers, F, 256).pruned, msPerStep: RNN256_MS_PER_STEP * scale.length, trainFraction: scale.trainFraction }).perRun;
      runs = plan.runs.map((r) => ({ id: r.id, model: `${plan.families[r.family].name}-${r.hidden}`, seed: r.seed ?? plan.seed, label: r.label, deps: speechDependencies(r) }));
      header = `speech (${plan.mode}): ${plan.utterances} utterances (${describeRecipe(plan.recipe)}), ${plan.epochs} epochs; times from RNN-256 at ${RNN256_MS_PER_STEP} ms/step ` +
        `(this machine's full run on the classic corpus) × ${scale.length} for the recipe's longer utterances, scaled by weights per frame, +10% for evaluation`;
    } else {
      const experiment: CharlmExperiment = task === 'charlm' ? 'moby' : task;
      let plan: CharlmPlan;
      let S: number;
      let validChars: number;
      try {
        plan = charlmTaskPlan(o, experiment);
        const c = loadCharCorpus(plan.corpus);
        S = stepsPerEpoch(c.train.length, plan);
        validChars = plan.evalChars > 0 ? Math.min(plan.evalChars, c.valid.length) : c.valid.length;
      } catch (e) {
        if (experiment === 'moby') throw e;
        // The SOTU corpus is an optional dependency: plan with its published size.
        plan = charlmPlan(o.mode, { experiment, seed: o.seed, only: o.only, seeds: o.seeds, passes: o.budget, lrSchedule: o.lrSchedule });
        S = plan.maxStepsPerEpoch || SOTU_STEPS_PER_PASS;
        validChars = plan.evalChars;
        lines.push(`(${(e as Error).message.split('\n')[0]}: sizes assume V = ${plan.vocabSize}, ${SOTU_STEPS_PER_PASS} steps per pass)`);
      }
      secs = estimateCharlmSeconds(plan, S, validChars);
      runs = plan.runs.map((r) => ({ id: r.id, model: `GRU-${r.hidden}`, seed: r.seed ?? plan.seed, label: r.label, deps: dependencies(r) }));
      header = `${task} (${plan.mode}): corpus ${plan.corpus}, ${plan.epochs} ${plan.experiment === 'moby' ? 'epochs' : 'passes'} × ${S} steps; times from GRU-256 at ${GRU256_MS_PER_STEP} ms/step (this machine's full run), scaled by multiply-adds (dense-masked: an upper bound for sparse runs)`;
    }
    const total = scheduledSeconds(runs, secs, (r) => r.deps, slots);
    lines.push(`## ${header}`, '', row(['run', 'model', 'seed', 'what', 'waits for', 'est. min']), row(['---', '---', '---', '---', '---', '---']));
    for (const r of runs) lines.push(row([r.id, r.model, String(r.seed), r.label, r.deps.join(', ') || '—', (secs[r.id] / 60).toFixed(0)]));
    const longest = Math.max(...runs.map((r) => secs[r.id]));
    const dur = (x: number): string => (x < 3600 ? `${(x / 60).toFixed(0)} min` : `${(x / 3600).toFixed(1)} h`);
    lines.push('', `${runs.length} runs; about ${dur(total)} wall with ${slots} at a time (${dur(runs.reduce((a, r) => a + secs[r.id], 0))} of training in all; longest run ${dur(longest)}).`, '');
  }
  return lines.join('\n');
}

/** Options that do not fit the task are refused before anything starts. */
export function checkReproduceOptions(o: Pick<ReproduceOptions, 'task' | 'only' | 'budget' | 'lrSchedule'>): void {
  if (o.only && o.task === 'all') throw new Error('--only names runs of one plan: use it with --task charlm, speech, sotu or sotu-budget');
  if (o.budget !== undefined && o.task !== 'sotu' && o.task !== 'sotu-budget') throw new Error('--budget sets the passes of the SOTU plans: use it with --task sotu or --task sotu-budget');
  if (o.lrSchedule !== undefined && o.task !== 'sotu' && o.task !== 'sotu-budget') throw new Error('--lr-schedule sets the learning rate of the SOTU plans: use it with --task sotu or --task sotu-budget');
}

/** Output folders that name an existing file: one line instead of mkdir's ENOTDIR later. */
export function checkReproduceFolders(o: Partial<Pick<ReproduceOptions, 'out' | 'summaries' | 'plotsDir'>>): void {
  for (const [flag, dir] of [['-o', o.out], ['--summaries', o.summaries], ['--plots', o.plotsDir]] as const)
    if (dir && existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${flag} ${dir}: is a file, not a folder: name a folder (it is created if missing)`);
}

export async function reproduce(o: ReproduceOptions): Promise<ReproduceResult> {
  checkReproduceOptions(o);
  checkReproduceFolders(o);
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const { resultsFile, plotsDir } = resultsTargets(o);
  const res: ReproduceResult = { completed: true, sections: {}, notes: [] };
  if (o.dryRun) {
    process.stdout.write(planListing(o) + '\n');
    return res;
  }
  if (o.task === 'sotu' || o.task === 'sotu-budget') {
    const c = await reproduceCharLM(o, log, resultsFile, plotsDir, o.task);
    res.charlm = c.info;
    const key = planKey(c.info!.plan);
    if (c.md) {
      writeSection(resultsFile, key, c.md);
      res.sections[key] = c.md;
      log(`reproduce ${key}: wrote the section to ${resultsFile} and plots to ${plotsDir}/`);
    } else res.completed = false;
    return res;
  }
  if (o.task === 'charlm' || o.task === 'all') {
    const c = await reproduceCharLM(o, log, resultsFile, plotsDir);
    res.charlm = c.info;
    if (c.md) {
      writeSection(resultsFile, 'charlm', c.md);
      res.sections.charlm = c.md;
      log(`reproduce charlm: wrote the section to ${resultsFile} and plots to ${plotsDir}/`);
    } else {
      res.completed = false;
      return res;
    }
  }
  if (o.task === 'speech' || o.task === 'all') {
    const md = await reproduceSpeech({ ...o, out: join(o.out, 'speech'), resultsFile, plotsDir, log });
    if (md) {
      writeSection(resultsFile, 'speech', md);
      res.sections.speech = md;
    } else res.completed = false;
  }
  return res;
}

// The resumable plan runner shared by `sparse-rnn reproduce`'s experiments (char-LM, speech):
// trains every run of a plan that has not finished, `parallel` at a time in worker threads,
// starting a run only when the runs it depends on have finished.
//
// A run's folder is `<out>/run-<id>`: model.ckpt (after every epoch; an unfinished run continues
// from it exactly), spec.json, timing.json, reports, model.srnn and result.json (written last: a
// run with result.json is finished and is skipped). Ctrl-C stops every run after its current step
// and saves its checkpoint. The experiment supplies what differs (a `PlanDriver`): how a run is
// resolved and handed to its worker, and how its progress reads.

import { Worker } from 'node:worker_threads';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import type { BlockSpec, PruneRecipe } from '../src/prune/index.js';

export function readJson<T>(p: string): T {
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

/** JSON to `p` through a temporary file and a rename: a reader never sees half a file. */
export function writeJsonAtomic(p: string, v: unknown): void {
  const tmp = `${p}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(tmp, JSON.stringify(v, null, 2) + '\n');
  renameSync(tmp, p);
}

/** What a worker posts (see ./worker-kit.ts). */
export type WorkerMsg =
  | { type: 'done'; completed: boolean }
  | { type: 'log'; line: string }
  | { type: 'epoch'; [k: string]: unknown }
  | ({ type: 'step' } & StepProgress);

export interface StepProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  sparsity: number;
  ms: number;
}

export interface PlanRun {
  id: string;
  label: string;
}

/** What an experiment tells the runner. `Result` is the run's result.json; its `spec` must equal the resolved spec for a finished run to be reused. */
export interface PlanDriver<R extends PlanRun, Spec, Result extends { spec: Spec }> {
  runs: readonly R[];
  /** The worker module (compiled JS next to the experiment). */
  worker: URL;
  /** Run ids this run waits for. */
  dependencies(r: R): string[];
  /** The run made concrete (its recipe may read finished dependencies' results). */
  resolve(r: R, done: ReadonlyMap<string, Result>): Spec;
  /** The worker's `workerData`; `checkpoint` is `<dir>/model.ckpt`. */
  workerInput(r: R, spec: Spec, dir: string, checkpoint: string): unknown;
  /** How the run is named in progress lines (default: its id). */
  name?(id: string): string;
  /** The model in words, e.g. 'GRU-256'. */
  model(r: R): string;
  /** One line per finished epoch (the worker's 'epoch' message). */
  epochLine(e: Record<string, unknown>): string;
  /** The loss in the live status line, e.g. '2.31 bpc'. */
  lossText(loss: number): string;
  /** One line when a run finishes. */
  finishedLine(res: Result): string;
}

export interface RunnerOptions {
  out: string;
  /**
   * Folder of the plan's run summaries (one `<id>.json` per finished run: its result.json, no
   * checkpoint): written when a run finishes, and read to reuse a run whose folder is not here
   * (a plan continued on another machine). Absent: none.
   */
  summaries?: string;
  /** Runs trained at once (one worker thread each); default 2 (this machine's cores). */
  parallel?: number;
  log?: (s: string) => void;
  /** Seconds between progress lines (non-TTY); default 30. */
  progressEvery?: number;
  /** Report only (--report-only): a run that would train is an error instead. */
  trainNothing?: boolean;
}

export interface RunnerReport<Result> {
  results: Map<string, Result>;
  /** Runs skipped because they had finished before (in the run folder or in the summaries). */
  skipped: string[];
  /** Of those, the ones taken from the summaries folder. */
  fromSummaries: string[];
  /** Runs trained (or continued) to the end in this invocation. */
  trained: string[];
  /** Runs that trained in this invocation (finished or interrupted). */
  started: string[];
  completed: boolean;
  seconds: number;
}

export async function runPlan<R extends PlanRun, Spec, Result extends { spec: Spec }>(
  d: PlanDriver<R, Spec, Result>, o: RunnerOptions,
): Promise<RunnerReport<Result>> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const name = (id: string): string => (d.name ? d.name(id) : id);
  const parallel = Math.max(1, o.parallel ?? 2);
  const t0 = performance.now();
  mkdirSync(o.out, { recursive: true });
  const results = new Map<string, Result>();
  const skipped: string[] = [], trained: string[] = [], started: string[] = [], fromSummaries: string[] = [];
  const summaryOf = (id: string): string | null => (o.summaries ? join(o.summaries, `${id}.json`) : null);
  /** Keeps the summary of a finished run (atomic; rewritten only when it differs). */
  const keepSummary = (id: string, res: Result): void => {
    const f = summaryOf(id);
    if (!f) return;
    mkdirSync(o.summaries!, { recursive: true });
    const text = JSON.stringify(res, null, 2) + '\n';
    if (existsSync(f) && readFileSync(f, 'utf8') === text) return;
    writeJsonAtomic(f, res);
  };
  const pending = [...d.runs];
  const running = new Map<string, { worker: Worker; done: Promise<{ id: string; completed: boolean }> }>();
  const status = new Map<string, string>();
  let stopping = false;
  let failure: Error | null = null;
  const isTTY = process.stderr.isTTY && !o.log;
  let lastLine = Date.now();

  const dirOf = (id: string): string => join(o.out, `run-${id}`);
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    log('\nstopping: every running run saves its checkpoint after this step (run the same command again to continue)…');
    for (const r of running.values()) r.worker.postMessage({ type: 'stop' });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const showStatus = (): void => {
    const now = Date.now();
    if (isTTY && now - lastLine > 500) {
      process.stderr.write(`\r\x1b[K${[...status.values()].join('  |  ')}`);
      lastLine = now;
    } else if (!isTTY && now - lastLine > 1000 * (o.progressEvery ?? 30)) {
      log(`progress: ${[...status.values()].join('  |  ')}`);
      lastLine = now;
    }
  };

  const startRun = (r: R, spec: Spec): void => {
    const dir = dirOf(r.id);
    mkdirSync(dir, { recursive: true });
    const specFile = join(dir, 'spec.json');
    if (existsSync(specFile) && JSON.stringify(readJson(specFile)) !== JSON.stringify(spec))
      throw new Error(`run ${name(r.id)}: ${dir} holds a run of a different plan (spec.json differs); delete that folder or use another --out`);
    writeJsonAtomic(specFile, spec);
    const checkpoint = join(dir, 'model.ckpt');
    log(`run ${name(r.id)} (${r.label}, ${d.model(r)}): ${existsSync(checkpoint) ? 'continuing from its checkpoint' : 'starting'}`);
    const worker = new Worker(d.worker, { workerData: d.workerInput(r, spec, dir, checkpoint) });
    const done = new Promise<{ id: string; completed: boolean }>((resolve, reject) => {
      let finished = false;
      worker.on('message', (m: WorkerMsg) => {
        if (m.type === 'done') {
          finished = true;
          resolve({ id: r.id, completed: m.completed });
          void worker.terminate();
        } else if (m.type === 'log') {
          if (!m.line.startsWith('prune itr')) log(`[${name(r.id)}] ${m.line}`);
        } else if (m.type === 'epoch') {
          if (isTTY) process.stderr.write('\r\x1b[K');
          log(`[${name(r.id)}] ${d.epochLine(m)}`);
        } else if (m.type === 'step') {
          const pct = (100 * (m.epoch * m.steps + m.step + 1)) / (m.epochs * m.steps);
          status.set(r.id, `${name(r.id)}: ep ${m.epoch + 1}/${m.epochs} ${pct.toFixed(0)}% ${d.lossText(m.loss)}` +
            (m.sparsity > 0 ? ` ${(100 * m.sparsity).toFixed(0)}% sparse` : '') + ` ${m.ms.toFixed(0)} ms/step`);
          showStatus();
        }
      });
      worker.on('error', (e) => { finished = true; reject(new Error(`run ${name(r.id)}: ${e.message}`)); });
      worker.on('exit', (code) => {
        if (!finished) reject(new Error(`run ${name(r.id)}: worker exited (code ${code}) before finishing`));
      });
    });
    running.set(r.id, { worker, done });
    started.push(r.id);
  };

  try {
    while ((pending.length || running.size) && !failure) {
      // Fill free slots with the first runs whose dependencies have finished.
      while (!stopping && running.size < parallel) {
        const i = pending.findIndex((r) => d.dependencies(r).every((dep) => results.has(dep)));
        if (i < 0) break;
        const r = pending.splice(i, 1)[0];
        const spec = d.resolve(r, results);
        const resultFile = join(dirOf(r.id), 'result.json');
        if (existsSync(resultFile)) {
          const res = readJson<Result>(resultFile);
          if (JSON.stringify(res.spec) !== JSON.stringify(spec))
            throw new Error(`run ${name(r.id)}: ${dirOf(r.id)} holds a finished run of a different plan; delete that folder or use another --out`);
          results.set(r.id, res);
          skipped.push(r.id);
          keepSummary(r.id, res);
          log(`run ${name(r.id)} (${r.label}): finished before, skipped`);
          continue;
        }
        const sf = summaryOf(r.id);
        if (sf && existsSync(sf)) {
          let res: Result;
          try {
            res = readJson<Result>(sf);
          } catch {
            throw new Error(`run ${name(r.id)}: summary ${sf} is not valid JSON; delete it to retrain the run`);
          }
          // A summary of another plan (changed settings) is not this run: it trains again and its summary is replaced.
          if (JSON.stringify(res.spec) === JSON.stringify(spec)) {
            results.set(r.id, res);
            skipped.push(r.id);
            fromSummaries.push(r.id);
            log(`run ${name(r.id)} (${r.label}): finished before, taken from its summary ${sf}`);
            continue;
          }
          log(`run ${name(r.id)}: its summary ${sf} is of a different plan (settings changed); training it again`);
        }
        if (o.trainNothing)
          throw new Error(`run ${name(r.id)} has not finished (or its summary is of a different plan), and --report-only trains nothing: leave that run out with --only, or run without --report-only to train it`);
        startRun(r, spec);
      }
      if (!running.size) {
        if (pending.length && !stopping)
          throw new Error(`runs ${pending.map((r) => name(r.id)).join(', ')} wait for runs that did not finish`);
        break;
      }
      let res: { id: string; completed: boolean };
      try {
        res = await Promise.race([...running.values()].map((r) => r.done));
      } catch (e) {
        failure = e as Error;
        stop();
        break;
      }
      running.delete(res.id);
      status.delete(res.id);
      if (isTTY) process.stderr.write('\r\x1b[K');
      if (res.completed) {
        const rr = readJson<Result>(join(dirOf(res.id), 'result.json'));
        results.set(res.id, rr);
        keepSummary(res.id, rr);
        trained.push(res.id);
        log(`run ${name(res.id)} finished: ${d.finishedLine(rr)}`);
      } else {
        stopping = true;
      }
    }
    // Let the others save their checkpoints.
    await Promise.allSettled([...running.values()].map((r) => r.done));
    if (failure) throw failure;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return { results, skipped, fromSummaries, trained, started, completed: !stopping && results.size === d.runs.length, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The plan's runs restricted to `only` (all when absent). Unknown ids and runs whose dependencies
 * were left out are refused, naming them, rather than failing hours later.
 */
export function selectRuns<R extends PlanRun>(runs: R[], only: readonly string[] | undefined, dependencies: (r: R) => string[]): R[] {
  if (!only) return runs;
  const ids = new Set(runs.map((r) => r.id));
  const unknown = only.filter((id) => !ids.has(id));
  if (unknown.length) throw new Error(`--only: unknown run id(s) ${unknown.join(', ')}; this plan's runs are ${[...ids].join(', ')}`);
  // The runs a chosen run starts from (matched non-zeros, q from a trained run) come along: finished
  // ones are taken from their summaries, so adding them costs nothing once they have run.
  const want = new Set(only), byId = new Map(runs.map((r) => [r.id, r]));
  for (let grew = true; grew;) {
    grew = false;
    for (const id of [...want]) for (const d of dependencies(byId.get(id)!)) if (!want.has(d)) (want.add(d), grew = true);
  }
  return runs.filter((r) => want.has(r.id));
}

/**
 * --report-only: the runs that have finished (`finished(id)`: a run folder's result.json or a summary)
 * and whose dependencies are kept too, in plan order; `left` names the others.
 */
export function finishedRuns<R extends PlanRun>(runs: readonly R[], dependencies: (r: R) => string[], finished: (id: string) => boolean): { kept: R[]; left: string[] } {
  const keep = new Set(runs.filter((r) => finished(r.id)).map((r) => r.id));
  for (let shrank = true; shrank;) {
    shrank = false;
    for (const r of runs) if (keep.has(r.id) && dependencies(r).some((d) => !keep.has(d))) (keep.delete(r.id), shrank = true);
  }
  return { kept: runs.filter((r) => keep.has(r.id)), left: runs.filter((r) => !keep.has(r.id)).map((r) => r.id) };
}

/** Whether run `id` has finished: its folder under `out` holds result.json, or `summaries` holds its summary. */
export function finishedIn(out: string, summaries: string | undefined): (id: string) => boolean {
  return (id) => existsSync(join(out, `run-${id}`, 'result.json')) || (!!summaries && existsSync(join(summaries, `${id}.json`)));
}

/**
 * --report-only: the plan's finished runs (see finishedRuns), and a note for the report naming the
 * others (also logged); none finished is an error.
 */
export function reportOnlyRuns<R extends PlanRun>(runs: R[], deps: (r: R) => string[], finished: (id: string) => boolean, task: string, log: (s: string) => void): { kept: R[]; note: string | null } {
  const { kept, left } = finishedRuns(runs, deps, finished);
  if (!kept.length) throw new Error(`--report-only: no run of the ${task} plan has finished yet (no run folder with result.json, no summary); run without --report-only to train`);
  if (!left.length) return { kept, note: null };
  const note = `Written with \`--report-only\` from the ${kept.length} finished runs; ${left.length} run(s) of the plan had not finished and are left out: ${leftOutText(runs.filter((r) => left.includes(r.id)))}.`;
  log(`reproduce ${task}: ${note}`);
  return { kept, note };
}

/** Left-out runs named one by one up to this many. */
const LEFT_OUT_IDS = 8;

/**
 * The runs --report-only leaves out: their ids, or where there are more than LEFT_OUT_IDS of them (a plan run with
 * more seeds than most rows have), by row: "seeds 1237–1241 of rows 1, 4; seed 1235 of row 6".
 */
export function leftOutText(left: readonly (PlanRun & SeedFields)[]): string {
  if (left.length <= LEFT_OUT_IDS) return left.map((r) => r.id).join(', ');
  const seedsOf = new Map<string, number[]>(), plain: string[] = [];
  for (const r of left) {
    if (r.row === undefined || r.seed === undefined) plain.push(r.id);
    else seedsOf.set(r.row, [...(seedsOf.get(r.row) ?? []), r.seed]);
  }
  const rowsBySeeds = new Map<string, string[]>();
  for (const [row, seeds] of seedsOf) {
    const key = seedRanges(seeds);
    rowsBySeeds.set(key, [...(rowsBySeeds.get(key) ?? []), row]);
  }
  const groups = [...rowsBySeeds].map(([seeds, rows]) => `${seeds.includes('–') || seeds.includes(',') ? 'seeds' : 'seed'} ${seeds} of ${rows.length > 1 ? 'rows' : 'row'} ${rows.join(', ')}`);
  return [...groups, ...plain].join('; ');
}

/** "1234, 1237–1241": sorted seeds with runs of three or more as ranges. */
function seedRanges(seeds: readonly number[]): string {
  const s = [...seeds].sort((a, b) => a - b), out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(j - i >= 2 ? `${s[i]}–${s[j]}` : s.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return out.join(', ');
}

/** The machine a run trained on, in one line (CPU count and model, memory, Node, platform). */
export function machineDescription(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model?.trim() || 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Wall seconds of a plan run by `runPlan` with `slots` workers: list scheduling in plan order, respecting dependencies (for duration estimates). */
export function scheduledSeconds<R extends PlanRun>(runs: readonly R[], seconds: Readonly<Record<string, number>>, dependencies: (r: R) => string[], slots: number): number {
  const end = new Map<string, number>();
  const free = Array<number>(Math.max(1, slots)).fill(0);
  const pending = [...runs];
  while (pending.length) {
    free.sort((a, b) => a - b);
    const t = free[0];
    let i = pending.findIndex((r) => dependencies(r).every((d) => (end.get(d) ?? Infinity) <= t));
    let start = t;
    if (i < 0) {
      i = 0;
      start = Math.max(t, ...dependencies(pending[0]).map((d) => end.get(d) ?? t));
    }
    const r = pending.splice(i, 1)[0];
    end.set(r.id, start + seconds[r.id]);
    free[0] = start + seconds[r.id];
  }
  return Math.max(0, ...end.values());
}

// ---------------------------------------------------------------------------------------------
// Pruning as plans state it, and as runs get it

export type PruneSpec =
  | { method: 'none' }
  /**
   * targetSparsity: target mode (adaptive); else Algorithm 1 as printed, φ = phiMult·θ, with q measured
   * at startItr, or (qFrom) the 90th percentile of |w| per layer type of that finished dense run's final weights.
   * block (target mode): prune whole R×C blocks (the recipe's "block"), at the same target sparsity.
   */
  | { method: 'narang'; targetSparsity?: number; phiMult?: number; qFrom?: string; block?: BlockSpec }
  /** Target mode (equal sparsity per layer type) at the overall sparsity another run reached. */
  | { method: 'target-match'; matchNnzOf: string }
  | { method: 'hard'; atEpoch: number; matchNnzOf: string }
  | { method: 'agp'; matchNnzOf: string };

/** The run ids a pruning spec waits for (hard and AGP match another run's non-zeros). */
export function pruneDependencies(p: PruneSpec): string[] {
  if (p.method === 'hard' || p.method === 'agp' || p.method === 'target-match') return [p.matchNnzOf];
  return p.method === 'narang' && p.qFrom ? [p.qFrom] : [];
}

/** The spec with its dependencies renamed (seed copies depend on the same seed's runs). */
export function renamePruneDeps(p: PruneSpec, f: (id: string) => string): PruneSpec {
  if (p.method === 'hard' || p.method === 'agp' || p.method === 'target-match') return { ...p, matchNnzOf: f(p.matchNnzOf) };
  if (p.method === 'narang' && p.qFrom) return { ...p, qFrom: f(p.qFrom) };
  return p;
}

// ---------------------------------------------------------------------------------------------
// Seeds: every plan row runs with seeds S, S+1, …; a copy's id carries its seed

/** The seed the plans' run ids and run folders assume (a copy with another seed is `<id>-s<seed>`). */
export const DEFAULT_SEED = 1234;

export const seededId = (id: string, seed: number): string => (seed === DEFAULT_SEED ? id : `${id}-s${seed}`);

export interface SeedFields {
  /** The plan row this run is a seed copy of. */
  row?: string;
  seed?: number;
  /** The row the paper's claims depend on: gets `claimSeeds` seeds by default. */
  claim?: boolean;
}

/**
 * The plan's rows, each with `n(row)` seeds S, S+1, …: all rows' first seed first (plan order),
 * then the second seeds, … A copy's dependencies are the same seed's copies where that row runs
 * the seed, else the row's first seed.
 */
export function expandSeeds<R extends PlanRun & SeedFields>(
  rows: readonly R[], S: number, n: (r: R) => number, rename: (r: R, f: (id: string) => string) => R,
): R[] {
  const count = new Map(rows.map((r) => [r.id, Math.max(1, n(r))]));
  const max = Math.max(1, ...count.values());
  const out: R[] = [];
  for (let k = 0; k < max; k++)
    for (const r of rows) {
      if (k >= count.get(r.id)!) continue;
      const seed = S + k;
      const dep = (id: string): string => seededId(id, k < (count.get(id) ?? 1) ? seed : S);
      out.push({ ...rename(r, dep), id: seededId(r.id, seed), row: r.id, seed, label: k ? `${r.label}, seed ${seed}` : r.label });
    }
  return out;
}

/**
 * The recipe of a spec: the window given in epochs (iteration = round(epochs × S)), and for
 * hard/AGP the non-zeros of the run they match (`nnzOf`, which throws if it has not finished)
 * out of the run's own `prunedSize` weights.
 */
export function resolveRecipe(
  p: PruneSpec,
  window: { start: number; ramp: number; end: number; freq: number },
  S: number,
  nnzOf: (id: string) => number,
  prunedSize: () => number,
  /** The 90th percentile of |w| per layer type of a finished run's final weights (for `qFrom`). */
  q90Of: (id: string) => Record<string, number> = () => {
    throw new Error('q from a dense run is not available here');
  },
): PruneRecipe | null {
  const itr = (e: number): number => Math.round(e * S);
  const win = { startItr: itr(window.start), rampItr: itr(window.ramp), endItr: itr(window.end), freq: window.freq };
  switch (p.method) {
    case 'none':
      return null;
    case 'narang': {
      if (p.targetSparsity !== undefined) return { method: 'narang', targetSparsity: p.targetSparsity, schedules: { default: win }, ...(p.block ? { block: p.block } : {}) };
      if (!p.qFrom) return { method: 'narang', schedules: { default: { ...win, phiMult: p.phiMult ?? 1.5 } } };
      const q = q90Of(p.qFrom);
      const schedules: Record<string, Record<string, number>> = { default: { ...win, phiMult: p.phiMult ?? 1.5 } };
      for (const [kind, v] of Object.entries(q)) schedules[kind] = { ...win, phiMult: p.phiMult ?? 1.5, q: Number(v.toPrecision(8)) };
      return { method: 'narang', schedules } as PruneRecipe;
    }
    case 'target-match': {
      const s = 1 - nnzOf(p.matchNnzOf) / prunedSize();
      if (!(s > 0 && s < 1)) throw new Error(`target mode cannot match run ${p.matchNnzOf}'s non-zeros (${nnzOf(p.matchNnzOf)} of ${prunedSize()}: sparsity ${s}); that run pruned nothing or everything`);
      return { method: 'narang', targetSparsity: Number(s.toFixed(8)), schedules: { default: win } };
    }
    case 'hard':
      return { method: 'hard', hard: { atEpoch: p.atEpoch, targetNnz: nnzOf(p.matchNnzOf) } };
    case 'agp': {
      const s = 1 - nnzOf(p.matchNnzOf) / prunedSize();
      return { method: 'agp', agp: { startItr: win.startItr, endItr: win.endItr, freq: win.freq, targetSparsity: Number(s.toFixed(8)) } };
    }
  }
}

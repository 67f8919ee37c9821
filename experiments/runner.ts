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
import type { PruneRecipe } from '../src/prune/index.js';

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
  /** Runs trained at once (one worker thread each); default 2 (this machine's cores). */
  parallel?: number;
  log?: (s: string) => void;
  /** Seconds between progress lines (non-TTY); default 30. */
  progressEvery?: number;
}

export interface RunnerReport<Result> {
  results: Map<string, Result>;
  /** Runs skipped because they had finished before. */
  skipped: string[];
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
  const skipped: string[] = [], trained: string[] = [], started: string[] = [];
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
          log(`run ${name(r.id)} (${r.label}): finished before, skipped`);
          continue;
        }
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
  return { results, skipped, trained, started, completed: !stopping && results.size === d.runs.length, seconds: (performance.now() - t0) / 1000 };
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
  const kept = runs.filter((r) => only.includes(r.id));
  for (const r of kept) {
    const missing = dependencies(r).filter((d) => !only.includes(d));
    if (missing.length) throw new Error(`--only: run ${r.id} needs run(s) ${missing.join(', ')} (it matches their non-zeros); add them`);
  }
  return kept;
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
  /** targetSparsity: target mode (adaptive); else Algorithm 1 as printed, q measured at startItr, φ = phiMult·θ. */
  | { method: 'narang'; targetSparsity?: number; phiMult?: number }
  | { method: 'hard'; atEpoch: number; matchNnzOf: string }
  | { method: 'agp'; matchNnzOf: string };

/** The run ids a pruning spec waits for (hard and AGP match another run's non-zeros). */
export function pruneDependencies(p: PruneSpec): string[] {
  return p.method === 'hard' || p.method === 'agp' ? [p.matchNnzOf] : [];
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
): PruneRecipe | null {
  const itr = (e: number): number => Math.round(e * S);
  const win = { startItr: itr(window.start), rampItr: itr(window.ramp), endItr: itr(window.end), freq: window.freq };
  switch (p.method) {
    case 'none':
      return null;
    case 'narang':
      return p.targetSparsity !== undefined
        ? { method: 'narang', targetSparsity: p.targetSparsity, schedules: { default: win } }
        : { method: 'narang', schedules: { default: { ...win, phiMult: p.phiMult ?? 1.5 } } };
    case 'hard':
      return { method: 'hard', hard: { atEpoch: p.atEpoch, targetNnz: nnzOf(p.matchNnzOf) } };
    case 'agp': {
      const s = 1 - nnzOf(p.matchNnzOf) / prunedSize();
      return { method: 'agp', agp: { startItr: win.startItr, endItr: win.endItr, freq: win.freq, targetSparsity: Number(s.toFixed(8)) } };
    }
  }
}

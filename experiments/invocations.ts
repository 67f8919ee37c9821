// The record of a plan's invocations, `<out>/invocations.json`: every `reproduce` that trained one of the
// plan's runs, so that a report can say how long the plan's training took over all of them (a plan is
// usually resumed several times). Two invocations may share a folder at once (different runs of one
// plan), so each write re-reads the file and replaces only this invocation's own entry. Also the report
// lines made from it and from the runs' summaries: how long the plan took and where it trained.

import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from './runner.js';

/** One invocation of the runner, as recorded in <out>/invocations.json. */
export interface Invocation {
  command: string;
  startedAt: string;
  seconds: number;
  /** Runs that trained in it (finished or not). */
  started: string[];
  completed: boolean;
  loadStart: number[];
  loadEnd: number[];
}

/** What the runner reports of an invocation so far. */
export interface InvocationProgress {
  started: string[];
  completed: boolean;
}

export interface InvocationLog {
  /** This invocation as of now. */
  current(rep: InvocationProgress): Invocation;
  /**
   * Writes this invocation into the file (only when it trained something) and returns every
   * invocation that trained the plan's runs: the others on record, then this one if it trained.
   */
  record(rep: InvocationProgress): Invocation[];
}

/** Starts the clock of an invocation whose run folders are in `out`. */
export function invocationLog(out: string, command: string): InvocationLog {
  const file = join(out, 'invocations.json');
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const isMine = (i: Invocation): boolean => i.startedAt === startedAt && i.command === command;
  const current = (rep: InvocationProgress): Invocation => ({
    command, startedAt, seconds: (performance.now() - t0) / 1000, started: rep.started, completed: rep.completed, loadStart, loadEnd: loadavg(),
  });
  return {
    current,
    record(rep) {
      const others = (existsSync(file) ? readJson<Invocation[]>(file) : []).filter((i) => !isMine(i));
      if (!rep.started.length) return others;
      const all = [...others, current(rep)];
      mkdirSync(out, { recursive: true });
      writeJsonAtomic(file, all);
      return all;
    },
  };
}

/** What a report says of its invocations and of the runs' own timings. */
export interface WallTimeContext {
  invocations: Invocation[];
  current: Invocation;
}

/** A finished run as far as the wall-time line needs it: its epochs' wall seconds and where it trained. */
export interface TimedRun {
  machine?: string;
  timing: { epochs: { seconds: number }[] };
}

/** A run's machine as the report lines name it: the CPU part of its description. */
const machineOf = (r: TimedRun): string => (r.machine ? r.machine.split(',')[0] : 'machine not recorded');

/**
 * The report's wall-time bullet. invocations.json lives in the run folders, which stay on the machine
 * that trained them, so it covers only this machine's invocations; the runs' own epoch timings travel
 * with their summaries, so their sum covers the whole plan, on every machine it ran on.
 */
export function wallTimeText(ctx: WallTimeContext, runs: Iterable<TimedRun>, what: string): string {
  const inv = ctx.invocations;
  const perMachine = new Map<string, number>();
  let n = 0;
  for (const r of runs) {
    const m = machineOf(r);
    perMachine.set(m, (perMachine.get(m) ?? 0) + r.timing.epochs.reduce((a, e) => a + e.seconds, 0));
    n++;
  }
  const hours = (s: number): string => (s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);
  const total = [...perMachine.values()].reduce((a, b) => a + b, 0);
  const runsPart = n
    ? `${n === 1 ? "the run's own epochs" : `the ${n} runs' own epochs`} (training and evaluation, each on its own clock) add up to ${hours(total)}` +
      (perMachine.size > 1 ? ` (${[...perMachine].map(([m, s]) => `${m}: ${hours(s)}`).join(', ')})` : '')
    : '';
  const invPart = inv.length
    ? `${(inv.reduce((a, i) => a + i.seconds, 0) / 60).toFixed(1)} min of wall time on this machine in ${inv.length === 1 ? 'one invocation' : `${inv.length} invocations (resumed)`} ` +
      `that trained these runs (started ${inv[0].startedAt.slice(0, 16).replace('T', ' ')} UTC; ${what})`
    : '';
  const reuse = ctx.current.started.length ? '' : `; this invocation reused the finished runs and took ${ctx.current.seconds.toFixed(0)} s`;
  return `- Wall time: ${[runsPart, invPart].filter(Boolean).join('; ') || 'nothing trained yet'}${reuse}.`;
}

/** The report's machine bullet: where it was written, the load, and, when any run trained elsewhere, where the runs trained. */
export function machineText(ctx: WallTimeContext & { machine: string }, runs: Iterable<TimedRun>, noisy: string): string {
  const inv = ctx.invocations;
  const la = (x: number[]): string => x.map((v) => v.toFixed(1)).join('/');
  const load = `load average (1/5/15 min) ${la((inv[0] ?? ctx.current).loadStart)} at the start, ${la((inv[inv.length - 1] ?? ctx.current).loadEnd)} at the end — ${noisy}`;
  const here = ctx.machine.split(',')[0];
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(machineOf(r), (counts.get(machineOf(r)) ?? 0) + 1);
  if (!counts.size || (counts.size === 1 && counts.has(here))) return `- Machine: ${ctx.machine}; ${load}.`;
  return `- Machine writing this report: ${ctx.machine}; ${load}. The runs trained on: ${[...counts].map(([m, n]) => `${m} (${n} run${n === 1 ? '' : 's'})`).join(', ')}.`;
}

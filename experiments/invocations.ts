// The record of a plan's invocations, `<out>/invocations.json`: every `reproduce` that trained one of the
// plan's runs, so that a report can say how long the plan's training took over all of them (a plan is
// usually resumed several times). Two invocations may share a folder at once (different runs of one
// plan), so each write re-reads the file and replaces only this invocation's own entry.

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

// What every command shares: the one error path, the one number parser, the shared options
// (-o/--out, --kernels, --threads, --quiet, --force) and the compute engine. Commands stay thin.

import { Command, Option, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { CELL_TYPES, type CellType } from '../nn/config.js';
import { createEngine, defaultThreads, KERNEL_CHOICES, type Engine, type KernelChoice } from '../kernels/engine.js';
import { kernelsFor } from '../train/run.js';
import { FormatError, FileAccessError } from '../io/errors.js';
import { SrnnFormatError } from '../sparse/errors.js';
import { type BlockSpec, parseBlockSpecText } from '../prune/recipe.js';
import type { SrnnHeader } from '../sparse/format.js';
import { oneThreadReason } from '../sparse/threads.js';

/** An error the user can fix: printed as one line, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The one line printed for an error: "file: field: what (what to do)". */
export function errorLine(e: unknown): string {
  if (e instanceof SrnnFormatError) {
    // ".srnn magic: magic: …" → ".srnn magic: …"
    const head = `.srnn ${e.kind}: ${e.field}: `;
    const rest = e.message.startsWith(head) ? e.message.slice(head.length) : e.message;
    return e.kind === e.field ? `.srnn ${e.field}: ${rest}` : `.srnn ${e.kind}: ${e.field}: ${rest}`;
  }
  if (e instanceof Error) return e.message.split('\n').map((l) => l.trimEnd()).join(' ').replace(/\s+/g, ' ');
  return String(e);
}

/** Run an action through the one error path: one line on stderr, exit code 1, never a stack trace. */
export function action<A extends unknown[]>(f: (...a: A) => Promise<void> | void): (...a: A) => Promise<void> {
  return async (...a: A) => {
    try {
      await f(...a);
    } catch (e) {
      process.stderr.write(`sparse-rnn: error: ${errorLine(e)}\n`);
      if (process.env.SPARSE_RNN_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 1;
    }
  };
}
export { FormatError, FileAccessError };

/** The one number parser: `--name` must be a number (an integer with `integer`) in [min, max], or above `above`. */
export function number(name: string, o: { integer?: boolean; min?: number; max?: number; above?: number } = {}) {
  const min = o.min ?? -Infinity, max = o.max ?? Infinity;
  return (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    const kind = o.integer ? 'an integer' : 'a number';
    const range = o.above !== undefined ? ` > ${o.above}` : max === Infinity ? (min === -Infinity ? '' : ` ≥ ${min}`) : ` in [${min}, ${max}]`;
    if (!Number.isFinite(n) || (o.integer && !Number.isInteger(n)) || n < min || n > max || (o.above !== undefined && n <= o.above))
      throw new InvalidArgumentError(`${name} must be ${kind}${range}, got "${v}"`);
    return n;
  };
}
export const int = (name: string, min = 0, max = Infinity) => number(name, { integer: true, min, max });

/** A block shape option: "RxC" (e.g. 1x4) → [R, C], or "type=RxC[,type=RxC]" → one shape per layer type. */
export function blockSpec(name: string) {
  return (v: string): BlockSpec => {
    try {
      return parseBlockSpecText(v, name);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}
export const num = (name: string, min = -Infinity, max = Infinity) => number(name, { min, max });
/** A number that must be above zero (a learning rate: 0 would train nothing). */
export const positive = (name: string) => number(name, { above: 0 });

export function cellOption(): Option {
  return new Option('--cell <cell>', 'recurrent cell').choices(CELL_TYPES as unknown as string[]).default('gru' as CellType);
}

/** -o is --out in every command. */
export function outOption(what: string, def?: string): Option {
  const o = new Option('-o, --out <file>', what);
  return def === undefined ? o : o.default(def);
}

// ---------------------------------------------------------------------------------------------
// The compute engine

export interface EngineCliOptions {
  kernels: KernelChoice;
  /** Unset: the machine's cores, or 1 for a sparse model too small to split (src/sparse/threads.ts). */
  threads?: number;
  quiet?: boolean;
}

/** --kernels and --threads, defined once; every computing command adds them. */
export function addEngineOptions(c: Command): Command {
  return c
    .addOption(new Option('--kernels <impl>', 'compute kernels: auto (fastest supported), wasm (SIMD), relaxed (relaxed SIMD), ts (reference)')
      .choices(KERNEL_CHOICES as unknown as string[]).default('auto'))
    .addOption(new Option('--threads <n>', `compute threads (default: the machine's cores, ${defaultThreads()} here; 1 for a sparse model too small to split)`).argParser(int('--threads', 1)));
}

/**
 * The engine of a command, described once on stderr unless --quiet. `resumed`: the kernel variant of
 * the checkpoint a run resumes, which --kernels auto keeps (results stay bit-exact). `model`: the
 * header of the .srnn model it will run, which sizes the default thread count.
 */
export async function commandEngine(o: EngineCliOptions, resumed?: { variant?: Engine['variant'] }, model?: SrnnHeader): Promise<Engine> {
  const one = o.threads === undefined && model ? oneThreadReason(model) : null;
  const engine = await createEngine({
    kernels: kernelsFor(o.kernels, resumed?.variant), threads: o.threads ?? (one ? 1 : undefined), threadsNote: one ?? undefined,
  });
  if (!o.quiet) process.stderr.write(`${engine.describe()}\n`);
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Files

/** Refuse to replace an existing file (a trained model) unless told to. */
export function refuseOverwrite(file: string, o: { force?: boolean; resume?: boolean }, what = 'checkpoint', resumable = true): void {
  if (!existsSync(file) || o.force || o.resume) return;
  throw new UsageError(`${file}: a ${what} already exists; ${resumable ? 'continue it with --resume, ' : ''}replace it with --force, or choose another -o/--out`);
}

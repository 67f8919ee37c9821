// The `sparse-rnn` command line. Thin: parse options (commander), call the library, print.

import { Command, Option, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { CELL_TYPES, type CellType } from '../nn/config.js';
import { registerTrainCommands } from './commands/train.js';
import { registerForward } from './commands/forward.js';
import { registerDemo } from './commands/demo.js';

export function int(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}
export function num(name: string, min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
}
export function cellOption(): Option {
  return new Option('--cell <cell>', 'recurrent cell').choices(CELL_TYPES as unknown as string[]).default('gru' as CellType);
}

/** Optional command modules written alongside (pruning schedule, sparse export/infer, benches, data). */
async function registerOptional(program: Command, bench: Command, data: Command): Promise<void> {
  const tryImport = async (path: string): Promise<Record<string, unknown> | null> => {
    try {
      return (await import(path)) as Record<string, unknown>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(path.slice(2)))
        return null;
      throw e;
    }
  };
  const call = (m: Record<string, unknown> | null, fn: string, arg: Command): void => {
    if (m && typeof m[fn] === 'function') (m[fn] as (c: Command) => void)(arg);
  };
  call(await tryImport('./commands/schedule.js'), 'registerSchedule', program);
  call(await tryImport('./commands/export.js'), 'registerExport', program);
  call(await tryImport('./commands/export-onnx.js'), 'registerExportOnnx', program);
  call(await tryImport('./commands/import.js'), 'registerImport', program);
  call(await tryImport('./commands/infer.js'), 'registerInfer', program);
  call(await tryImport('./commands/transcribe.js'), 'registerTranscribe', program);
  call(await tryImport('./commands/bench-kernels.js'), 'addBenchSubcommands', bench);
  call(await tryImport('./commands/bench-train.js'), 'addBenchTrain', bench);
  call(await tryImport('./commands/data-speech.js'), 'registerDataSpeech', data);
  call(await tryImport('./commands/serve.js'), 'registerServe', program);
  call(await tryImport('./commands/reproduce.js'), 'registerReproduce', program);
}

export async function main(argv: string[]): Promise<void> {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('sparse-rnn')
    .description('Train RNN/GRU/LSTM models, prune them during training (Narang et al. 2017), run them sparse.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (s, write) => write(s) });
  registerDemo(program);
  registerTrainCommands(program);
  registerForward(program);
  const bench = program.command('bench').description('benchmarks: kernels, model latency, training speed');
  const data = program.command('data').description('obtain or synthesise data sets');
  await registerOptional(program, bench, data);
  await program.parseAsync(argv);
}

/** Run an action with clear errors: a message and a non-zero exit, never only a stack trace. */
export function action<A extends unknown[]>(f: (...a: A) => Promise<void> | void): (...a: A) => Promise<void> {
  return async (...a: A) => {
    try {
      await f(...a);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`sparse-rnn: error: ${msg}\n`);
      if (process.env.SPARSE_RNN_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 1;
    }
  };
}

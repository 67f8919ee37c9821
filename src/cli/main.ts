// The `sparse-rnn` command line. Thin: parse options (commander), call the library, print.

import { Command, Option, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { CELL_TYPES, type CellType } from '../nn/config.js';
import { registerTrainCommands } from './commands/train.js';
import { registerForward } from './commands/forward.js';
import { registerDemo } from './commands/demo.js';
import { registerSchedule } from './commands/schedule.js';
import { registerExport } from './commands/export.js';
import { registerExportOnnx } from './commands/export-onnx.js';
import { registerImport } from './commands/import.js';
import { registerInfer } from './commands/infer.js';
import { registerTranscribe } from './commands/transcribe.js';
import { addBenchSubcommands } from './commands/bench-kernels.js';
import { registerDataSpeech } from './commands/data-speech.js';
import { registerServe } from './commands/serve.js';
import { registerReproduce } from './commands/reproduce.js';

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
  const bench = program.command('bench').description('benchmarks: sparse vs dense kernels, model latency (training speed: npm run bench -- train)');
  const data = program.command('data').description('obtain or synthesise data sets');
  registerSchedule(program);
  registerExport(program);
  registerExportOnnx(program);
  registerImport(program);
  registerInfer(program);
  registerTranscribe(program);
  addBenchSubcommands(bench);
  registerDataSpeech(data);
  registerServe(program);
  registerReproduce(program);
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

// The `sparse-rnn` command line. Thin: parse options (commander), call the library, print.
// Every command is imported statically: a missing module is a broken installation, never a
// silently missing command.

import { Command } from 'commander';
import { readFileSync } from 'node:fs';
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

// Shared helpers, re-exported for the commands that import them from here.
export { action, cellOption, int, num } from './common.js';

export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('sparse-rnn')
    .description('Train RNN/GRU/LSTM models, prune them during training (Narang et al. 2017), run them sparse.')
    .version(pkg.version)
    // Option errors too are one line: "sparse-rnn: error: … (run with --help for usage)".
    .configureOutput({ outputError: (s, write) => write(`sparse-rnn: ${s.trim().replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`) });
  registerDemo(program);
  registerTrainCommands(program);
  registerForward(program);
  registerSchedule(program);
  registerExport(program);
  registerExportOnnx(program);
  registerImport(program);
  registerInfer(program);
  registerTranscribe(program);
  registerServe(program);
  registerReproduce(program);
  addBenchSubcommands(program.command('bench').description('benchmarks: kernels, model latency'));
  registerDataSpeech(program.command('data').description('obtain or synthesise data sets'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

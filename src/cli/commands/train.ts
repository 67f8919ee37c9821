// `sparse-rnn train`, `eval` and `sample` for character language models.

import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { CellType } from '../../nn/config.js';
import { runCharLM } from '../../train/charlm-run.js';
import { createProgress } from '../progress.js';
import { action, addEngineOptions, cellOption, commandEngine, int, num } from '../common.js';
import type { PruneRecipe } from '../../prune/index.js';
import { PRUNE_METHODS, formatReportTable } from '../../prune/index.js';
import { loadModel } from '../../train/checkpoint.js';
import type { KernelChoice } from '../../kernels/engine.js';
import { loadCharCorpus } from '../../data/charlm.js';
import { evaluateBpc } from '../../train/trainer.js';
import { sampleText } from '../../train/sample.js';
import { writeReports } from '../../train/reports.js';
import { stopOnSignals } from '../stop-signal.js';

export interface TrainCliOptions {
  task: 'charlm' | 'speech';
  corpus: string;
  cell: CellType;
  layers: number;
  hidden: number;
  embed: number;
  dropout: number;
  batch: number;
  seqLen: number;
  epochs: number;
  maxSteps: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  clip: number;
  lrDecay: number;
  seed: number;
  evalChars: number;
  out: string;
  resume: boolean;
  initFrom?: string;
  kernels: 'auto' | 'wasm' | 'ts';
  prune: string;
  pruneConfig?: string;
  targetSparsity?: number;
  phiMult?: number;
  freq?: number;
  startItr?: number;
  rampItr?: number;
  endItr?: number;
  q?: number;
  revival?: 'paper' | 'never';
  hardEpoch?: number;
  pruneEmbedding?: boolean;
  quiet?: boolean;
  /** Speech (--task speech): log-mel bands, frame stacking and striding, bidirectional layers, length buckets, beam width. */
  mels?: number;
  stack?: number;
  stride?: number;
  bidirectional?: boolean;
  buckets?: number;
  beam?: number;
}

/** Defaults that --task speech uses instead of the character-LM ones, for options not given explicitly. */
export const SPEECH_TRAIN_DEFAULTS: Readonly<Partial<Record<keyof TrainCliOptions, unknown>>> = {
  corpus: 'data/speech', layers: 2, hidden: 256, batch: 8, epochs: 15, lr: 3e-3, lrDecay: 1.1, clip: 5,
};

/** The pruning recipe from --prune-config and/or the command-line schedule options. */
export function recipeFromOptions(o: TrainCliOptions): PruneRecipe | null {
  let r: PruneRecipe;
  if (o.pruneConfig) {
    let text: string;
    try {
      text = readFileSync(o.pruneConfig, 'utf8');
    } catch {
      throw new Error(`--prune-config: cannot read ${o.pruneConfig}`);
    }
    try {
      r = JSON.parse(text) as PruneRecipe;
    } catch (e) {
      throw new Error(`${o.pruneConfig}: not valid JSON (${(e as Error).message})`);
    }
  } else r = { method: o.prune as PruneRecipe['method'] };
  if (r.method === 'none') return null;
  if (o.revival) r.revival = o.revival;
  if (o.pruneEmbedding) r.pruneEmbedding = true;
  if (o.targetSparsity !== undefined) r.targetSparsity = o.targetSparsity;
  const sched: Record<string, number> = {};
  for (const k of ['phiMult', 'freq', 'startItr', 'rampItr', 'endItr', 'q'] as const) if (o[k] !== undefined) sched[k] = o[k]!;
  if (Object.keys(sched).length) r.schedules = { ...r.schedules, default: { ...r.schedules?.default, ...sched } };
  if (r.method === 'hard' && o.hardEpoch !== undefined) r.hard = { ...r.hard, atEpoch: o.hardEpoch };
  return r;
}

export function addTrainOptions(c: Command): Command {
  return c
    .addOption(new Option('--task <task>', 'what to train').choices(['charlm', 'speech']).default('charlm'))
    .option('--corpus <name|path>', 'moby-dick, sotu or a UTF-8 text file', 'moby-dick')
    .addOption(cellOption())
    .option('--layers <n>', 'stacked recurrent layers', int('--layers', 1), 1)
    .option('--hidden <n>', 'hidden units per layer', int('--hidden', 1), 256)
    .option('--embed <n>', 'embedding size', int('--embed', 1), 64)
    .option('--dropout <p>', 'dropout between layers', num('--dropout', 0, 0.99), 0)
    .option('--batch <n>', 'batch size (parallel streams)', int('--batch', 1), 32)
    .option('--seq-len <n>', 'truncated-BPTT window', int('--seq-len', 1), 50)
    .option('--epochs <n>', 'epochs', int('--epochs', 1), 10)
    .option('--max-steps <n>', 'cap on steps per epoch (0 = full epochs)', int('--max-steps', 0), 0)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam']).default('adam'))
    .option('--lr <x>', 'learning rate', num('--lr', 0), 2e-3)
    .option('--momentum <x>', 'SGD momentum', num('--momentum', 0, 1), 0.9)
    .option('--nesterov', 'Nesterov momentum (SGD)', false)
    .option('--weight-decay <x>', 'L2 weight decay', num('--weight-decay', 0), 0)
    .option('--clip <x>', 'clip the global gradient norm (0 = off)', num('--clip', 0), 5)
    .option('--lr-decay <x>', 'divide the learning rate by this after every epoch (DS2: 1.2)', num('--lr-decay', 1), 1)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1234)
    .option('--eval-chars <n>', 'validation characters per evaluation (0 = all)', int('--eval-chars', 0), 0)
    .option('-o, --out <file>', 'checkpoint file', 'runs/model.ckpt')
    .option('--resume', 'continue from --out if it exists', false)
    .option('--init-from <checkpoint>', 'start from these weights/masks with a fresh optimizer (fine-tune, one-shot prune)')
    .addOption(new Option('--kernels <impl>', 'kernel implementation').choices(['auto', 'wasm', 'ts']).default('auto'))
    .addOption(new Option('--prune <method>', 'pruning during training').choices(PRUNE_METHODS as unknown as string[]).default('none'))
    .option('--prune-config <recipe.json>', 'pruning recipe (JSON); options below override it')
    .option('--target-sparsity <s>', 'final sparsity to reach (e.g. 0.9)', num('--target-sparsity', 0, 0.9999))
    .option('--phi-mult <m>', 'ramp slope φ = m·θ (paper: 1.5–2)', num('--phi-mult', 0))
    .option('--freq <n>', 'iterations between mask updates', int('--freq', 1))
    .option('--start-itr <n>', 'first pruning iteration', int('--start-itr', 0))
    .option('--ramp-itr <n>', 'iteration where the ramp slope starts', int('--ramp-itr', 0))
    .option('--end-itr <n>', 'iteration after which masks are frozen', int('--end-itr', 0))
    .option('--q <x>', 'q of Equation 1 (default: 90th percentile of |w| at start-itr)', num('--q', 0))
    .addOption(new Option('--revival <mode>', 'may pruned weights come back').choices(['paper', 'never']))
    .option('--hard-epoch <k>', 'hard pruning: prune after epoch k', int('--hard-epoch', 1))
    .option('--prune-embedding', 'also prune the embedding', false)
    .option('--quiet', 'no progress bar', false)
    .option('--mels <n>', 'speech: log-mel bands', int('--mels', 1), 40)
    .option('--stack <n>', 'speech: frames stacked per model input frame', int('--stack', 1), 3)
    .option('--stride <n>', 'speech: keep every n-th stacked frame (1-3)', int('--stride', 1), 2)
    .option('--bidirectional', 'speech: bidirectional recurrent layers (the paper\'s RNN model: --cell rnn_clipped --bidirectional)', false)
    .option('--buckets <n>', 'speech: window lengths batches are padded to (memory vs padding)', int('--buckets', 1), 6)
    .option('--beam <n>', 'speech: beam width for validation decoding (0 = greedy)', int('--beam', 0), 0)
    .addHelpText('after', `\nWith --task speech, options not given default to: ${Object.entries(SPEECH_TRAIN_DEFAULTS).map(([k, v]) => `${k} ${String(v)}`).join(', ')}` +
      ' (--corpus is the corpus directory of "sparse-rnn data speech"; --embed and --seq-len are not used).')
    .hook('preAction', (cmd) => {
      if (cmd.getOptionValue('task') !== 'speech') return;
      for (const [k, v] of Object.entries(SPEECH_TRAIN_DEFAULTS))
        if (cmd.getOptionValueSource(k) === 'default') cmd.setOptionValueWithSource(k, v, 'default');
    });
}

export async function trainCharLMFromCli(o: TrainCliOptions): Promise<boolean> {
  const progress = createProgress(process.stderr, o.quiet);
  const { signal, dispose } = stopOnSignals(progress);
  mkdirSync(dirname(o.out) || '.', { recursive: true });
  let emaMs = 0, started = false;
  const res = await runCharLM({
    corpus: o.corpus, cell: o.cell, layers: o.layers, hidden: o.hidden, embed: o.embed, dropout: o.dropout,
    train: {
      epochs: o.epochs, batch: o.batch, seqLen: o.seqLen, clip: o.clip, lrDecay: o.lrDecay, seed: o.seed,
      maxStepsPerEpoch: o.maxSteps, evalChars: o.evalChars,
      optimizer: o.optimizer === 'adam'
        ? { kind: 'adam', lr: o.lr, weightDecay: o.weightDecay }
        : { kind: 'sgd', lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay },
    },
    checkpoint: o.out, resume: o.resume, initFrom: o.initFrom, prune: recipeFromOptions(o), kernels: o.kernels, signal,
    log: (s) => progress.log(s),
    onStep: (e, t, p) => {
      if (!started || e.step === 0) {
        progress.start(e.stepsPerEpoch, `epoch ${e.epoch + 1}/${t.opts.epochs}`);
        started = true;
      }
      emaMs = emaMs ? 0.9 * emaMs + 0.1 * e.ms : e.ms; // smoothed step time
      const fields: Record<string, string> = {
        loss: (e.loss / Math.LN2).toFixed(3) + ' bpc',
        speed: `${Math.round((t.opts.batch * t.opts.seqLen) / (emaMs / 1000))} char/s (${emaMs.toFixed(0)} ms/step)`,
      };
      if (p) {
        fields.sparsity = (100 * p.sparsity().overall).toFixed(1) + '%';
        const eps = Object.values(p.epsilons()).filter((x): x is number => x !== undefined);
        if (eps.length) fields['ε'] = Math.max(...eps).toPrecision(3);
      }
      progress.update(e.step + 1, fields);
    },
    onEpoch: (e, t, p) => {
      progress.stop();
      started = false;
      progress.log(`epoch ${e.epoch}/${t.opts.epochs}: train ${e.trainBpc.toFixed(4)} bpc, valid ${e.validBpc.toFixed(4)} bpc` +
        (p ? `, sparsity ${(100 * p.sparsity().overall).toFixed(2)}%` : '') + `, ${e.seconds.toFixed(1)} s`);
    },
  });
  dispose();
  if (!res.completed) {
    process.exitCode = 130;
    return false;
  }
  const dir = dirname(o.out);
  const reportFiles = await writeReports(dir, res.model, res.trainer, res.pruner);
  if (res.pruner) {
    progress.log(formatReportTable(res.pruner.report()));
    for (const w of res.pruner.warnings) progress.log(w);
  }
  progress.log(`checkpoint: ${o.out}; reports: ${reportFiles.join(', ')}`);
  return true;
}

export function registerTrainCommands(program: Command): void {
  addTrainOptions(program.command('train').description('train a model (character LM by default), optionally pruning it'))
    .action(action(async (o: TrainCliOptions) => {
      if (o.task === 'speech') {
        const speechModule = './train-speech.js'; // written by the speech work; optional in this build
        const m = (await import(speechModule).catch(() => null)) as { trainSpeechFromCli?: (o: TrainCliOptions) => Promise<void> } | null;
        if (!m?.trainSpeechFromCli) throw new Error('--task speech is not available in this build');
        return m.trainSpeechFromCli(o);
      }
      await trainCharLMFromCli(o);
    }));

  addEngineOptions(program.command('eval')
    .description('bits per character of a character-LM checkpoint on a split of its corpus')
    .argument('<checkpoint>', 'checkpoint written by `sparse-rnn train` or `sparse-rnn import`')
    .addOption(new Option('--split <name>', 'which split of the corpus to score').choices(['valid', 'test', 'train']).default('valid'))
    .option('--corpus <name|path>', 'override the corpus recorded in the checkpoint'))
    .option('--quiet', 'print only the result', false)
    .action(action(async (file: string, o: { split: 'valid' | 'test' | 'train'; corpus?: string; kernels: KernelChoice; threads: number; quiet: boolean }) => {
      const engine = await commandEngine(o);
      const { model, ck } = loadModel(file, engine.kernels, { task: 'charlm', purpose: 'eval' });
      const corpus = loadCharCorpus(o.corpus ?? ck.meta.corpus ?? 'moby-dick', ck.meta.vocab);
      const bpc = evaluateBpc(model, corpus[o.split]);
      process.stdout.write(`${o.split} bits/char: ${bpc.toFixed(4)} (${corpus[o.split].length} characters, ${model.nonZeroCount()} non-zero parameters of ${model.parameterCount()})\n`);
    }));

  addEngineOptions(program.command('sample')
    .description('generate text from a character-LM checkpoint')
    .argument('<checkpoint>', 'checkpoint written by `sparse-rnn train` or `sparse-rnn import`'))
    .option('--prompt <text>', 'text to start from', 'The whale ')
    .option('--length <n>', 'characters to generate', int('--length', 1), 300)
    .option('--temperature <t>', 'softmax temperature (0 = greedy)', num('--temperature', 0, 100), 0.8)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1)
    .option('--quiet', 'print only the text', false)
    .action(action(async (file: string, o: { prompt: string; length: number; temperature: number; seed: number; kernels: KernelChoice; threads: number; quiet: boolean }) => {
      const engine = await commandEngine(o);
      const { model, ck } = loadModel(file, engine.kernels, { task: 'charlm', purpose: 'sample' });
      if (!ck.meta.vocab) throw new Error(`${file}: has no vocabulary (not a character-LM checkpoint)`);
      process.stdout.write(o.prompt + sampleText(model, ck.meta.vocab, o) + '\n');
    }));
}


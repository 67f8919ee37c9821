// `sparse-rnn train`, `eval` and `sample`. Thin: options → the run set-up of src/train (one for
// every task), progress and results on stderr/stdout.

import { Command, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import type { CellType } from '../../nn/config.js';
import type { Engine, KernelChoice } from '../../kernels/engine.js';
import type { BlockSpec, PruneRecipe, Pruner } from '../../prune/index.js';
import { PRUNE_METHODS, formatReportTable } from '../../prune/index.js';
import { loadCheckpoint, modelOf, trainedWeightsOf, type LoadedCheckpoint } from '../../train/checkpoint.js';
import { loadCharCorpus } from '../../data/charlm.js';
import { evaluateBpc, runCharLM } from '../../train/charlm.js';
import { runSpeech } from '../../train/speech.js';
import { DEFAULT_SPEC_AUGMENT, type SpecAugmentOptions } from '../../data/speech/augment.js';
import { DEFAULT_RUNNING } from '../../data/speech/features.js';
import { sampleText } from '../../train/sample.js';
import { writeReports } from '../../train/reports.js';
import type { LoopOptions, LrScheduleKind, StepBase, Task, Trainer } from '../../train/loop.js';
import type { SparsePhaseEvent, SparseTrainingMode } from '../../train/sparse-phase.js';
import { createProgress, type Progress } from '../progress.js';
import { stopOnSignals } from '../stop-signal.js';
import { UsageError, action, addEngineOptions, blockSpec, cellOption, commandEngine, int, num, outOption, positive, refuseOverwrite } from '../common.js';

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
  lrSchedule: LrScheduleKind;
  warmup: number;
  ema: number;
  seed: number;
  evalChars: number;
  out: string;
  resume: boolean;
  force: boolean;
  initFrom?: string;
  kernels: KernelChoice;
  threads?: number;
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
  sparseTraining: SparseTrainingMode;
  hardEpoch?: number;
  pruneEmbedding?: boolean;
  /** --prune-block RxC or type=RxC[,…]: the recipe's block shape(s). */
  pruneBlock?: BlockSpec;
  quiet?: boolean;
  /** Speech (--task speech): log-mel bands, frame stacking and striding, bidirectional layers, length buckets, beam width. */
  mels?: number;
  /** Speech: keep this many cepstral coefficients of each log-mel frame (liftering; off when not given). */
  lifter?: number;
  stack?: number;
  stride?: number;
  /** Speech: feature normalisation ('running' default: training-split statistics, then the utterance's so far; streams). */
  normalize?: 'global' | 'running' | 'utterance' | 'two-pass' | 'none';
  /** Speech, 'running' and 'two-pass': the running normaliser's prior weight, in frames (default DEFAULT_RUNNING.prior). */
  runningPrior?: number;
  bidirectional?: boolean;
  buckets?: number;
  beam?: number;
  /** Speech: SpecAugment masks, 'on', 'off' or 'F,WF,T,WT' (frequency masks, their widest band count, time masks, their widest frame count). */
  specAugment?: string;
  /** Speech: VTLP warp range (0 = off). */
  vtlp?: number;
  /** Speech: the first epoch's batches shortest first (Deep Speech 2's SortaGrad). */
  sortagrad?: boolean;
}

/** --spec-augment: on (the default policy), off, or F,WF,T,WT. */
export function parseSpecAugment(v: string): SpecAugmentOptions | null {
  if (v === 'off') return null;
  if (v === 'on') return { ...DEFAULT_SPEC_AUGMENT };
  const xs = v.split(',').map(Number);
  if (xs.length !== 4 || !xs.every((x) => Number.isInteger(x) && x >= 0))
    throw new UsageError(`--spec-augment: expected on, off or four non-negative integers F,WF,T,WT (frequency masks, max bands each, time masks, max frames each), got "${v}"`);
  return { freqMasks: xs[0], freqWidth: xs[1], timeMasks: xs[2], timeWidth: xs[3], maxTimeFraction: DEFAULT_SPEC_AUGMENT.maxTimeFraction };
}

/**
 * Defaults that --task speech uses instead of the character-LM ones, for options not given explicitly.
 * lr 1.5e-3, not the earlier 3e-3: lower error on every validation condition, on two corpora and several seeds
 * (RESULTS.md, "The learning rate"). warmup 200: the recipe measured on the default corpus since intl and
 * narrowband joined it (RESULTS.md, "A second unseen synthesis method"), fewer runs stuck on CTC's all-blank start.
 * ema 0.999: the average of the weights, better than the last weights of a dense model on the held-out synthesizer,
 * the test split and the validation conditions, level on GnuSpeech, for the same training; not for a pruned one
 * (SPEECH_DENSE_ONLY), whose average was level or worse (RESULTS.md, "A weight average").
 */
export const SPEECH_TRAIN_DEFAULTS: Readonly<Partial<Record<keyof TrainCliOptions, unknown>>> = {
  corpus: 'data/speech', layers: 2, hidden: 256, batch: 8, epochs: 15, lr: 1.5e-3, lrDecay: 1.1, clip: 5, warmup: 200, ema: 0.999,
};
/** Speech defaults that apply only without --prune / --prune-config (a pruned run keeps the option's own default). */
export const SPEECH_DENSE_ONLY: readonly (keyof TrainCliOptions)[] = ['ema'];

/** Whether the options ask for pruning: a --prune method or a --prune-config recipe. */
const isPruning = (o: Pick<TrainCliOptions, 'prune' | 'pruneConfig'>): boolean => o.prune !== 'none' || !!o.pruneConfig;

/** Options that only shape a pruning schedule: ignored without --prune / --prune-config. */
const PRUNE_ONLY = ['targetSparsity', 'phiMult', 'freq', 'startItr', 'rampItr', 'endItr', 'q', 'revival', 'hardEpoch', 'pruneEmbedding', 'pruneBlock'] as const;
const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** Options one task reads and the other would ignore. */
const SPEECH_ONLY = ['mels', 'lifter', 'stack', 'stride', 'normalize', 'runningPrior', 'bidirectional', 'buckets', 'beam', 'vtlp', 'specAugment', 'sortagrad'] as const;
const CHARLM_ONLY = ['embed', 'seqLen', 'evalChars'] as const;

/** The pruning recipe from --prune-config and/or the command-line schedule options. */
export function recipeFromOptions(o: TrainCliOptions): PruneRecipe | null {
  let r: PruneRecipe;
  if (o.pruneConfig) {
    let text: string;
    try {
      text = readFileSync(o.pruneConfig, 'utf8');
    } catch {
      throw new UsageError(`--prune-config: cannot read ${o.pruneConfig}`);
    }
    try {
      r = JSON.parse(text) as PruneRecipe;
    } catch (e) {
      throw new UsageError(`${o.pruneConfig}: not valid JSON (${(e as Error).message})`);
    }
  } else r = { method: o.prune as PruneRecipe['method'] };
  if (r.method === 'none') return null;
  if (o.revival) r.revival = o.revival;
  if (o.pruneEmbedding) r.pruneEmbedding = true;
  if (o.pruneBlock) r.block = o.pruneBlock;
  if (o.targetSparsity !== undefined) r.targetSparsity = o.targetSparsity;
  const sched: Record<string, number> = {};
  for (const k of ['phiMult', 'freq', 'startItr', 'rampItr', 'endItr', 'q'] as const) if (o[k] !== undefined) sched[k] = o[k]!;
  if (Object.keys(sched).length) r.schedules = { ...r.schedules, default: { ...r.schedules?.default, ...sched } };
  if (r.method === 'hard' && o.hardEpoch !== undefined) r.hard = { ...r.hard, atEpoch: o.hardEpoch };
  return r;
}

export function addTrainOptions(c: Command): Command {
  return addEngineOptions(c
    .addOption(new Option('--task <task>', 'what to train').choices(['charlm', 'speech']).default('charlm'))
    .option('--corpus <name|path>', 'moby-dick, sotu or a UTF-8 text file (speech: the corpus folder)', 'moby-dick')
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
    .option('--lr <x>', 'learning rate', positive('--lr'), 2e-3)
    .option('--momentum <x>', 'SGD momentum', num('--momentum', 0, 1), 0.9)
    .option('--nesterov', 'Nesterov momentum (SGD)', false)
    .option('--weight-decay <x>', 'L2 weight decay', num('--weight-decay', 0), 0)
    .option('--clip <x>', 'clip the global gradient norm (0 = off)', num('--clip', 0), 5)
    .option('--lr-decay <x>', 'divide the learning rate by this after every epoch (DS2: 1.2)', num('--lr-decay', 1), 1)
    .addOption(new Option('--lr-schedule <kind>', 'epoch: --lr-decay after every epoch; cosine: from --lr down to 0 over all the run\'s steps (PyTorch\'s CosineAnnealingLR)')
      .choices(['epoch', 'cosine']).default('epoch'))
    .option('--warmup <steps>', 'raise the learning rate linearly over the first N steps, from 1/N of its scheduled value (0 = none)', int('--warmup', 0), 0)
    .option('--ema <decay>', 'validate and keep an exponential moving average of the weights: after step t, avg ← d·avg + (1 − d)·w with d = min(decay, (1 + t)/(10 + t)) (0 = off; 0.999 is usual)', num('--ema', 0, 0.99999), 0)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1234)
    .option('--eval-chars <n>', 'validation characters per evaluation (0 = all)', int('--eval-chars', 0), 0)
    .addOption(outOption('checkpoint file (reports are written next to it, named after it)', 'runs/model.ckpt'))
    .option('--resume', 'continue the run in --out (exactly where it stopped)', false)
    .option('--force', 'replace an existing --out checkpoint with a new run', false)
    .option('--init-from <checkpoint>', 'start from these weights/masks with a fresh optimizer (fine-tune, one-shot prune)')
    .addOption(new Option('--prune <method>', 'pruning during training').choices(PRUNE_METHODS as unknown as string[]).default('none'))
    .option('--prune-config <recipe.json>', 'pruning recipe (JSON); options below override it')
    .option('--target-sparsity <s>', 'final sparsity to reach (e.g. 0.9; needs --prune)', num('--target-sparsity', 0, 0.9999))
    .option('--phi-mult <m>', 'ramp slope φ = m·θ (paper: 1.5–2)', num('--phi-mult', 0))
    .option('--freq <n>', 'iterations between mask updates', int('--freq', 1))
    .option('--start-itr <n>', 'first pruning iteration', int('--start-itr', 0))
    .option('--ramp-itr <n>', 'iteration where the ramp slope starts', int('--ramp-itr', 0))
    .option('--end-itr <n>', 'iteration after which masks are frozen', int('--end-itr', 0))
    .option('--q <x>', 'q of Equation 1 (default: 90th percentile of |w| at start-itr)', num('--q', 0))
    .addOption(new Option('--revival <mode>', 'may pruned weights come back').choices(['paper', 'never']))
    .addOption(new Option('--sparse-training <mode>', 'once masks stop changing, train on sparse kernels: auto (where density ≤ 0.3), on, off')
      .choices(['auto', 'on', 'off']).default('auto'))
    .option('--hard-epoch <k>', 'hard pruning: prune after epoch k', int('--hard-epoch', 1))
    .option('--prune-embedding', 'also prune the embedding', false)
    .option('--prune-block <RxC>', 'block pruning: keep or drop RxC blocks (e.g. 1x4, 4x4, 8x1), scored by their largest |w|; per layer type as type=RxC[,type=RxC] (e.g. recurrent=4x1, within 2% of unstructured accuracy on the character model and the fastest such shape; other types prune single weights); default 1x1 (unstructured)', blockSpec('--prune-block'))
    .option('--quiet', 'no progress bar, engine line or pruner updates: results, warnings and errors only', false)
    .option('--mels <n>', 'speech: log-mel bands', int('--mels', 1), 40)
    .option('--lifter <n>', 'speech: smooth each log-mel frame across bands by keeping its first n cepstral (DCT) coefficients: removes a voice\'s pitch harmonics, keeps its formants (at most --mels; off by default)', int('--lifter', 1))
    .option('--stack <n>', 'speech: frames stacked per model input frame', int('--stack', 1), 3)
    .option('--stride <n>', 'speech: keep every n-th stacked frame (1-3)', int('--stride', 1, 3), 2)
    .addOption(new Option('--normalize <mode>', 'speech: feature normalisation: running (the training split\'s mean/std, stored with the model, then the ' +
      'utterance\'s running mean/std so far: adapts to the voice and channel, and transcription can stream), global (the training split\'s only), ' +
      'utterance (each utterance\'s own mean/std: whole files only), two-pass (running for a stream\'s partial text, utterance for whole files and a stream\'s final text; ' +
      'trains on half the utterances each way), none').choices(['running', 'global', 'utterance', 'two-pass', 'none']).default('running'))
    .option('--running-prior <frames>', `speech, --normalize running or two-pass: weight, in 10 ms frames, of the training statistics the running normaliser starts from (default ${DEFAULT_RUNNING.prior}: 1 s)`,
      num('--running-prior', 1, 100000))
    .option('--bidirectional', 'speech: bidirectional recurrent layers (the paper\'s RNN model: --cell rnn_clipped --bidirectional)', false)
    .option('--buckets <n>', 'speech: window lengths batches are padded to (memory vs padding)', int('--buckets', 1), 6)
    .option('--beam <n>', 'speech: beam width for validation decoding (0 = greedy)', int('--beam', 0), 0)
    .option('--vtlp <a>', 'speech: vocal tract length perturbation: stretch each training utterance\'s frequency axis by a factor in [1 − a, 1 + a] (0 = off; 0.1 is usual)', num('--vtlp', 0, 0.3))
    .option('--spec-augment <on|off|F,WF,T,WT>', `speech: SpecAugment masking of the training features (on = ${DEFAULT_SPEC_AUGMENT.freqMasks},${DEFAULT_SPEC_AUGMENT.freqWidth},${DEFAULT_SPEC_AUGMENT.timeMasks},${DEFAULT_SPEC_AUGMENT.timeWidth}: ` +
      'frequency masks, max mel bands each, time masks, max frames each; off by default: it slowed learning at our budget, RESULTS.md)', 'off'))
    .option('--sortagrad', 'speech: run the first epoch\'s batches shortest first, as Deep Speech 2 (later epochs stay shuffled)')
    .addHelpText('after', `\nWith --task speech, options not given default to: ${Object.entries(SPEECH_TRAIN_DEFAULTS)
      .map(([k, v]) => `${k} ${String(v)}${SPEECH_DENSE_ONLY.includes(k as keyof TrainCliOptions) ? ' (without --prune)' : ''}`).join(', ')}` +
      ' (--corpus is the corpus directory of "sparse-rnn data speech"; --embed, --seq-len and --eval-chars are not used).')
    .hook('preAction', (cmd) => {
      if (cmd.getOptionValue('task') !== 'speech') return;
      const pruning = isPruning(cmd.opts<TrainCliOptions>());
      for (const [k, v] of Object.entries(SPEECH_TRAIN_DEFAULTS))
        if (cmd.getOptionValueSource(k) === 'default' && !(pruning && SPEECH_DENSE_ONLY.includes(k as keyof TrainCliOptions)))
          cmd.setOptionValueWithSource(k, v, 'default');
    });
}

/** Options given on the command line (not defaults). */
type Given = (k: keyof TrainCliOptions) => boolean;

/**
 * Options that would be ignored are refused, with what to do instead: pruning options without
 * pruning, and, with --resume, model or data options that differ from the saved run.
 */
export function checkTrainOptions(o: TrainCliOptions, given: Given): { resumeFrom: LoadedCheckpoint | null; notes: string[] } {
  const notes: string[] = [];
  const pruning = isPruning(o);
  const otherTask = (o.task === 'speech' ? CHARLM_ONLY : SPEECH_ONLY).filter((k) => given(k));
  if (otherTask.length)
    throw new UsageError(`${otherTask.map(flag).join(', ')} only ${otherTask.length > 1 ? 'apply' : 'applies'} to ${o.task === 'speech' ? 'the character LM (--task charlm)' : '--task speech'}: drop ${otherTask.length > 1 ? 'them' : 'it'}${o.task === 'speech' ? '' : ', or add --task speech'}`);
  if (given('lifter') && o.lifter! > (o.mels ?? 40))
    throw new UsageError(`--lifter ${o.lifter} keeps more cepstral coefficients than there are log-mel bands (--mels ${o.mels ?? 40}): give at most ${o.mels ?? 40}`);
  if (given('runningPrior') && o.normalize !== 'running' && o.normalize !== 'two-pass')
    throw new UsageError(`--running-prior sets the running normaliser, which --normalize ${o.normalize} does not use: drop it, or use --normalize running or two-pass`);
  if (o.lrSchedule === 'cosine' && given('lrDecay') && o.lrDecay !== 1)
    throw new UsageError(`--lr-decay ${o.lrDecay} and --lr-schedule cosine both set the learning rate's decay: give one of them`);
  const resuming = o.resume && existsSync(o.out);
  if (o.resume && o.initFrom) throw new UsageError('--resume continues --out, --init-from starts a new run from other weights: give one of them');
  if (!pruning && !resuming) {
    const stray = PRUNE_ONLY.filter((k) => given(k));
    if (stray.length) throw new UsageError(`${stray.map(flag).join(', ')} only ${stray.length > 1 ? 'apply' : 'applies'} with pruning: add --prune narang (or agp, hard, oneshot) or --prune-config FILE, or drop ${stray.length > 1 ? 'them' : 'it'}`);
  }
  if (!resuming) {
    if (o.resume) notes.push(`${o.out} does not exist yet: starting a new run`);
    else refuseOverwrite(o.out, o);
    return { resumeFrom: null, notes };
  }
  const ck = loadCheckpoint(o.out, { task: o.task, purpose: `train --task ${o.task} --resume` });
  const c = ck.meta.config;
  const saved = (ck.meta.train?.options ?? {}) as { batch?: number; seqLen?: number; maxStepsPerEpoch?: number; seed?: number; epochs?: number; lrSchedule?: string };
  if (saved.lrSchedule === 'cosine' && given('epochs') && saved.epochs !== undefined && o.epochs !== saved.epochs)
    notes.push(`warning: ${o.out} follows a cosine learning rate over ${saved.epochs} epochs; with --epochs ${o.epochs} the cosine is redrawn over ${o.epochs} (the learning rate ${o.epochs > saved.epochs ? 'rises again' : 'falls faster'} from here)`);
  const feats = (ck.meta.features ?? {}) as { nMels?: number; lifter?: number; stack?: number; stride?: number; normalize?: unknown; running?: { prior?: number } };
  const savedNorm = feats.normalize === undefined || feats.normalize === true ? 'utterance' : feats.normalize === false ? 'none' : feats.normalize;
  if (o.task === 'speech' && given('runningPrior') && savedNorm !== 'running' && savedNorm !== 'two-pass')
    throw new UsageError(`--running-prior: ${o.out} normalises its features "${String(savedNorm)}", without the running normaliser: drop --running-prior`);
  const same: [keyof TrainCliOptions, unknown, unknown][] = [
    ['cell', o.cell, c.cell], ['layers', o.layers, c.numLayers], ['hidden', o.hidden, c.hiddenSize],
    ['batch', o.batch, saved.batch], ['maxSteps', o.maxSteps, saved.maxStepsPerEpoch ?? 0], ['seed', o.seed, saved.seed],
    ...(o.task === 'charlm'
      ? [['embed', o.embed, c.inputSize], ['seqLen', o.seqLen, saved.seqLen], ['dropout', o.dropout, c.dropout ?? 0]] as [keyof TrainCliOptions, unknown, unknown][]
      : [['bidirectional', !!o.bidirectional, c.bidirectional], ['mels', o.mels, feats.nMels], ['lifter', o.lifter, feats.lifter ?? feats.nMels], ['stack', o.stack, feats.stack], ['stride', o.stride, feats.stride], ['normalize', o.normalize, savedNorm],
        ['runningPrior', o.runningPrior, feats.running?.prior]] as [keyof TrainCliOptions, unknown, unknown][]),
  ];
  for (const [k, mine, theirs] of same)
    if (given(k) && theirs !== undefined && mine !== theirs)
      throw new UsageError(`${flag(k)} ${String(mine)} differs from the checkpoint's ${String(theirs)} (${o.out}): --resume continues the saved run as it was; drop ${flag(k)}, or start a new run with another -o/--out (or --force)`);
  const ignored = (['prune', 'pruneConfig', ...PRUNE_ONLY, 'optimizer', 'lr', 'momentum', 'nesterov', 'weightDecay', 'clip', 'lrDecay', 'lrSchedule', 'warmup', 'ema', 'evalChars', 'corpus',
    'buckets', 'beam', 'vtlp', 'specAugment', 'sortagrad'] as const).filter((k) => given(k));
  if (ignored.length) notes.push(`warning: --resume keeps the saved run's settings; ignoring ${ignored.map(flag).join(', ')}`);
  return { resumeFrom: ck, notes };
}

const EVAL_DESCRIPTIONS: Record<string, string> = {
  'test-synth': 'held-out synthesizer', 'valid-synth': 'validation synthesizer (festival, never trained on)', 'test-babble10': 'test voices, babble at 10 dB SNR', 'test-pink10': 'test voices, pink noise at 10 dB SNR',
  'valid-babble10': 'validation voices, babble at 10 dB SNR', 'valid-pink10': 'validation voices, pink noise at 10 dB SNR',
};

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'n/a');

/** Progress fields every task shows: sparsity and the largest ε while pruning, and the sparse phase once on. */
function pruneFields(p: Pruner | null, t?: { sparsePhase: { event: SparsePhaseEvent | null } | null }): Record<string, string> {
  const f: Record<string, string> = {};
  if (p) {
    f.sparsity = (100 * p.sparsity().overall).toFixed(1) + '%';
    const eps = Object.values(p.epsilons()).filter((x): x is number => x !== undefined);
    if (eps.length && !t?.sparsePhase?.event) f.ε = Math.max(...eps).toPrecision(3);
  }
  const ev = t?.sparsePhase?.event;
  if (ev) f.masks = ev.sparse.length ? `frozen, sparse kernels since itr ${ev.itr}` : `frozen since itr ${ev.itr}`;
  return f;
}

/** Per-step progress shared by the tasks: the bar restarts at every epoch (counted from 1). */
function stepProgress(progress: Progress, epochs: () => number) {
  let started = false;
  return {
    step(e: StepBase, fields: Record<string, string>): void {
      if (!started || e.step === 0) {
        progress.start(e.stepsPerEpoch, `epoch ${e.epoch + 1}/${epochs()}`);
        started = true;
      }
      progress.update(e.step + 1, fields);
    },
    epochDone(): void {
      progress.stop();
      started = false;
    },
  };
}

/** The library's log lines: the pruner's per-update notes unless --quiet; the rest (warnings, resume, interruption) always. */
const libraryLog = (progress: Progress) => (s: string): void => (s.startsWith('prune ') ? progress.info(s) : progress.log(s));

export async function trainFromCli(o: TrainCliOptions, given: Given): Promise<boolean> {
  const progress = createProgress(process.stderr, o.quiet);
  const { notes } = checkTrainOptions(o, given);
  for (const n of notes) (n.startsWith('warning') ? progress.log : progress.info)(n);
  // The engine is made (and described) once the inputs are known to be good.
  let engine: Engine | null = null;
  const makeEngine = async (resumed: { variant?: Engine['variant'] }): Promise<Engine> => (engine = await commandEngine(o, resumed));
  const { signal, dispose } = stopOnSignals(progress);
  const optimizer = o.optimizer === 'adam'
    ? { kind: 'adam' as const, lr: o.lr, weightDecay: o.weightDecay }
    : { kind: 'sgd' as const, lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay };
  // A cosine schedule replaces the per-epoch decay (the speech defaults' 1.1 included).
  const lrDecay = o.lrSchedule === 'cosine' ? 1 : o.lrDecay;
  const loop = { epochs: o.epochs, clip: o.clip, lrDecay, lrSchedule: o.lrSchedule, warmupSteps: o.warmup, ema: o.ema, seed: o.seed, maxStepsPerEpoch: o.maxSteps, optimizer };
  const common = {
    checkpoint: o.out, resume: o.resume, initFrom: o.initFrom, prune: recipeFromOptions(o), engine: makeEngine, signal,
    log: libraryLog(progress), sparseTraining: o.sparseTraining,
  };
  let res: { completed: boolean; alreadyFinished: boolean; trainer: Trainer<Task<LoopOptions, unknown, object, object>>; pruner: Pruner | null; engine: Engine };
  try {
    if (o.task === 'speech') {
      const sp = stepProgress(progress, () => o.epochs);
      let busy = 0, audio = 0, featStart = 0, announced = false;
      const r = await runSpeech({
        ...common, data: o.corpus, cell: o.cell, layers: o.layers, hidden: o.hidden, bidirectional: !!o.bidirectional, dropout: o.dropout,
        features: {
          nMels: o.mels ?? 40, stack: o.stack ?? 3, stride: o.stride ?? 2, normalize: o.normalize ?? 'running',
          ...(o.lifter !== undefined && o.lifter !== (o.mels ?? 40) ? { lifter: o.lifter } : {}),
          ...(o.runningPrior !== undefined ? { running: { ...DEFAULT_RUNNING, prior: o.runningPrior } } : {}),
        },
        train: { ...loop, batch: o.batch, buckets: o.buckets ?? 6, beam: o.beam ?? 0, evalKernels: o.kernels, specAugment: parseSpecAugment(o.specAugment ?? 'off'), vtlp: o.vtlp ?? 0, sortaGrad: !!o.sortagrad },
        onFeatures: (split, done, total) => {
          if (done === 1) {
            featStart = performance.now();
            progress.start(total, `features ${split}`);
          }
          progress.update(done, {});
          if (done === total) {
            progress.stop();
            progress.info(`features ${split}: ${total} utterances in ${((performance.now() - featStart) / 1000).toFixed(1)} s (cached for next time)`);
          }
        },
        onStep: (e, t, p) => {
          if (!announced) {
            announced = true;
            const m = t.model, task = t.task;
            progress.info(`model: ${m.config.cell}${m.config.bidirectional ? ' bidirectional' : ''} ${m.config.numLayers}x${m.config.hiddenSize}, ` +
              `${m.config.inputSize} inputs, ${m.parameterCount()} parameters; ${task.train.utterances.length} training utterances, ` +
              `${task.valid?.utterances.length ?? 0} validation; batch ${t.opts.batch}, windows [${task.buckets.join(', ')}] frames`);
          }
          if (e.step === 0) audio = busy = 0;
          audio += e.audioSeconds;
          busy += e.ms / 1000;
          sp.step(e, { loss: e.loss.toFixed(3), speed: `${(audio / busy).toFixed(0)}x realtime`, ...pruneFields(p, t) });
        },
        onEpoch: (e, t) => {
          sp.epochDone();
          progress.log(`epoch ${e.epoch}/${t.opts.epochs}: train loss ${e.trainLoss.toFixed(4)}, valid loss ${e.validLoss.toFixed(4)}, ` +
            `valid CER ${pct(e.validCer)} WER ${pct(e.validWer)}` + (e.sparsity !== null ? `, sparsity ${pct(e.sparsity)}` : '') +
            `, padding ${pct(e.padding)}, ${e.seconds.toFixed(1)} s (eval ${e.evalSeconds.toFixed(1)} s)`);
        },
      });
      if (r.completed && r.test) {
        progress.log(`test (held-out voices, ${r.test.utterances} utterances): CER ${pct(r.test.cer)}, WER ${pct(r.test.wer)}`);
        for (let i = 0; i < Math.min(3, r.test.refs.length); i++) progress.log(`  ref: ${r.test.refs[i]}\n  hyp: ${r.test.hyps[i]}`);
      }
      for (const [name, e] of Object.entries(r.evals))
        if (name !== 'test' && e) progress.log(`${name} (${EVAL_DESCRIPTIONS[name] ?? 'evaluation split'}, ${e.utterances} utterances): CER ${pct(e.cer)}, WER ${pct(e.wer)}`);
      res = r as unknown as typeof res;
    } else {
      const sp = stepProgress(progress, () => o.epochs);
      let emaMs = 0;
      const r = await runCharLM({
        ...common, corpus: o.corpus, cell: o.cell, layers: o.layers, hidden: o.hidden, embed: o.embed, dropout: o.dropout,
        train: { ...loop, batch: o.batch, seqLen: o.seqLen, evalChars: o.evalChars },
        onStep: (e, t, p) => {
          emaMs = emaMs ? 0.9 * emaMs + 0.1 * e.ms : e.ms; // smoothed step time
          sp.step(e, {
            loss: (e.loss / Math.LN2).toFixed(3) + ' bpc',
            speed: `${Math.round((t.opts.batch * t.opts.seqLen) / (emaMs / 1000))} char/s`,
            ...pruneFields(p, t),
          });
        },
        onEpoch: (e, t, p) => {
          sp.epochDone();
          progress.log(`epoch ${e.epoch}/${t.opts.epochs}: train ${e.trainBpc.toFixed(4)} bpc, valid ${e.validBpc.toFixed(4)} bpc` +
            (p ? `, sparsity ${(100 * p.sparsity().overall).toFixed(2)}%` : '') + `, ${e.seconds.toFixed(1)} s`);
        },
      });
      res = r as unknown as typeof res;
    }
  } finally {
    dispose();
    await (engine as Engine | null)?.close();
  }
  if (!res.completed) {
    process.exitCode = 130;
    return false;
  }
  if (res.alreadyFinished) {
    progress.log(`${o.out}: this run is already finished (${res.trainer.state.epoch} epochs); nothing trained. Raise --epochs to continue it, or start a new run with --force or another -o/--out.`);
    return true;
  }
  const reportFiles = await writeReports(o.out, res.trainer, res.engine);
  if (res.pruner) {
    progress.info(formatReportTable(res.pruner.report()));
    for (const w of res.pruner.targetCheck().warnings) progress.log(`warning: ${w}`);
  }
  progress.log(`checkpoint: ${o.out}; reports: ${reportFiles.join(', ')}`);
  if (o.task === 'speech')
    progress.info(`transcribe with: sparse-rnn transcribe ${o.out} file.wav  (or export to .srnn first: sparse-rnn export ${o.out} -o model.srnn)`);
  return true;
}

export function registerTrainCommands(program: Command): void {
  addTrainOptions(program.command('train').description('train a model (character LM by default, --task speech for speech), optionally pruning it'))
    .action(action(async (o: TrainCliOptions, cmd: Command) => {
      await trainFromCli(o, (k) => cmd.getOptionValueSource(k) === 'cli');
    }));

  addEngineOptions(program.command('eval')
    .description('bits per character of a character-LM checkpoint on a split of its corpus')
    .argument('<checkpoint>', 'checkpoint written by `sparse-rnn train` or `sparse-rnn import`')
    .addOption(new Option('--split <name>', 'which split of the corpus to score (90/5/5 as the reference)').choices(['valid', 'test', 'train']).default('valid'))
    .option('--corpus <name|path>', 'override the corpus recorded in the checkpoint')
    .option('--eval-chars <n>', 'score only the first n characters of the split, as train --eval-chars does (0 = all)', int('--eval-chars', 0), 0))
    .addOption(new Option('--weights <which>', 'a run trained with --ema: score its average (the checkpoint\'s weights) or the last weights it trained').choices(['average', 'trained']).default('average'))
    .option('--quiet', 'print only the result', false)
    .action(action(async (file: string, o: { split: 'valid' | 'test' | 'train'; corpus?: string; evalChars: number; weights: 'average' | 'trained'; kernels: KernelChoice; threads?: number; quiet: boolean }) => {
      const loaded = loadCheckpoint(file, { task: 'charlm', purpose: 'eval' });
      const ck = o.weights === 'trained' ? trainedWeightsOf(loaded) : loaded;
      const model = modelOf(ck, (await commandEngine(o)).kernels);
      const corpus = loadCharCorpus(o.corpus ?? ck.meta.corpus ?? 'moby-dick', ck.meta.vocab);
      const data = corpus[o.split];
      const bpc = evaluateBpc(model, data, 1000, o.evalChars);
      const scored = o.evalChars > 0 ? Math.min(o.evalChars, data.length - 1) : data.length - 1;
      process.stdout.write(`${o.split} bits/char: ${bpc.toFixed(4)} (${scored} predictions${scored < data.length - 1 ? ` of ${data.length - 1}` : ''}, ${model.nonZeroCount()} non-zero parameters of ${model.parameterCount()})\n`);
    }));

  addEngineOptions(program.command('sample')
    .description('generate text from a character-LM checkpoint')
    .argument('<checkpoint>', 'checkpoint written by `sparse-rnn train` or `sparse-rnn import`'))
    .option('--prompt <text>', 'text to start from', 'The whale ')
    .option('--length <n>', 'characters to generate', int('--length', 1), 300)
    .option('--temperature <t>', 'softmax temperature (0 = greedy)', num('--temperature', 0, 100), 0.8)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1)
    .option('--quiet', 'print only the text', false)
    .action(action(async (file: string, o: { prompt: string; length: number; temperature: number; seed: number; kernels: KernelChoice; threads?: number; quiet: boolean }) => {
      const ck = loadCheckpoint(file, { task: 'charlm', purpose: 'sample' });
      if (!ck.meta.vocab) throw new UsageError(`${file}: has no vocabulary; import it with --vocab-file to sample from it`);
      const model = modelOf(ck, (await commandEngine(o)).kernels);
      process.stdout.write(o.prompt + sampleText(model, ck.meta.vocab, o) + '\n');
    }));
}

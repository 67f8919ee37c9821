// Speech training (CTC, DS2-style): learning on a synthetic "phoneme template" task that needs no
// synthesizer, checkpoint round trip, bit-exact resume (with pruning), transcription of WAV files
// through the dense checkpoint and the sparse .srnn runtime, the CLI, and (when flite, espeak-ng
// and sox are installed) a smoke run of the whole pipeline on a few synthesized utterances.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { RNNModel } from '../src/nn/model.js';
import type { ModelConfig } from '../src/nn/config.js';
import { Rng } from '../src/util/rng.js';
import { VOCAB, VOCAB_SIZE, encodeText, type SpeechSplit, type SpeechUtterance } from '../src/data/speech/dataset.js';
import { encodeWav16 } from '../src/data/speech/wav.js';
import { applyCheckpoint, loadCheckpoint, maskedWeights, saveCheckpoint } from '../src/train/checkpoint.js';
import { exportModel } from '../src/sparse/export.js';
import {
  denseRecognizer, evaluateSpeech, lengthBuckets, loadSpeechModel, resolveFeatureSettings, runSpeech, transcribeFiles,
  wavToModelFeatures, type SpeechRunOptions, type SpeechStepEvent,
} from '../src/train/speech.js';
import { writeReports } from '../src/train/reports.js';
import { decodeLogits } from '../src/sparse/transcribe.js';
import type { PruneRecipe } from '../src/prune/index.js';
import { Command } from 'commander';
import { SPEECH_TRAIN_DEFAULTS, addTrainOptions, checkTrainOptions, type TrainCliOptions } from '../src/cli/commands/train.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'sparse-rnn.js');
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// A synthetic CTC task: every character has a fixed random "phoneme" template of F features; an
// utterance is its characters' templates held for 2–4 frames each, one noisy silence frame
// between characters, silence around, plus noise.

const F = 12;
const LETTERS = ['a', 'b', 'c', 'd', 'e'];

function templates(seed: number): Map<string, Float32Array> {
  const r = new Rng(seed);
  const m = new Map<string, Float32Array>();
  for (const c of [...LETTERS, ' ']) m.set(c, Float32Array.from({ length: F }, () => 1.5 * r.normal()));
  return m;
}

function synthUtterances(n: number, seed: number): SpeechUtterance[] {
  const r = new Rng(seed);
  const tpl = templates(7);
  const out: SpeechUtterance[] = [];
  for (let i = 0; i < n; i++) {
    const words: string[] = [];
    const nw = 1 + Math.floor(r.next() * 2);
    for (let w = 0; w < nw; w++) {
      let s = '';
      const nc = 1 + Math.floor(r.next() * 3);
      for (let c = 0; c < nc; c++) s += LETTERS[Math.floor(r.next() * LETTERS.length)];
      words.push(s);
    }
    const text = words.join(' ');
    const frames: Float32Array[] = [];
    const silence = (): void => void frames.push(Float32Array.from({ length: F }, () => 0.3 * r.normal()));
    silence();
    silence();
    for (const ch of text) {
      const d = 2 + Math.floor(r.next() * 3);
      for (let k = 0; k < d; k++) frames.push(Float32Array.from(tpl.get(ch)!, (v) => v + 0.3 * r.normal()));
      silence();
    }
    silence();
    const feats = new Float32Array(frames.length * F);
    frames.forEach((f, t) => { feats.set(f, t * F); });
    out.push({ id: `u${i}`, text, labels: encodeText(text), feats, T: frames.length, speaker: 'synthetic', voice: 'synthetic' });
  }
  return out;
}

const split = (name: 'train' | 'valid' | 'test', utterances: SpeechUtterance[]): SpeechSplit =>
  ({ split: name, F, utterances, cached: false, cacheFile: '' });

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'srnn-speech-'));
}

function baseOptions(dir: string, over: Partial<SpeechRunOptions> = {}): SpeechRunOptions {
  const train = split('train', synthUtterances(48, 1));
  const valid = split('valid', synthUtterances(12, 2));
  return {
    data: '(synthetic)', splits: { train, valid, test: null },
    cell: 'gru', layers: 1, hidden: 32, bidirectional: false, dropout: 0,
    features: { nMels: F, stack: 1, stride: 1 },
    train: { epochs: 2, batch: 8, seed: 5, clip: 5, lrDecay: 1, buckets: 3, optimizer: { kind: 'adam', lr: 1e-2 } },
    checkpoint: join(dir, 'model.ckpt'), resume: false, prune: null, kernels: 'auto',
    ...over,
  };
}

function paramsOf(m: RNNModel): Map<string, Float32Array> {
  return new Map(m.params.map((p) => [p.name, Float32Array.from(p.data)]));
}

test('lengthBuckets: at most k windows, the longest last, least padding', () => {
  assert.deepEqual(lengthBuckets([], 3, 2), []);
  assert.deepEqual(lengthBuckets([5, 1, 3], 1, 1), [5]);
  // Batches of 2 from sorted [1,2,3,4,10,11]: maxima 2, 4, 11; with 3 windows each is exact.
  assert.deepEqual(lengthBuckets([10, 1, 4, 2, 11, 3], 3, 2), [2, 4, 11]);
  // With 2 windows: {2,4 → 4, 11} (cost 4+4+11) beats {2, 4,11 → 11} (2+11+11).
  assert.deepEqual(lengthBuckets([10, 1, 4, 2, 11, 3], 2, 2), [4, 11]);
  const b = lengthBuckets(Array.from({ length: 100 }, (_, i) => 10 + ((i * 37) % 90)), 4, 8);
  assert.ok(b.length <= 4 && b[b.length - 1] === 99);
});

test('resolveFeatureSettings: defaults and validation', () => {
  const s = resolveFeatureSettings({});
  assert.equal(s.nMels, 40);
  assert.equal(s.stack, 3);
  assert.equal(s.stride, 2);
  assert.throws(() => resolveFeatureSettings({ stride: 4 }), /stride/);
  assert.throws(() => resolveFeatureSettings({ kind: 'mfcc' as 'logmel' }), /logmel/);
  assert.equal(resolveFeatureSettings({ lifter: 16 }).lifter, 16);
  assert.throws(() => resolveFeatureSettings({ lifter: 41 }), /features\.lifter: expected an integer in \[1, 40\]/);
  assert.throws(() => resolveFeatureSettings({ nMels: 20, lifter: 0 }), /lifter/);
});

test('CTC training learns the synthetic phoneme task: loss falls, greedy CER on the training set is low', async () => {
  const dir = tmp();
  try {
    const losses: number[] = [];
    const t0 = performance.now();
    const o = baseOptions(dir);
    o.train = { ...o.train, epochs: 80 };
    const r = await runSpeech({ ...o, onStep: (e: SpeechStepEvent) => void losses.push(e.loss) });
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(r.completed);
    const first = losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const last = losses.slice(-6).reduce((a, b) => a + b, 0) / 6;
    const ev = evaluateSpeech(denseRecognizer(r.model), r.splits.train.utterances);
    const hist = r.trainer.state.history;
    console.log(`# synthetic task: ${losses.length} steps in ${seconds.toFixed(1)} s; loss ${first.toFixed(3)} → ${last.toFixed(3)}; ` +
      `train CER ${(100 * ev.cer).toFixed(1)}%, valid CER ${(100 * hist[hist.length - 1].validCer).toFixed(1)}%`);
    assert.ok(last < 0.25 * first, `loss should fall substantially: ${first} → ${last}`);
    assert.ok(ev.cer < 0.15, `greedy CER on the training examples ${ev.cer}`);
    assert.equal(hist.length, 80);
    assert.ok(hist[hist.length - 1].validCer < hist[0].validCer);
    // Reports.
    const files = await writeReports(o.checkpoint, r.trainer, r.engine);
    for (const f of ['model.report.json', 'model.curves.svg', 'model.loss.svg']) assert.ok(files.includes(join(dir, f)), f);
    const rep = JSON.parse(readFileSync(join(dir, 'model.report.json'), 'utf8')) as { task: string; history: unknown[]; features: { nMels: number }; kernels: { variant: string; threads: number } };
    assert.equal(rep.task, 'speech');
    assert.deepEqual(rep.kernels, { variant: r.engine.variant, threads: r.engine.threads });
    assert.equal(rep.history.length, 80);
    assert.equal(rep.features.nMels, F);
    // Checkpoint → load → identical outputs.
    const ck = loadCheckpoint(o.checkpoint);
    assert.equal(ck.meta.task, 'speech');
    assert.deepEqual(ck.meta.vocab, [...VOCAB]);
    assert.deepEqual(resolveFeatureSettings(ck.meta.features), r.features);
    const m2 = new RNNModel(ck.meta.config, r.model.k); // the kernels it trained on: outputs equal bit for bit
    applyCheckpoint(m2, ck);
    const a = denseRecognizer(r.model), b = denseRecognizer(m2);
    for (const u of r.splits.valid!.utterances.slice(0, 4)) assert.deepEqual(b.logits(u.feats, u.T), a.logits(u.feats, u.T));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume is exact: N steps straight = N/2, Ctrl-C checkpoint, resume, N/2 (with pruning)', async () => {
  const prune: PruneRecipe = { method: 'agp', targetSparsity: 0.6, agp: { startItr: 2, endItr: 10, freq: 2 } };
  const d1 = tmp(), d2 = tmp();
  try {
    // 2 epochs × 6 steps; stop after step 8 (itr 7: inside the second epoch).
    const straight = await runSpeech(baseOptions(d1, { prune }));
    assert.ok(straight.completed);
    assert.equal(straight.trainer.state.itr, 12);
    const signal = { stop: false };
    const half = await runSpeech(baseOptions(d2, { prune, signal, onStep: (e) => void (e.itr === 7 && (signal.stop = true)) }));
    assert.equal(half.completed, false);
    assert.equal(half.trainer.state.itr, 8);
    const resumed = await runSpeech(baseOptions(d2, { prune, resume: true }));
    assert.ok(resumed.completed);
    assert.equal(resumed.trainer.state.itr, 12);
    const A = paramsOf(straight.model), B = paramsOf(resumed.model);
    for (const [name, w] of A) assert.deepEqual(B.get(name), w, name);
    assert.ok(straight.pruner!.sparsity().overall > 0.5);
    assert.deepEqual(resumed.pruner!.state().history, straight.pruner!.state().history);
    const strip = (h: { seconds: number; evalSeconds: number }[]): unknown => h.map(({ seconds: _s, evalSeconds: _e, ...rest }) => rest);
    assert.deepEqual(strip(resumed.trainer.state.history), strip(straight.trainer.state.history));
  } finally {
    rmSync(d1, { recursive: true, force: true });
    rmSync(d2, { recursive: true, force: true });
  }
});

test('--ema: training is unchanged, validation and the finished model are the masked average; the checkpoint holds both; resume is exact', async () => {
  const prune: PruneRecipe = { method: 'agp', targetSparsity: 0.6, agp: { startItr: 2, endItr: 10, freq: 2 } };
  const decay = 0.5; // the warm-up's (1 + t)/(10 + t) below it up to t = 7, capped from t = 8
  const d0 = tmp(), d1 = tmp(), d2 = tmp();
  try {
    // Without the average, the weights after every step and the masks at the end.
    const steps: Map<string, Float32Array>[] = [];
    const plain = await runSpeech(baseOptions(d0, { prune, onStep: (_e, t) => void steps.push(paramsOf(t.model)) }));
    assert.equal(steps.length, 12);
    const ema = (o: Partial<SpeechRunOptions> = {}): SpeechRunOptions => {
      const b = baseOptions(d1, { prune, ...o });
      return { ...b, train: { ...b.train, ema: decay } };
    };
    const straight = await runSpeech(ema());
    // The same training: the loss of every epoch, the weights being trained (saved as optimizer state).
    assert.deepEqual(straight.trainer.state.history.map((h) => h.trainLoss), plain.trainer.state.history.map((h) => h.trainLoss));
    const ck = loadCheckpoint(join(d1, 'model.ckpt'));
    const last = paramsOf(plain.model);
    for (const [name, w] of last) assert.deepEqual(ck.tensors.get(`optim.${name}.train`)!.data, w, name);
    // The average: a copy after the first step, then d·avg + (1 − d)·w with d = min(decay, (1 + t)/(10 + t)); masked.
    const avg = new Map([...steps[0]].map(([k, v]) => [k, Float32Array.from(v)]));
    for (let t = 1; t < steps.length; t++) {
      const d = Math.min(decay, (1 + t) / (10 + t));
      for (const [k, a] of avg) for (let j = 0; j < a.length; j++) a[j] = d * a[j] + (1 - d) * steps[t].get(k)![j];
    }
    const masks = new Map(plain.model.params.map((q) => [q.name, q.maskData ? Float32Array.from(q.maskData) : null]));
    for (const [k, a] of avg) if (masks.get(k)) for (let j = 0; j < a.length; j++) a[j] *= masks.get(k)![j];
    const finished = paramsOf(straight.model);
    let differs = false;
    for (const [k, a] of avg) {
      assert.deepEqual(finished.get(k), a, k);
      differs ||= a.some((x, j) => x !== last.get(k)![j]);
    }
    assert.ok(differs, 'the average differs from the last weights');
    // Readers of the checkpoint get the average (masked as stored).
    // (maskedWeights writes +0 where a mask is 0; the model's w·mask can give −0.)
    for (const [k, w] of maskedWeights(ck)) assert.ok(w.every((x, j) => x === avg.get(k)![j]), k);
    // Validation scored the average: other losses than the plain run's.
    assert.notDeepEqual(straight.trainer.state.history.map((h) => h.validLoss), plain.trainer.state.history.map((h) => h.validLoss));
    // Interrupted inside the second epoch and resumed: the same model, average and history.
    const signal = { stop: false };
    const half = await runSpeech({ ...ema({ signal, onStep: (e) => void (e.itr === 7 && (signal.stop = true)) }), checkpoint: join(d2, 'model.ckpt') });
    assert.equal(half.completed, false);
    const resumed = await runSpeech({ ...ema({ resume: true }), checkpoint: join(d2, 'model.ckpt') });
    assert.ok(resumed.completed);
    for (const [k, w] of paramsOf(resumed.model)) assert.deepEqual(w, finished.get(k), k);
    const strip = (h: { seconds: number; evalSeconds: number }[]): unknown => h.map(({ seconds: _s, evalSeconds: _e, ...rest }) => rest);
    assert.deepEqual(strip(resumed.trainer.state.history), strip(straight.trainer.state.history));
  } finally {
    for (const d of [d0, d1, d2]) rmSync(d, { recursive: true, force: true });
  }
});

test('train --task speech: the weight average is a default of dense runs only; an explicit --ema always wins', () => {
  const parsed = (...args: string[]): { ema: number } => {
    let o: { ema: number } | undefined;
    addTrainOptions(new Command('train')).exitOverride().action((x: { ema: number }) => void (o = x)).parse(args, { from: 'user' });
    return o!;
  };
  assert.equal(parsed('--task', 'speech').ema, SPEECH_TRAIN_DEFAULTS.ema);
  assert.equal(parsed('--task', 'speech', '--prune', 'narang', '--target-sparsity', '0.9').ema, 0);
  assert.equal(parsed('--task', 'speech', '--prune', 'narang', '--ema', '0.99').ema, 0.99);
  assert.equal(parsed('--task', 'speech', '--ema', '0').ema, 0);
  assert.equal(parsed().ema, 0); // the character LM
});

test('train --task speech --resume: the augmentation options the saved run keeps are named as ignored when given', async () => {
  const d = tmp();
  try {
    await runSpeech(baseOptions(d, { train: { ...baseOptions(d).train, epochs: 1 } }));
    const o = { task: 'speech', resume: true, out: join(d, 'model.ckpt'), prune: 'none', lrSchedule: 'step', vtlp: 0.1, specAugment: 'on' } as unknown as TrainCliOptions;
    const given = new Set<string>(['vtlp', 'specAugment']);
    const { resumeFrom, notes } = checkTrainOptions(o, (k) => given.has(k));
    assert.ok(resumeFrom);
    assert.deepEqual(notes, ["warning: --resume keeps the saved run's settings; ignoring --vtlp, --spec-augment"]);
    assert.deepEqual(checkTrainOptions(o, () => false).notes, []);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('--sortagrad: the first epoch runs its batches shortest first, later epochs as without it; a resume inside that epoch stays sorted', async () => {
  const d1 = tmp(), d2 = tmp(), d3 = tmp();
  try {
    const framesPerStep = async (dir: string, over: Partial<SpeechRunOptions['train']>): Promise<number[][]> => {
      const T: number[][] = [[], []];
      const o = baseOptions(dir);
      await runSpeech({ ...o, train: { ...o.train, ...over }, onStep: (e: SpeechStepEvent) => void T[e.epoch].push(e.frames) });
      return T;
    };
    // Frames per step: 48 utterances in 6 full batches, so a shortest-first epoch has them ascending.
    const plain = await framesPerStep(d1, {}), sorted = await framesPerStep(d2, { sortaGrad: true });
    const ascending = (xs: number[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
    assert.ok(!ascending(plain[0]), `without it the first epoch is shuffled: ${plain[0]}`);
    assert.ok(ascending(sorted[0]), `with it the first epoch is shortest first: ${sorted[0]}`);
    assert.deepEqual([...sorted[0]].sort((a, b) => a - b), [...plain[0]].sort((a, b) => a - b), 'the same batches, in another order');
    assert.deepEqual(sorted[1], plain[1], 'the second epoch as without it');
    // Stopped after 3 steps of the sorted epoch and resumed: the same weights as straight through.
    const o = baseOptions(d3);
    const train = { ...o.train, sortaGrad: true }, signal = { stop: false };
    const half = await runSpeech({ ...o, train, signal, onStep: (e) => void (e.itr === 2 && (signal.stop = true)) });
    assert.equal(half.completed, false);
    const resumed = await runSpeech({ ...o, train, resume: true });
    const straight = await runSpeech({ ...baseOptions(d1), train, checkpoint: join(d1, 'straight.ckpt') });
    for (const [name, w] of paramsOf(straight.model)) assert.deepEqual(paramsOf(resumed.model).get(name), w, name);
  } finally {
    for (const d of [d1, d2, d3]) rmSync(d, { recursive: true, force: true });
  }
});

test('--init-from for speech: the weights and masks of a checkpoint, a fresh optimizer and schedule; the wrong task is refused', async () => {
  const d1 = tmp(), d2 = tmp();
  try {
    const first = await runSpeech(baseOptions(d1, { prune: { method: 'oneshot', oneshot: { targetSparsity: 0.5 } } }));
    assert.ok(first.completed);
    const logs: string[] = [];
    const tuned = await runSpeech(baseOptions(d2, { initFrom: join(d1, 'model.ckpt'), log: (l) => void logs.push(l) }));
    assert.ok(tuned.completed);
    assert.equal(tuned.trainer.state.itr, first.trainer.state.itr, 'a fresh schedule: counted from 0');
    assert.ok(logs.some((l) => /initialised from .*model\.ckpt/.test(l)), logs.join('\n'));
    // The masks came along: pruned weights stay zero through fine-tuning.
    const w = tuned.model.byName.get('rnn.weight_hh_l0')!;
    assert.ok(w.maskData, 'mask loaded');
    for (let i = 0; i < w.size; i++) if (!w.maskData![i]) assert.ok(w.data[i] === 0, `pruned weight ${i} regrew: ${w.data[i]}`);
    // A character-LM checkpoint is not a speech model.
    const lm = join(d2, 'lm.ckpt');
    await saveCheckpoint(lm, new RNNModel({ cell: 'gru', inputSize: 4, hiddenSize: 4, numLayers: 1, bidirectional: false, vocabSize: 3, outputSize: 3 }, createKernels(new Heap(), 'ts')), { task: 'charlm', vocab: ['a', 'b', 'c'] });
    await assert.rejects(runSpeech(baseOptions(join(d2, 'x'), { initFrom: lm })), /lm\.ckpt: task: is a character-LM checkpoint, not a speech model/);
  } finally {
    rmSync(d1, { recursive: true, force: true });
    rmSync(d2, { recursive: true, force: true });
  }
});

test('a missing corpus gives a clear error pointing at "sparse-rnn data speech"', async () => {
  const dir = tmp();
  try {
    const o = baseOptions(dir, { data: join(dir, 'nothing-here') });
    delete o.splits;
    await assert.rejects(runSpeech(o), /manifest\.json not found.*sparse-rnn data speech/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Transcription

function testWav(seconds: number, rate: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    x[i] = 0.3 * Math.sin(2 * Math.PI * (200 + 600 * t) * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)) + 0.02 * r.normal();
  }
  return encodeWav16(x, rate);
}

test('transcribe: a .ckpt on the dense model and its .srnn export on the sparse runtime agree with the direct pipeline', async () => {
  const dir = tmp();
  try {
    const features = resolveFeatureSettings({ nMels: 16, stack: 2, stride: 2 });
    const config: ModelConfig = { cell: 'gru', inputSize: 32, hiddenSize: 24, numLayers: 2, bidirectional: false, outputSize: VOCAB_SIZE };
    const model = new RNNModel(config, createKernels(new Heap(), 'auto'));
    model.init(3);
    // Make some weights zero so the .srnn has CSR matrices.
    for (const p of model.params) if (p.kind === 'recurrent') { const d = p.data; for (let i = 0; i < d.length; i++) if (i % 5) d[i] = 0; }
    const ckpt = join(dir, 'm.ckpt');
    await saveCheckpoint(ckpt, model, { task: 'speech', vocab: [...VOCAB], corpus: 'x', features });
    const srnn = join(dir, 'm.srnn');
    writeFileSync(srnn, exportModel(config, paramsOf(model), { values: 'fp32', extra: { task: 'speech', vocab: [...VOCAB], features } }));
    const wavs = [join(dir, 'a.wav'), join(dir, 'b.wav')];
    writeFileSync(wavs[0], testWav(0.8, 16000, 1));
    writeFileSync(wavs[1], testWav(1.1, 22050, 2)); // resampled to 16 kHz by the front end

    const direct = wavs.map((w) => {
      const f = wavToModelFeatures(readFileSync(w), w, features);
      assert.equal(f.F, 32);
      const y = denseRecognizer(model).logits(f.feats, f.T);
      return { text: decodeLogits(y, f.T, VOCAB), y, T: f.T };
    });
    const dense = await loadSpeechModel(ckpt, createKernels(new Heap(), 'auto'));
    assert.equal(dense.format, 'ckpt');
    const sparse = await loadSpeechModel(srnn, createKernels(new Heap(), 'auto'));
    assert.equal(sparse.format, 'srnn');
    const rd = await transcribeFiles(dense, wavs), rs = await transcribeFiles(sparse, wavs);
    wavs.forEach((w, i) => {
      assert.equal(rd[i].text, direct[i].text);
      assert.equal(rs[i].text, direct[i].text);
      assert.equal(rd[i].frames, direct[i].T);
      const f = wavToModelFeatures(readFileSync(w), w, features);
      const ys = sparse.recognizer.logits(f.feats, f.T);
      let maxErr = 0;
      for (let j = 0; j < ys.length; j++) maxErr = Math.max(maxErr, Math.abs(ys[j] - direct[i].y[j]));
      assert.ok(maxErr < 1e-4, `sparse vs dense logits differ by ${maxErr}`);
    });

    // The CLI prints one transcript per file (file<TAB>text when several).
    const one = await run(process.execPath, [BIN, 'transcribe', srnn, wavs[0]]);
    assert.equal(one.stdout, `${direct[0].text}\n`);
    const two = await run(process.execPath, [BIN, 'transcribe', ckpt, ...wavs]);
    assert.equal(two.stdout, wavs.map((w, i) => `${w}\t${direct[i].text}\n`).join(''));
    // A character-LM checkpoint is refused with a clear message.
    const lm = join(dir, 'lm.ckpt');
    const lmModel = new RNNModel({ cell: 'gru', inputSize: 8, hiddenSize: 8, numLayers: 1, bidirectional: false, vocabSize: 5, outputSize: 5 }, createKernels(new Heap(), 'ts'));
    await saveCheckpoint(lm, lmModel, { task: 'charlm', vocab: ['a', 'b', 'c', 'd', 'e'] });
    await assert.rejects(loadSpeechModel(lm, createKernels(new Heap(), 'ts')), /not a speech model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// The whole pipeline on real synthesized speech (optional).

/** Skips `t` (and returns false) where flite, espeak-ng or sox is missing. */
async function synthesizersOr(t: TestContext): Promise<boolean> {
  const { checkSynthesizers } = await import('../src/data/speech/synth.js');
  try {
    await checkSynthesizers(true);
    return true;
  } catch (e) {
    t.skip(`speech synthesizers not installed (${(e as Error).message.split('.')[0]})`);
    return false;
  }
}

test('data speech --quiet prints only the result line; without it, the start line too (needs flite, espeak-ng, sox)', async (t) => {
  if (!(await synthesizersOr(t))) return;
  const dir = tmp();
  try {
    const args = ['data', 'speech', '--utterances', '4', '--augment', 'none', '--jobs', '1'];
    const quiet = await run(process.execPath, [BIN, ...args, '--quiet', '-o', join(dir, 'q')], { timeout: 120_000 });
    assert.deepEqual(quiet.stderr.trim().split('\n').map((l) => l.replace(/:.*/, '')), ['speech', 'speech'], quiet.stderr);
    assert.match(quiet.stderr, /^speech: done in [\d.]+ s: .*\nspeech: manifest .*manifest\.json\n$/);
    assert.ok(existsSync(join(dir, 'q', 'manifest.json')));
    const loud = await run(process.execPath, [BIN, ...args, '-o', join(dir, 'l')], { timeout: 120_000 });
    assert.match(loud.stderr, /^speech: 4 utterances, seed 1, recipe .*\n(.|\n)*speech: \d+\/\d+ utterances \(0 cached\)(.|\n)*speech: done in /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('smoke: synthesize ~20 utterances, train one short epoch from the CLI, transcribe (needs flite, espeak-ng, sox)', async (t) => {
  if (!(await synthesizersOr(t))) return;
  const { synthesizeCorpus, robustRecipe } = await import('../src/data/speech/synth.js');
  const dir = tmp();
  try {
    const corpus = join(dir, 'speech');
    // The robust recipe without its noise (no babble bank to synthesise: fast); the derived noisy test utterances come on top.
    const m = await synthesizeCorpus({ utterances: 20, outDir: corpus, seed: 3, recipe: robustRecipe(['speed', 'pitch', 'festival']) });
    assert.equal(m.utterances.filter((u) => u.source === undefined).length, 20);
    assert.ok(m.utterances.some((u) => u.split === 'train' && u.synth === 'festival'), 'a festival training utterance');
    const out = join(dir, 'run', 'model.ckpt');
    const r = await run(process.execPath, [BIN, 'train', '--task', 'speech', '--corpus', corpus, '--hidden', '32', '--layers', '1',
      '--epochs', '1', '--batch', '4', '--quiet', '-o', out], { timeout: 120_000 });
    assert.match(r.stderr, /epoch 1(\/1)?: train loss [\d.]+, valid loss/);
    for (const s of new Set(m.utterances.map((u) => u.split))) if (s.startsWith('test-')) assert.match(r.stderr, new RegExp(`${s} \\(.*CER [\\d.]+%, WER`), s);
    assert.ok(existsSync(out));
    assert.ok(existsSync(join(dir, 'run', 'model.report.json')));
    assert.ok(existsSync(join(dir, 'run', 'model.curves.svg')));
    const ck = loadCheckpoint(out);
    assert.equal(ck.meta.config.numLayers, 1);
    assert.equal(ck.meta.config.inputSize, 120); // 40 mels × stack 3
    // No --lr, --warmup or --ema given: the speech defaults, not the character LM's.
    const options = ck.meta.train?.options as { optimizer?: { lr: number }; warmupSteps?: number; ema?: number } | undefined;
    assert.equal(options?.optimizer?.lr, SPEECH_TRAIN_DEFAULTS.lr);
    assert.equal(options?.warmupSteps, SPEECH_TRAIN_DEFAULTS.warmup);
    assert.equal(options?.ema, SPEECH_TRAIN_DEFAULTS.ema);
    assert.ok(ck.tensors.has('optim.fc.weight.train'), 'the trained weights beside the average');
    const wav = join(corpus, m.utterances[0].path);
    const tr = await run(process.execPath, [BIN, 'transcribe', out, wav]);
    assert.match(tr.stdout, /^[a-z' ]*\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// End-to-end training behaviour on small models: learning, pruning reaching its target, exact
// resume (bit-identical to an uninterrupted run, interrupted in the middle of the pruning
// schedule), checkpoints, the `forward` command against PyTorch, and the CLI's error handling.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wordCorpus } from './corpus.js';
import { mkdtempSync, writeFileSync, readFileSync, } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCharLM, type CharLMRunOptions } from '../src/train/charlm.js';
import { cosineLr, warmupFactor } from '../src/train/loop.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { parseSafetensors, serializeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { serializeNpy, parseNpy } from '../src/io/npy.js';
import { forwardCommand } from '../src/cli/commands/forward.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-train-'));

/** A small corpus with structure a tiny model can learn: words from a seeded Markov source. */
const corpusFile = (): string => wordCorpus(tmp);

function options(name: string, over: Partial<CharLMRunOptions> = {}): CharLMRunOptions {
  return {
    corpus: corpusFile(), cell: 'gru', layers: 1, hidden: 24, embed: 8, dropout: 0,
    train: { epochs: 3, batch: 8, seqLen: 20, clip: 5, lrDecay: 1, seed: 3, maxStepsPerEpoch: 30, evalChars: 2000, optimizer: { kind: 'adam', lr: 5e-3 } },
    checkpoint: join(tmp, name, 'model.ckpt'), resume: false, prune: null, kernels: 'auto',
    ...over,
  };
}

const pruneRecipe = {
  method: 'narang' as const, targetSparsity: 0.8,
  schedules: { default: { startItr: 20, rampItr: 35, endItr: 60, freq: 5 } },
};

test('training reduces validation bits/char', async () => {
  const r = await runCharLM(options('learn'));
  const h = r.trainer.state.history;
  assert.equal(h.length, 3);
  assert.ok(h[2].validBpc < h[0].validBpc - 0.2, `valid bpc ${h.map((e) => e.validBpc.toFixed(3)).join(' → ')}`);
  assert.ok(h[2].validBpc < 3.2, `final valid bpc ${h[2].validBpc}`);
});

test('gradual pruning reaches the configured sparsity and keeps masks after endItr', async () => {
  const r = await runCharLM(options('prune', { prune: pruneRecipe }));
  assert.ok(r.pruner);
  const s = r.pruner!.sparsity();
  assert.ok(Math.abs(s.overall - 0.8) < 0.02, `overall sparsity ${s.overall}`);
  for (const p of r.model.params) {
    const zeros = p.data.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    if (p.kind === 'bias' || p.kind === 'embedding') assert.equal(zeros, 0, `${p.name} must not be pruned`);
    else assert.ok(zeros / p.size > 0.7, `${p.name} sparsity ${zeros / p.size}`);
  }
  // The checkpoint carries the masks, and the weights are zero wherever the mask is.
  const ck = loadCheckpoint(r.trainer ? join(tmp, 'prune', 'model.ckpt') : '');
  const m = ck.tensors.get('rnn.weight_hh_l0_mask')!, w = ck.tensors.get('rnn.weight_hh_l0')!;
  for (let i = 0; i < m.data.length; i++) if (!m.data[i]) assert.ok(w.data[i] === 0, `weight ${i} is masked but ${w.data[i]}`);
});

test('resume is exact: interrupted mid-schedule and resumed == uninterrupted (bit for bit)', async () => {
  const full = await runCharLM(options('straight', { prune: pruneRecipe }));
  assert.ok(full.completed);
  // Interrupt at iteration 41 (inside the pruning window, between mask updates), then resume.
  const signal = { stop: false };
  const o = options('resumed', { prune: pruneRecipe, signal, onStep: (e) => void (e.itr === 40 && (signal.stop = true)) });
  const first = await runCharLM(o);
  assert.equal(first.completed, false);
  assert.equal(first.trainer.state.itr, 41);
  const second = await runCharLM({ ...options('resumed', { prune: pruneRecipe }), resume: true });
  assert.ok(second.completed);
  const a = parseSafetensors(readFileSync(join(tmp, 'straight', 'model.ckpt')));
  const b = parseSafetensors(readFileSync(join(tmp, 'resumed', 'model.ckpt')));
  assert.deepEqual([...a.tensors.keys()].sort(), [...b.tensors.keys()].sort());
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!;
    assert.deepEqual(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength),
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), `tensor ${name} differs`);
  }
  const ma = JSON.parse(a.metadata['sparse-rnn']), mb = JSON.parse(b.metadata['sparse-rnn']);
  const noTime = (st: { history: { seconds?: number }[] }) => ({ ...st, history: st.history.map(({ seconds, ...h }) => (void seconds, h)) });
  assert.deepEqual(noTime(mb.train.state), noTime(ma.train.state));
  assert.deepEqual(mb.prune.state, ma.prune.state);

  // A checkpoint written before the one loop (the epoch's sums beside the counters) resumes the same.
  const legacy = join(tmp, 'legacy', 'model.ckpt');
  const o2 = options('legacy', { prune: pruneRecipe, signal: { stop: false }, onStep: (e) => void (e.itr === 40 && (o2.signal!.stop = true)) });
  await runCharLM(o2);
  const st = parseSafetensors(readFileSync(legacy));
  const meta = JSON.parse(st.metadata['sparse-rnn']);
  const { acc, ...counters } = meta.train.state;
  meta.train.state = { ...counters, ...acc };
  writeFileSync(legacy, serializeSafetensors(st.tensors as Map<string, TensorInput>, { 'sparse-rnn': JSON.stringify(meta) }));
  const third = await runCharLM({ ...options('legacy', { prune: pruneRecipe }), resume: true });
  assert.ok(third.completed);
  for (const p of third.model.params) assert.deepEqual(p.data, full.model.byName.get(p.name)!.data, p.name);
});

test('learning-rate schedules: the cosine one falls from lr to 0 over the run and resumes exactly; the epoch one divides by lrDecay', async () => {
  const base = 5e-3, steps = 2 * 10;
  const train = { epochs: 2, batch: 8, seqLen: 20, clip: 5, lrDecay: 1, seed: 3, maxStepsPerEpoch: 10, evalChars: 500, optimizer: { kind: 'adam' as const, lr: base } };
  const seen: number[] = [];
  const cos = await runCharLM(options('cosine', { train: { ...train, lrSchedule: 'cosine' }, onStep: (e) => void seen.push(e.lr) }));
  assert.equal(seen.length, steps);
  for (const [itr, lr] of seen.entries()) assert.equal(lr, cosineLr(base, itr, steps), `step ${itr}`);
  assert.equal(seen[0], base);
  assert.ok(seen[steps - 1] > 0 && seen[steps - 1] < 0.01 * base, `last lr ${seen[steps - 1]}`);
  for (let i = 1; i < steps; i++) assert.ok(seen[i] < seen[i - 1]);
  assert.equal(cosineLr(base, steps, steps), 0);
  // Interrupted half-way through the schedule and resumed: the same weights as the straight run.
  const signal = { stop: false };
  await runCharLM(options('cosine-resumed', { train: { ...train, lrSchedule: 'cosine' }, signal, onStep: (e) => void (e.itr === 6 && (signal.stop = true)) }));
  const resumed = await runCharLM({ ...options('cosine-resumed', { train: { ...train, lrSchedule: 'cosine' } }), resume: true });
  assert.ok(resumed.completed);
  for (const p of resumed.model.params) assert.deepEqual(p.data, cos.model.byName.get(p.name)!.data, p.name);
  // The per-epoch schedule: constant within an epoch, divided by lrDecay after it.
  const per: number[] = [];
  await runCharLM(options('epoch-decay', { train: { ...train, lrDecay: 2 }, onStep: (e) => void per.push(e.lr) }));
  assert.deepEqual([per[0], per[9], per[10], per[19]], [base, base, base / 2, base / 2]);
});

test('learning-rate warm-up: linear from 1/N of the scheduled rate over N steps, across an epoch\'s decay and under the cosine; resumes exactly', async () => {
  const base = 5e-3, N = 15;
  const train = { epochs: 2, batch: 8, seqLen: 20, clip: 5, lrDecay: 2, seed: 3, maxStepsPerEpoch: 10, evalChars: 500, optimizer: { kind: 'adam' as const, lr: base }, warmupSteps: N };
  const seen: number[] = [];
  const straight = await runCharLM(options('warmup', { train, onStep: (e) => void seen.push(e.lr) }));
  assert.equal(seen.length, 20);
  for (const [i, lr] of seen.entries()) assert.equal(lr, (i < 10 ? base : base / 2) * Math.min(1, (i + 1) / N), `step ${i}`);
  assert.equal(straight.trainer.state.lr, base / 4, 'the epoch rate the checkpoint keeps is the schedule\'s, not the warm-up\'s');
  // Interrupted inside the warm-up and resumed: the same weights as the straight run.
  const signal = { stop: false };
  await runCharLM(options('warmup-resumed', { train, signal, onStep: (e) => void (e.itr === 6 && (signal.stop = true)) }));
  const resumed = await runCharLM({ ...options('warmup-resumed', { train }), resume: true });
  assert.ok(resumed.completed);
  for (const p of resumed.model.params) assert.deepEqual(p.data, straight.model.byName.get(p.name)!.data, p.name);
  // Under the cosine: the cosine's rate times the warm-up's factor.
  const cos: number[] = [];
  await runCharLM(options('warmup-cosine', { train: { ...train, lrDecay: 1, lrSchedule: 'cosine' }, onStep: (e) => void cos.push(e.lr) }));
  for (const [i, lr] of cos.entries()) assert.equal(lr, cosineLr(base, i, 20) * Math.min(1, (i + 1) / N), `cosine step ${i}`);
  assert.equal(warmupFactor(0, 0), 1);
  assert.equal(warmupFactor(3, 4), 1);
  assert.equal(warmupFactor(4, 4), 1);
});

test('forward command equals PyTorch nn.GRU (2 layers, bidirectional) on its state dict', async () => {
  const fx = parseSafetensors(readFileSync(join(root, 'test/fixtures/gru_l2_bi.safetensors')));
  const x = fx.tensors.get('x')!;
  const h0 = fx.tensors.get('h0')!;
  const xPath = join(tmp, 'x.npy'), yPath = join(tmp, 'y.npy'), hPath = join(tmp, 'h0.npy');
  writeFileSync(xPath, serializeNpy(x.data as Float32Array, x.shape));
  writeFileSync(hPath, serializeNpy(h0.data as Float32Array, h0.shape));
  await forwardCommand({ h0: hPath,
    weights: join(root, 'test/fixtures/gru_l2_bi.safetensors'), cell: 'gru', layers: 2, bidirectional: true,
    prefix: 'rnn.', input: xPath, output: yPath, kernels: 'auto',
  });
  const y = parseNpy(readFileSync(yPath)), want = fx.tensors.get('y')!;
  assert.deepEqual(y.shape, want.shape);
  for (let i = 0; i < want.data.length; i++)
    assert.ok(Math.abs(y.data[i] - want.data[i]) <= 1e-5 * (1 + Math.abs(want.data[i])), `y[${i}] ${y.data[i]} vs ${want.data[i]}`);
});

test('forward command names the tensor and shapes when the weights do not fit', async () => {
  const xPath = join(tmp, 'x-bad.npy');
  writeFileSync(xPath, serializeNpy(new Float32Array(2 * 3 * 4), [2, 3, 4]));
  await assert.rejects(forwardCommand({
    weights: join(root, 'test/fixtures/gru_l1.safetensors'), cell: 'lstm', layers: 1, bidirectional: false,
    prefix: 'rnn.', input: xPath, output: join(tmp, 'o.npy'), kernels: 'ts',
  }), /weight_hh_l0 has shape \[21,7\], expected \[4·hidden, hidden\]/);
  await assert.rejects(forwardCommand({
    weights: join(root, 'test/fixtures/gru_l1.safetensors'), cell: 'gru', layers: 2, bidirectional: false,
    prefix: 'rnn.', input: xPath, output: join(tmp, 'o.npy'), kernels: 'ts',
  }), /missing tensor rnn\.weight_ih_l1/);
  await assert.rejects(forwardCommand({
    weights: join(root, 'test/fixtures/gru_l1.safetensors'), cell: 'gru', layers: 1, bidirectional: false,
    prefix: 'rnn.', input: xPath, output: join(tmp, 'o.npy'), kernels: 'ts',
  }), /x-bad\.npy: shape \[2,3,4\], expected \[T, B, 5\]/);
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin/sparse-rnn.js'), ...args], { encoding: 'utf8', timeout: 60000 });
}

test('CLI: unknown options, bad values and missing files fail clearly with a non-zero exit', () => {
  let r = cli('train', '--hiden', '12');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown option '--hiden'/);
  r = cli('train', '--hidden', '-3');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--hidden must be an integer ≥ 1/);
  r = cli('eval', join(tmp, 'missing.ckpt'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /missing\.ckpt.*(no such file|not found)/i);
  writeFileSync(join(tmp, 'garbage.ckpt'), 'this is not a checkpoint');
  r = cli('eval', join(tmp, 'garbage.ckpt'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /garbage\.ckpt/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
});

test('CLI: train → eval → sample on a small corpus', () => {
  const out = join(tmp, 'cli', 'm.ckpt');
  let r = cli('train', '--corpus', corpusFile(), '--hidden', '16', '--embed', '8', '--epochs', '1', '--max-steps', '10',
    '--batch', '4', '--seq-len', '16', '--eval-chars', '500', '-o', out, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /epoch 1\/1: train [\d.]+ bpc, valid [\d.]+ bpc/);
  const trainValid = /valid ([\d.]+) bpc/.exec(r.stderr)![1];
  r = cli('eval', out, '--split', 'test');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /test bits\/char: \d+\.\d{4} \(\d+ predictions, /);
  // --eval-chars scores what training scored: the same first 500 characters of valid, the same number.
  r = cli('eval', out, '--eval-chars', '500');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^valid bits/char: ${Number(trainValid).toFixed(4).replace('.', '\\.')} \\(500 predictions of \\d+, `));
  r = cli('sample', out, '--length', '40', '--prompt', 'the ');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('the ') && r.stdout.length >= 44, r.stdout);
});

test('corpora: Moby Dick splits by chapter (119/10/10) as the reference; SOTU and files split 90/5/5 by position', async () => {
  const { loadTextSplits, buildVocab } = await import('../src/data/charlm.js');
  const m = loadTextSplits('moby-dick');
  assert.deepEqual([m.train.length, m.valid.length, m.test.length], [1058628, 53488, 101024]); // REFERENCE.md §1
  assert.equal(buildVocab(m.train).length, 90);
  const s = loadTextSplits('sotu');
  const n = s.train.length + s.valid.length + s.test.length;
  assert.equal(s.train.length, Math.floor(n * 0.9));
  assert.ok(Math.abs(s.valid.length - 0.05 * n) <= 1 && s.test.length > 0);
  assert.throws(() => loadTextSplits(join(tmp, 'no-such-corpus.txt')), /neither moby-dick, sotu nor a readable file/);
  writeFileSync(join(tmp, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20]));
  assert.throws(() => loadTextSplits(join(tmp, 'latin1.txt')), /not valid UTF-8/);
});

// The sparse phase inside real training runs: masks freeze once the pruner's schedule ends, the weight
// matrices then train on the sparse kernels (--sparse-training on/auto) and the run ends where the
// dense-masked run (--sparse-training off) ends, to floating-point tolerance; a run interrupted before
// or after the switch resumes bit for bit; the CLI says when it switched.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wordCorpus } from './corpus.js';
import { mkdtempSync, } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCharLM, type CharLMRunOptions } from '../src/train/charlm.js';
import type { SparsePhaseEvent } from '../src/train/sparse-phase.js';
import { wasmRelaxedSupported } from '../src/kernels/wasm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-phase-'));

const corpusFile = (): string => wordCorpus(tmp);

const recipe = { method: 'narang' as const, targetSparsity: 0.8, schedules: { default: { startItr: 10, rampItr: 25, endItr: 45, freq: 5 } } };

function options(name: string, over: Partial<CharLMRunOptions> = {}): CharLMRunOptions {
  return {
    corpus: corpusFile(), cell: 'gru', layers: 1, hidden: 32, embed: 8, dropout: 0,
    train: { epochs: 3, batch: 8, seqLen: 20, clip: 0.5, lrDecay: 1, seed: 3, maxStepsPerEpoch: 30, evalChars: 1000, optimizer: { kind: 'adam', lr: 5e-3 } },
    checkpoint: join(tmp, name, 'model.ckpt'), resume: false, prune: recipe, kernels: 'wasm', threads: 1,
    ...over,
  };
}

const weights = (r: Awaited<ReturnType<typeof runCharLM>>): Map<string, Float32Array> =>
  new Map(r.model.params.map((p) => [p.name, Float32Array.from(p.data)]));

test('sparse phase: masks freeze after endItr; sparse kernels end where the dense-masked run ends', async () => {
  const logs: string[] = [];
  const on = await runCharLM(options('on', { sparseTraining: 'on', log: (s) => logs.push(s) }));
  const off = await runCharLM(options('off', { sparseTraining: 'off' }));
  const ev = on.trainer.sparsePhase?.event as SparsePhaseEvent;
  assert.ok(ev, 'the run entered the sparse phase');
  assert.equal(ev.itr, 46, 'first iteration with frozen masks (endItr 45 is the last that may update)');
  assert.deepEqual(ev.sparse.map((x) => x.name).sort(), ['fc.weight', 'rnn.weight_hh_l0', 'rnn.weight_ih_l0']);
  assert.equal(off.trainer.sparsePhase?.event?.sparse.length, 0, '--sparse-training off keeps the dense kernels');
  assert.ok(logs.some((l) => /masks frozen from iteration 46: sparse kernels for .*rnn\.weight_hh_l0/.test(l)), logs.join('\n'));
  const a = weights(on), b = weights(off);
  for (const [name, w] of a) {
    const v = b.get(name)!;
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - v[i]) < 2e-4, `${name}[${i}]: ${w[i]} vs ${v[i]}`);
  }
  // Validation agrees too.
  const ha = on.trainer.state.history, hb = off.trainer.state.history;
  assert.ok(Math.abs(ha[2].validBpc - hb[2].validBpc) < 1e-3, `${ha[2].validBpc} vs ${hb[2].validBpc}`);
});

test('sparse phase: auto trains matrices at density ≤ 0.3 sparse', async () => {
  const r = await runCharLM(options('auto', { train: { ...options('x').train, epochs: 2 } }));
  const ev = r.trainer.sparsePhase?.event;
  assert.ok(ev);
  for (const t of ev!.sparse) assert.ok(t.density <= 0.3, `${t.name} density ${t.density}`);
  assert.equal(ev!.sparse.length + ev!.dense.length, 3);
});

for (const stopAt of [30, 60]) {
  test(`sparse phase: interrupted at iteration ${stopAt} (${stopAt < 46 ? 'before' : 'after'} the switch) and resumed == uninterrupted, bit for bit`, async () => {
    const full = await runCharLM(options(`full${stopAt}`, { sparseTraining: 'on' }));
    const signal = { stop: false };
    const first = await runCharLM(options(`res${stopAt}`, { sparseTraining: 'on', signal, onStep: (e) => void (e.itr === stopAt && (signal.stop = true)) }));
    assert.equal(first.completed, false);
    const second = await runCharLM({ ...options(`res${stopAt}`, { sparseTraining: 'on' }), resume: true });
    assert.ok(second.completed);
    assert.equal(second.trainer.sparsePhase?.event?.itr, 46);
    const a = weights(full), b = weights(second);
    for (const [name, w] of a) assert.deepEqual(b.get(name), w, `${name} differs after resume`);
  });
}

test('train --sparse-training: the progress says when it switched; a bad mode is one line', () => {
  const cli = join(root, 'bin/sparse-rnn.js');
  const out = join(tmp, 'cli', 'model.ckpt');
  const r = spawnSync(process.execPath, [cli, 'train', '--corpus', corpusFile(), '--hidden', '16', '--embed', '8', '--batch', '4',
    '--seq-len', '10', '--epochs', '2', '--max-steps', '20', '--prune', 'narang', '--target-sparsity', '0.8',
    '--start-itr', '5', '--ramp-itr', '10', '--end-itr', '15', '--freq', '5', '--sparse-training', 'on', '--threads', '1', '-o', out],
  { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /masks frozen from iteration 16: sparse kernels for/);
  const bad = spawnSync(process.execPath, [cli, 'train', '--sparse-training', 'sometimes', '-o', join(tmp, 'bad.ckpt')], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--sparse-training/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test('a resumed run keeps the kernel variant it was trained with when --kernels is auto', async () => {
  for (const kernels of ['wasm', 'relaxed'] as const) {
    if (kernels === 'relaxed' && !wasmRelaxedSupported()) continue;
    const signal = { stop: false };
    const name = `variant-${kernels}`;
    const first = await runCharLM(options(name, { kernels, prune: null, signal, onStep: (e) => void (e.itr === 5 && (signal.stop = true)) }));
    assert.equal(first.completed, false);
    const again = await runCharLM({ ...options(name, { kernels: 'auto', prune: null }), resume: true });
    assert.equal(again.engine.variant, kernels === 'wasm' ? 'simd128' : 'relaxed');
  }
});

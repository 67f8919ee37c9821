// `sparse-rnn reproduce --task speech` (experiments/speech.ts): the plan's sizes and schedule, and a
// micro plan on synthetic feature data (no synthesizer) through the runner, the report and a
// second invocation that skips every finished run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Rng } from '../src/util/rng.js';
import { encodeText, type SpeechSplit, type SpeechUtterance } from '../src/data/speech/dataset.js';
import { CLASSIC_RECIPE, DEFAULT_AUGMENT, robustRecipe } from '../src/data/speech/synth.js';
import { RNNModel } from '../src/nn/model.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import {
  estimateSpeechMinutes, readSpeechResults, reproduceSpeech, resolveSpeechRun, speechParams, speechPlan, speechReport, speechStepsPerEpoch,
  type SpeechLatency, type SpeechReproduceOptions, type SpeechRunOutcome,
} from '../experiments/speech.js';
import { measurePruningOverhead } from '../experiments/speech-overhead.js';

// The synthetic "phoneme template" CTC task of speech-train.test.ts: each character is a fixed
// random F-dimensional template held for 2–4 frames, silence between characters, plus noise.
const F = 12;
const LETTERS = ['a', 'b', 'c', 'd', 'e'];

function synthUtterances(n: number, seed: number): SpeechUtterance[] {
  const t = new Rng(7);
  const tpl = new Map<string, Float32Array>();
  for (const c of [...LETTERS, ' ']) tpl.set(c, Float32Array.from({ length: F }, () => 1.5 * t.normal()));
  const r = new Rng(seed);
  const out: SpeechUtterance[] = [];
  for (let i = 0; i < n; i++) {
    const words: string[] = [];
    for (let w = 0, nw = 1 + Math.floor(r.next() * 2); w < nw; w++) {
      let s = '';
      for (let c = 0, nc = 1 + Math.floor(r.next() * 3); c < nc; c++) s += LETTERS[Math.floor(r.next() * LETTERS.length)];
      words.push(s);
    }
    const text = words.join(' ');
    const frames: Float32Array[] = [];
    const silence = (): void => void frames.push(Float32Array.from({ length: F }, () => 0.3 * r.normal()));
    silence();
    for (const ch of text) {
      for (let k = 0, d = 2 + Math.floor(r.next() * 3); k < d; k++) frames.push(Float32Array.from(tpl.get(ch)!, (v) => v + 0.3 * r.normal()));
      silence();
    }
    const feats = new Float32Array(frames.length * F);
    frames.forEach((f, j) => { feats.set(f, j * F); });
    out.push({ id: `u${seed}-${i}`, text, labels: encodeText(text), feats, T: frames.length, speaker: 'synthetic', voice: 'synthetic' });
  }
  return out;
}

const split = (name: 'train' | 'valid' | 'test', utterances: SpeechUtterance[]): SpeechSplit => ({ split: name, F, utterances, cached: false, cacheFile: '' });

const ALL = ['rnn-dense', 'rnn-sparse', 'gru-dense', 'gru-sparse', 'rnn-big', 'rnn-medium', 'gru-medium', 'rnn-hard1', 'rnn-hard2', 'rnn-agp', 'rnn-small', 'gru-small'];

test('speech plan: both families, sizes, ≤ 25% big models, dense small solved from the planned 90%, schedule', () => {
  for (const mode of ['quick', 'full'] as const) {
    const p = speechPlan(mode, { seeds: 1, extended: false });
    assert.deepEqual(p.runs.map((r) => r.id), ALL);
    const Fw = p.features.nMels * p.features.stack;
    assert.equal(Fw, 120);
    const size = (id: string): { total: number; pruned: number } => {
      const r = p.runs.find((x) => x.id === id)!;
      const f = p.families[r.family];
      return speechParams(f.cell, f.bidirectional, p.layers, Fw, r.hidden);
    };
    assert.equal(p.families.rnn.cell, 'rnn_clipped');
    assert.equal(p.families.rnn.bidirectional, true);
    assert.equal(p.families.gru.cell, 'gru');
    assert.equal(p.families.gru.bidirectional, false);
    for (const fam of ['rnn', 'gru'] as const) {
      const dense = size(`${fam}-dense`);
      // Larger sparse models at 92% plan fewer non-zeros than 25% of the dense baseline.
      for (const id of [`${fam}-medium`, `${fam}-big`].filter((id) => p.runs.some((r) => r.id === id))) {
        const s = size(id);
        assert.ok(p.runs.find((r) => r.id === id)!.hidden > p.runs.find((r) => r.id === `${fam}-dense`)!.hidden);
        assert.ok(0.08 * s.pruned + (s.total - s.pruned) <= 0.25 * dense.total, `${mode} ${id}`);
      }
      // Dense small ≈ the same-size sparse model's planned non-zeros (within one unit's worth).
      const planned = 0.1 * dense.pruned + dense.total - dense.pruned;
      const small = size(`${fam}-small`);
      assert.ok(Math.abs(small.total - planned) / planned < 0.1, `${mode} ${fam}-small ${small.total} vs ${planned}`);
    }
    assert.ok(p.window.start < p.window.ramp && p.window.ramp < p.window.end && p.window.end <= p.epochs / 2);
    assert.ok(p.hardEpochs[0] < p.hardEpochs[1] && p.hardEpochs[1] < p.epochs);
  }
  // --full adds Table 4's other points, Algorithm 1 with q from rnn-dense, target vs Algorithm 1, Nesterov SGD; the claim rows get 3 seeds.
  const ext = speechPlan('full');
  const ids = ext.runs.map((r) => r.id);
  for (const id of ['rnn-hard-e6', 'rnn-hard-e10', 'rnn-hard-e12', 'rnn-alg1', 'rnn-alg1-90', 'rnn-target-match', 'rnn-dense-sgd', 'rnn-sparse-sgd', 'rnn-big-sgd', 'rnn-dense-s1236', 'rnn-hard1-s1235'])
    assert.ok(ids.includes(id), id);
  assert.ok(!ids.includes('rnn-agp-s1235'));
  const sgd = resolveSpeechRun(ext, ext.runs.find((r) => r.id === 'rnn-dense-sgd')!, 100, new Map(), 'd');
  assert.deepEqual(sgd.optimizer, { kind: 'sgd', lr: 0.01, momentum: 0.9, nesterov: true });
  assert.equal(sgd.lrDecay, 1.2);
  const adam = resolveSpeechRun(ext, ext.runs.find((r) => r.id === 'rnn-dense-s1235')!, 100, new Map(), 'd');
  assert.equal(adam.optimizer, undefined, 'Adam runs keep their old spec (summaries stay valid)');
  assert.equal(adam.seed, 1235);
  const full = speechPlan('full', { seeds: 1, extended: false });
  assert.equal(full.runs.find((r) => r.id === 'rnn-dense')!.hidden, 256);
  assert.equal(full.runs.find((r) => r.id === 'gru-dense')!.hidden, 256);
  assert.equal(full.epochs, 16);
  // The paper's regime as far as 2 cores allow: the README's robust corpus of 5000, flite held out.
  assert.equal(full.utterances, 5000);
  assert.equal(full.recipe.name, 'robust');
  assert.equal(full.recipe.heldOutSynth, 'flite');
  // The corpus of its committed results: data speech's default before intl and narrowband joined it.
  assert.deepEqual(full.recipe, robustRecipe(DEFAULT_AUGMENT.filter((a) => a !== 'intl' && a !== 'narrowband')));
  assert.notDeepEqual(full.recipe, robustRecipe());
  assert.equal(speechPlan('full', { recipe: CLASSIC_RECIPE }).recipe.name, 'classic');
  // Parameter formula = the model's own count.
  const m = new RNNModel({ cell: 'rnn_clipped', inputSize: 120, hiddenSize: 24, numLayers: 2, bidirectional: true, outputSize: 29 }, createKernels(new Heap(), 'ts'));
  assert.equal(speechParams('rnn_clipped', true, 2, 120, 24).total, m.parameterCount());
  // The --full estimate from the measured speed of RNN-256 at ~85 ms/step stays within the 2 h budget.
  const w = speechParams('rnn_clipped', true, 2, 120, 256).pruned;
  const est = estimateSpeechMinutes(full, { weights: w, msPerStep: 85, trainFraction: 0.84 });
  assert.ok(est.minutes > 30 && est.minutes < 110, `full estimate ${est.minutes} min`);
  assert.equal(speechStepsPerEpoch(2940, full), 368);
});

test('reproduce speech: a micro plan runs end to end through the runner, writes the tables, and skips finished runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-repro-speech-'));
  try {
    const resultsFile = join(dir, 'RESULTS.md');
    writeFileSync(resultsFile, '# Results\n');
    const logs: string[] = [];
    const opts: SpeechReproduceOptions = {
      mode: 'quick', task: 'speech', out: join(dir, 'runs', 'speech'), resultsFile, plotsDir: join(dir, 'results'), bench: false,
      log: (s) => logs.push(s), command: 'test micro speech plan',
      speech: {
        splits: { train: split('train', synthUtterances(24, 1)), valid: split('valid', synthUtterances(6, 2)), test: split('test', synthUtterances(6, 3)) },
        features: { nMels: F, stack: 1, stride: 1 }, layers: 1,
        sizes: { rnn: { base: 12, medium: 14, big: 16 }, gru: { base: 12, medium: 14 } },
        epochs: 3, batch: 4, window: { start: 1, ramp: 1.5, end: 2, freq: 1 }, hardEpochs: [1, 2],
      },
    };
    const t0 = performance.now();
    const md = await reproduceSpeech(opts);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`# micro speech plan: 12 runs in ${seconds.toFixed(1)} s`);
    assert.ok(md, logs.join('\n'));
    const out = opts.out;
    const R = new Map<string, SpeechRunOutcome>(ALL.map((id) => [id, JSON.parse(readFileSync(join(out, `run-${id}`, 'result.json'), 'utf8')) as SpeechRunOutcome]));
    for (const r of R.values()) {
      assert.equal(r.history.length, 3, r.id);
      assert.equal(r.stepsPerEpoch, 6);
      assert.ok(Number.isFinite(r.validCer) && Number.isFinite(r.testCer) && Number.isFinite(r.validWer), r.id);
      assert.equal(r.testUtterances, 6);
      // The train-vs-valid gap: the final model on as many training utterances as validation has.
      assert.equal(r.trainEval!.utterances, 6, r.id);
      assert.ok(r.trainEval!.cer >= 0 && r.trainEval!.cer <= 2 && Number.isFinite(r.trainEval!.loss), r.id);
      assert.deepEqual(r.evals, {}, 'provided splits have no other evaluation splits');
      assert.ok(existsSync(join(out, `run-${r.id}`, 'model.ckpt')));
      assert.ok(existsSync(join(out, `run-${r.id}`, 'model.curves.svg')));
    }
    assert.equal(R.get('rnn-dense')!.cell, 'rnn_clipped');
    assert.equal(R.get('rnn-dense')!.bidirectional, true);
    assert.equal(R.get('gru-dense')!.bidirectional, false);
    assert.equal(R.get('rnn-dense')!.sparsity, 0);
    const nnz = R.get('rnn-sparse')!.params.prunedNnz;
    assert.ok(R.get('rnn-sparse')!.sparsity > 0.5, `rnn-sparse sparsity ${R.get('rnn-sparse')!.sparsity}`);
    assert.ok(R.get('gru-sparse')!.sparsity > 0.5);
    // Matched runs: hard keeps exactly rnn-sparse's non-zeros; AGP within rounding per tensor.
    assert.equal(R.get('rnn-hard1')!.params.prunedNnz, nnz);
    assert.equal(R.get('rnn-hard2')!.params.prunedNnz, nnz);
    assert.ok(Math.abs(R.get('rnn-agp')!.params.prunedNnz - nnz) <= 4, `agp ${R.get('rnn-agp')!.params.prunedNnz} vs ${nnz}`);

    for (const h of ['### Claims', '### Table 3 analog', '### Table 4 analog', '### Sparsity per layer type', '### Table 6 analog', '### Training time', '### Figures'])
      assert.ok(md.includes(h), `missing ${h}`);
    for (const id of ['rnn-dense', 'rnn-small', 'rnn-sparse', 'rnn-medium', 'rnn-big', 'gru-dense', 'gru-small', 'gru-sparse', 'gru-medium'])
      assert.match(md, new RegExp(`^\\| ${id} \\| (RNN|GRU) `, 'm'), `Table 3 row ${id}`);
    for (const m of ['hard (rnn-hard1)', 'hard (rnn-hard2)', 'gradual Narang (rnn-sparse)', 'AGP (rnn-agp)']) assert.ok(md.includes(m), `Table 4 row ${m}`);
    for (const c of ['RNN: the same-size model pruned to ~90% is within 10%', 'GRU: the same-size model pruned to ~90% is within 10%',
      'RNN: a larger sparse model with ≤ 25%', 'GRU: a larger sparse model with ≤ 25%', 'RNN: gradual pruning beats hard pruning',
      'RNN: training time with pruning is within 5% of dense', 'GRU: training time with pruning is within 5% of dense'])
      assert.ok(md.includes(c), `claim ${c}`);
    assert.match(md, /\*\*(holds|fails|not established)\*\*/);
    // Train vs valid table: one row per plan row, the gap equal to valid − train CER over the seeds.
    const gd = R.get('gru-dense')!;
    const gapRow = md.split('\n').find((l) => /^\| gru-dense \| GRU dense baseline \| 1 \| [\d.]+ \(n = 1\)/.test(l));
    assert.ok(gapRow, 'train-vs-valid row of gru-dense');
    const cells = gapRow!.split('|').map((c) => c.trim());
    assert.equal(cells[4], `${(100 * gd.trainEval!.cer).toFixed(2)} (n = 1)`);
    assert.equal(cells[6], `${(100 * (gd.validCer - gd.trainEval!.cer)).toFixed(2)} (n = 1)`);
    assert.match(md, /QUICK/);
    assert.match(md, /Not measured: latency measurement switched off/);
    for (const f of ['speech-cer-rnn.svg', 'speech-cer-gru.svg', 'speech-cer-hard.svg', 'speech-sparsity.svg', 'speech-train-loss.svg', 'speech-layers-rnn.svg', 'speech-layers-gru.svg']) {
      assert.ok(existsSync(join(dir, 'results', f)), f);
      assert.ok(md.includes(`](results/${f})`), `link to ${f}`);
    }
    const inv = JSON.parse(readFileSync(join(out, 'invocations.json'), 'utf8')) as { started: string[] }[];
    assert.equal(inv.length, 1);
    assert.equal(inv[0].started.length, 12);

    // Second invocation: everything finished → skipped, nothing retrained, same numbers.
    const res = join(out, 'run-rnn-sparse', 'result.json');
    const mtime = statSync(res).mtimeMs;
    logs.length = 0;
    const md2 = await reproduceSpeech(opts);
    assert.ok(md2);
    assert.equal(logs.filter((l) => l.includes('finished before, skipped')).length, 12, logs.join('\n'));
    assert.ok(!logs.some((l) => l.includes(': starting')));
    assert.equal(statSync(res).mtimeMs, mtime);
    assert.equal((JSON.parse(readFileSync(join(out, 'invocations.json'), 'utf8')) as unknown[]).length, 1);
    assert.match(md2, /this invocation reused the finished runs/);

    // A run without its result continues from its checkpoint (here: already at the last epoch) and reproduces its numbers.
    // (its summary too: a summary alone would be reused; see reproduce.test.ts)
    const summary = join(dirname(out), 'summaries', 'speech', 'rnn-agp.json');
    assert.ok(existsSync(summary), summary);
    rmSync(join(out, 'run-rnn-agp', 'result.json'));
    rmSync(summary);
    logs.length = 0;
    assert.ok(await reproduceSpeech(opts));
    assert.ok(logs.some((l) => l.includes('run rnn-agp') && l.includes('continuing from its checkpoint')), logs.join('\n'));
    assert.equal(logs.filter((l) => l.includes('finished before, skipped')).length, 11);
    const agp = JSON.parse(readFileSync(join(out, 'run-rnn-agp', 'result.json'), 'utf8')) as SpeechRunOutcome;
    assert.equal(agp.validCer, R.get('rnn-agp')!.validCer);
    assert.equal(agp.testCer, R.get('rnn-agp')!.testCer);
    assert.equal((JSON.parse(readFileSync(join(out, 'invocations.json'), 'utf8')) as unknown[]).length, 2);
    // A changed plan is refused rather than mixed with the old runs.
    await assert.rejects(reproduceSpeech({ ...opts, speech: { ...opts.speech, epochs: 4 } }), /different plan/);

    // --report-only trains nothing: a run that has not finished is left out (and named); with --no-bench a
    // latency kept beside the summaries (from a measurement on another machine) is shown, nothing measured.
    const sums = join(dirname(out), 'summaries', 'speech');
    const kept: SpeechLatency = { sparseStepUs: null, denseStepUs: null, sparseRunUsPerStep: 7.5, denseRunUsPerStep: 21.5, ortStepUs: null, ortRunUsPerStep: 15.5, backend: 'kept', measuredAt: '2026-01-01T00:00:00Z' };
    writeFileSync(join(sums, 'rnn-sparse.latency.json'), JSON.stringify(kept));
    rmSync(join(out, 'run-gru-sparse'), { recursive: true });
    rmSync(join(sums, 'gru-sparse.json'));
    logs.length = 0;
    const mdOnly = await reproduceSpeech({ ...opts, bench: false, reportOnly: true, resultsFile: join(dir, 'R-only.md') });
    assert.ok(mdOnly);
    assert.ok(!logs.some((l) => l.includes(': starting') || l.includes('per-timestep') || l.startsWith('latency ')), logs.join('\n'));
    assert.equal(existsSync(join(out, 'run-gru-sparse')), false);
    assert.match(mdOnly, /Written with `--report-only` from the 11 finished runs; 1 run\(s\) of the plan had not finished and are left out: gru-sparse\./);
    assert.match(mdOnly, /^\| rnn-sparse \| RNN \(bidirectional\) \|[^\n]*— \/ 21\.5 \| — \/ 7\.5 \| — \/ 15\.5 \|/m);

    // Table 6 rendering with latencies (the measurement itself is `benchModel`, tested in bench).
    const plan = speechPlan('quick', { ...opts.speech, splits: undefined });
    const L = new Map<string, SpeechLatency>([
      ['rnn-dense', { sparseStepUs: null, denseStepUs: null, sparseRunUsPerStep: 20, denseRunUsPerStep: 20, backend: 'x', measuredAt: '' }],
      ['rnn-sparse', { sparseStepUs: null, denseStepUs: null, sparseRunUsPerStep: 8, denseRunUsPerStep: 20, ortStepUs: null, ortRunUsPerStep: 16, backend: 'x', measuredAt: '' }],
      ['gru-dense', { sparseStepUs: 30, denseStepUs: 30, sparseRunUsPerStep: 25, denseRunUsPerStep: 25, backend: 'x', measuredAt: '' }],
      ['gru-sparse', { sparseStepUs: 10, denseStepUs: 30, sparseRunUsPerStep: 9, denseRunUsPerStep: 25, ortStepUs: 12, ortRunUsPerStep: 18, backend: 'x', measuredAt: '' }],
    ]);
    const inv0 = { command: 'x', startedAt: new Date().toISOString(), seconds: 1, started: [], completed: true, loadStart: [0, 0, 0], loadEnd: [0, 0, 0] };
    const md3 = speechReport(plan, R, L, {
      command: 'x', plotsDir: join(dir, 'results'), resultsFile, machine: 'test', invocations: [], current: inv0, skipped: [],
      data: { dir: null, splits: null, description: 'provided splits', counts: { train: 24, valid: 6, test: 6 }, hours: {}, voices: {} },
      overhead: [
        { cell: 'rnn_clipped', bidirectional: true, layers: 1, hidden: 12, batch: 4, rounds: 60, freq: 1, denseMeanMs: 10, prunedMeanMs: 10.2, overheadPercent: 1.5, medianPairPercent: 1.2, prunerMeanMs: 0.2, prunerPercent: 2, remaskMs: 0.1, maskUpdateMs: 1, finalSparsity: 0.9, measuredAt: '' },
        { cell: 'gru', bidirectional: false, layers: 1, hidden: 12, batch: 4, rounds: 60, freq: 1, denseMeanMs: 10, prunedMeanMs: 10.3, overheadPercent: 3, medianPairPercent: 2, prunerMeanMs: 0.4, prunerPercent: 4, remaskMs: 0.5, maskUpdateMs: 20, finalSparsity: 0.9, measuredAt: '' },
      ],
    });
    // Columns: dense form, sparse, onnxruntime (step / T=50), speed-up vs own dense, vs onnxruntime, vs the family's dense baseline.
    assert.match(md3, /^\| rnn-sparse \| RNN \(bidirectional\) \| 12 \| [\d.]+% \| — \/ 20\.0 \| — \/ 8\.0 \| — \/ 16\.0 \| 2\.50x \| 2\.00x \| 2\.50x \|/m);
    assert.match(md3, /^\| gru-sparse \| GRU \| 12 \| [\d.]+% \| 30\.0 \/ 25\.0 \| 10\.0 \/ 9\.0 \| 12\.0 \/ 18\.0 \| 2\.78x \| 2\.00x \| 2\.78x \|/m);
    assert.match(md3, /^\| rnn-dense \| RNN \(bidirectional\) \| 12 \| 0% \| — \/ 20\.0 \| — \/ 20\.0 \| — \/ — \| 1\.00x \| — \|/m);
    // The training-time claims take the measurement when there is one: the pruner's share at the plan's update period
    // (freq 1 here): RNN (0.1 + 1/1) / 10 = +11% fails; GRU (0.5 + 20/1) / 10 fails too; with the plan's period 100 they would pass.
    // The verdict is the in-run time per step over seeds (one seed here: not established); the measurement sits beside it.
    assert.match(md3, /RNN: training time with pruning is within 5% of dense \(in-run[^|]*\| rnn-sparse[^|]*Beside it, measured apart from the runs \(not the verdict\): the pruner's own time is \+11\.00%[^|]*\| not established \| not established \| \*\*not established\*\*/);
    assert.match(md3, /\| rnn_clipped bidirectional 1×12 \| 4 \| 60 \| 10\.0 \| 10\.2 \| \+1\.50% \| \+1\.20% \| 0\.10 \| 1\.0 \| \+11\.00% \|/);
    const plan100 = { ...plan, window: { ...plan.window, freq: 100 } };
    const md4 = speechReport(plan100, R, L, {
      command: 'x', plotsDir: join(dir, 'results'), resultsFile, machine: 'test', invocations: [], current: inv0, skipped: [],
      data: { dir: null, splits: null, description: 'provided splits', counts: { train: 24, valid: 6, test: 6 }, hours: {}, voices: {} },
      overhead: [{ cell: 'rnn_clipped', bidirectional: true, layers: 1, hidden: 12, batch: 4, rounds: 60, freq: 10, denseMeanMs: 10, prunedMeanMs: 10.2, overheadPercent: 1.5,
        medianPairPercent: 1.2, prunerMeanMs: 0.2, prunerPercent: 2, remaskMs: 0.1, maskUpdateMs: 1, finalSparsity: 0.9, measuredAt: '' }],
    });
    // (0.1 + 1/100) / 10 = +1.10% and end to end +1.5%: pass.
    assert.match(md4, /RNN: training time with pruning is within 5% of dense \(in-run[^|]*\| [^|]*the pruner's own time is \+1\.10%[^|]*\| not established \| not established \| \*\*not established\*\*/);
    // Every run here trained on this machine: no machine column. A run from another machine gets one, and a note.
    assert.ok([...R.values()].every((r) => r.machine === [...R.values()][0].machine && r.machine));
    assert.doesNotMatch(md4, /compare ms\/step only between runs of one machine/);
    const R2 = new Map(R);
    R2.set('rnn-small', { ...R.get('rnn-small')!, machine: '2 × Other CPU, 8 GiB RAM, Node v20, linux/x64' });
    const md5 = speechReport(plan100, R2, L, {
      command: 'x', plotsDir: join(dir, 'results'), resultsFile, machine: 'test', invocations: [], current: inv0, skipped: [],
      data: { dir: null, splits: null, description: 'provided splits', counts: { train: 24, valid: 6, test: 6 }, hours: {}, voices: {} },
    });
    assert.match(md5, /^\| rnn-small \| RNN-\d+ \| dense \|[^\n]*\| 2 × Other CPU \|$/m);
    assert.match(md5, /compare ms\/step only between runs of one machine/);
    // Latencies from two machines: the speed-up against the family's baseline only within one machine.
    const L2 = new Map([...L].map(([id, l]) => [id, { ...l, machine: id === 'rnn-dense' ? 'M1, x' : 'M2, x' }]));
    const md6 = speechReport(plan100, R, L2, {
      command: 'x', plotsDir: join(dir, 'results'), resultsFile, machine: 'test', invocations: [], current: inv0, skipped: [],
      data: { dir: null, splits: null, description: 'provided splits', counts: { train: 24, valid: 6, test: 6 }, hours: {}, voices: {} },
    });
    assert.match(md6, /^\| rnn-sparse \|[^\n]*\| 2\.50x \| 2\.00x \| — \|/m);
    assert.match(md6, /Measured on more than one machine \(M1: rnn-dense; M2: rnn-sparse, gru-dense, gru-sparse\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reproduce speech: the interleaved pruning-overhead measurement times both steps and really prunes', async () => {
  const train = split('train', synthUtterances(16, 4));
  for (const [cell, bidirectional] of [['rnn_clipped', true], ['gru', false]] as const) {
    const m = await measurePruningOverhead({ cell, bidirectional, layers: 1, hidden: 10 }, train, { batch: 4, buckets: 2, lr: 3e-3, clip: 5, seed: 1, rounds: 20, freq: 2 });
    assert.equal(m.rounds, 20);
    assert.ok(m.denseMeanMs > 0 && m.prunedMeanMs > 0, JSON.stringify(m));
    assert.ok(Number.isFinite(m.overheadPercent) && Number.isFinite(m.medianPairPercent));
    // The pruner's own time is clocked: re-masking every step, and mask updates cost more than a re-mask.
    assert.ok(m.prunerMeanMs > 0 && m.remaskMs > 0 && m.maskUpdateMs > 0, JSON.stringify(m));
    // The schedule ends on the last timed step: the pruned model reaches the 90% target.
    assert.ok(Math.abs(m.finalSparsity - 0.9) < 0.02, `${cell}: final sparsity ${m.finalSparsity}`);
  }
});

test('speech reading: the larger-budget sentence and the gru-medium comparison come from means over seeds', () => {
  const plan = speechPlan('full', { only: ['rnn-dense', 'gru-sparse', 'gru-medium'], seeds: 2 });
  // Six epochs of validation CER; the last four epochs (from the end of the second) move it by `fall`; train CER below valid.
  const run = (id: string, valid: number, fall: number, train: number, hidden: number, nonZero: number): SpeechRunOutcome => ({
    id, hidden, spec: { seed: id.endsWith('-s1235') ? 1235 : 1234 }, validCer: valid, testCer: valid + 0.001, trainEval: { cer: train, wer: 0, loss: 0, utterances: 10 }, params: { nonZero, total: 1e6 },
    history: [0.5, valid + fall, valid + fall / 2, valid + fall / 4, valid + fall / 8, valid].map((v) => ({ validCer: v, trainLoss: 0.01 })),
  }) as unknown as SpeechRunOutcome;
  const R = new Map<string, SpeechRunOutcome>([
    ['rnn-dense', run('rnn-dense', 0.006, 0.0005, 0.004, 256, 1e6)], ['rnn-dense-s1235', run('rnn-dense-s1235', 0.008, 0.0005, 0.004, 256, 1e6)],
    ['gru-sparse', run('gru-sparse', 0.020, 0, 0.01, 256, 72000)], ['gru-sparse-s1235', run('gru-sparse-s1235', 0.022, 0, 0.01, 256, 72000)],
    ['gru-medium', run('gru-medium', 0.030, 0, 0.01, 352, 104000)], ['gru-medium-s1235', run('gru-medium-s1235', 0.026, 0, 0.01, 352, 104000)],
  ]);
  const text = readSpeechResults(plan, R).join('\n');
  assert.match(text, /What a larger budget would change: rnn-dense fits its training utterances to 0\.40% CER against 0\.70% on valid, and its valid CER fell by 0\.05 points over its last 4 epochs \(means of 2 seeds\)\. More epochs would add little/);
  assert.match(text, /gru-medium \(GRU-352, 104,000 non-zeros\) ends worse than gru-sparse \(GRU-256, 72,000\) although it keeps more weights \(valid CER 2\.80 vs 2\.10, means of 2 and 2 seeds\)/);
  // Still improving by more than a tenth of the valid CER: more epochs would help.
  R.set('rnn-dense', run('rnn-dense', 0.006, 0.004, 0.004, 256, 1e6));
  assert.match(readSpeechResults(plan, R).join('\n'), /The baselines were still improving/);
});

// `sparse-rnn reproduce` (char-LM): the plan's arithmetic, and a micro plan (tiny GRUs, a few
// steps per run, a small synthetic corpus) through the whole runner: worker threads, dependencies,
// the tables/markdown/plots, and resume (a second invocation skips finished runs; a run whose
// result is missing continues from its checkpoint).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planListing, reproduce, resultsTargets, writeSection, type ReproduceOptions } from '../experiments/reproduce.js';
import { speechPlan } from '../experiments/speech.js';
import {
  charlmPlan, dependencies, displayId, estimateFullMinutes, gruPrunedSize, gruTotalParams, planKey, resolveRun, sotuReport, solveHidden, sparsityForShare, stepped, tableFourEpochs, transientText,
  type RunResult,
} from '../experiments/charlm.js';
import { resolveRecipe } from '../src/prune/index.js';
import { finishedRuns, leftOutText } from '../experiments/runner.js';

test('reproduce plan: parameter formulas, sizes and dependencies (REFERENCE.md §2)', () => {
  assert.equal(gruTotalParams(256, 64, 90), 276186);
  assert.equal(gruTotalParams(512, 64, 90), 939738);
  assert.equal(gruTotalParams(115, 64, 90), 78645);
  assert.equal(gruPrunedSize(256, 64, 90), 268800);
  assert.equal(gruPrunedSize(512, 64, 90), 930816);
  assert.equal(solveHidden(78645, 64, 90), 115);
  const full = charlmPlan('full', { seeds: 1, extended: false });
  assert.deepEqual(full.runs.map((r) => r.id).sort(), ['1', '2', '2a', '3', '4', '4m', '5', '5p', '6']);
  const by = new Map(full.runs.map((r) => [r.id, r]));
  assert.equal(by.get('1')!.hidden, 256);
  assert.equal(by.get('4')!.hidden, 512);
  // Run 3: total(H) nearest 10% of 268,800 + 7,386 = 34,266 → H = 61 (total 34,581; H = 60 gives 33,930).
  assert.equal(by.get('3')!.hidden, 61);
  for (const id of ['5', '5p', '6']) assert.deepEqual(dependencies(by.get(id)!), ['2']);
  // Dependencies come after what they depend on in the scheduling order.
  const pos = new Map(full.runs.map((r, i) => [r.id, i]));
  for (const r of full.runs) for (const d of dependencies(r)) assert.ok(pos.get(d)! < pos.get(r.id)!);
  assert.equal(full.epochs, 10);
  assert.equal(full.maxStepsPerEpoch, 0);
  // 4m (GRU-384 at 92%) is the larger sparse model under 25% of run 1's parameters.
  const nnz4m = Math.round(0.08 * gruPrunedSize(384, 64, 90)) + gruTotalParams(384, 64, 90) - gruPrunedSize(384, 64, 90);
  assert.ok(nnz4m < 0.25 * 276186);
  // The full plan's recipes resolve to the reference's schedule (REFERENCE.md §3) at S = 661.
  const fake = new Map([['2', { params: { prunedNnz: 26880 } } as unknown as RunResult]]);
  for (const r of full.runs) {
    const spec = resolveRun(full, r, 661, fake);
    if (!spec.recipe) continue;
    const res = resolveRecipe(spec.recipe, { epochs: 10, itersPerEpoch: 661 });
    assert.deepEqual(res.warnings, [], `run ${r.id}: ${res.warnings.join('; ')}`);
    if (res.narang) for (const k of Object.values(res.narang)) assert.deepEqual([k!.startItr, k!.rampItr, k!.endItr, k!.freq], [661, 1322, 3305, 100]);
    if (r.id === '5') assert.deepEqual(res.hard, { atItr: 1982, targetNnz: 26880 });
    if (r.id === '5p') assert.deepEqual(res.hard, { atItr: 3304, targetNnz: 26880 });
    if (r.id === '6') assert.deepEqual([res.agp!.startItr, res.agp!.endItr, res.agp!.freq, res.agp!.finalSparsity], [661, 3305, 100, 0.9]);
    if (r.id === '2a') assert.equal(res.narang!.recurrent!.phiMult, 1.5);
  }
  assert.deepEqual(stepped([[10, 0.2], [20, 0.5]], 30), [[0, 0], [10, 0], [10, 0.2], [20, 0.2], [20, 0.5], [30, 0.5]]);
  const est = estimateFullMinutes({ hidden: 256, msPerStep: 80 });
  assert.ok(est.minutes > 30 && est.minutes < 360, `estimate ${est.minutes}`);
});

test('reproduce plans: seeds as a dimension, the added rows, the SOTU sizes', () => {
  // --full: the claim rows get 3 seeds (S, S+1, S+2), the rest one; copies depend on the same seed's runs.
  const full = charlmPlan('full');
  const ids = full.runs.map((r) => r.id);
  for (const id of ['1', '2', '4', '4m', '5', '5p', '3', '2b', '2b44', '2br', '2b44r', '2b41r', '2b12r', '5e4', '5e6', '5e8', '2a', '2t']) for (const s of ['', '-s1235', '-s1236']) assert.ok(ids.includes(id + s), id + s);
  for (const id of ['6', '2q', '2q9']) {
    assert.ok(ids.includes(id), id);
    assert.ok(!ids.includes(`${id}-s1235`), `${id} has one seed`);
  }
  const by = new Map(full.runs.map((r) => [r.id, r]));
  assert.deepEqual(dependencies(by.get('5-s1236')!), ['2-s1236']);
  assert.deepEqual(dependencies(by.get('2q')!), ['1']);
  assert.deepEqual(dependencies(by.get('2t')!), ['2a']);
  assert.deepEqual(dependencies(by.get('2t-s1235')!), ['2a-s1235']);
  assert.equal(by.get('1-s1235')!.seed, 1235);
  assert.equal(by.get('1-s1235')!.row, '1');
  // Every row's first seed comes before any second seed (a partial plan has one seed of everything first).
  const firstSecond = ids.findIndex((id) => id.endsWith('-s1235'));
  assert.ok(ids.slice(firstSecond).every((id) => /-s123[56]$/.test(id)));
  // Table 4's five points at 10 epochs: 3, 4, 5, 6, 8 (the paper's 5, 7, 10, 12, 15 of 20).
  assert.deepEqual(tableFourEpochs(10), [3, 4, 5, 6, 8]);
  // --seeds N applies to every row, from --seed S.
  const s2 = charlmPlan('full', { seeds: 2, seed: 7, extended: false });
  assert.equal(s2.runs.length, 18);
  assert.deepEqual(s2.runs.filter((r) => r.row === '5').map((r) => [r.id, r.seed, dependencies(r)[0]]), [['5-s7', 7, '2-s7'], ['5-s8', 8, '2-s8']]);
  // Resolved specs carry each copy's seed and, for q from a dense run, its percentiles per layer type.
  const done = new Map([['1', { params: { prunedNnz: 0 }, absQ90: { input: 0.1, recurrent: 0.2, linear: 0.3 } } as unknown as RunResult]]);
  const q = resolveRun(full, by.get('2q')!, 661, done);
  assert.deepEqual((q.recipe as { schedules: Record<string, { q?: number; phiMult: number }> }).schedules.recurrent, { startItr: 661, rampItr: 1322, endItr: 3305, freq: 100, phiMult: 1.5, q: 0.2 });
  assert.equal(resolveRun(full, by.get('1-s1236')!, 661, done).seed, 1236);
  assert.throws(() => resolveRun(full, by.get('2q')!, 661, new Map([['1', { params: { prunedNnz: 0 } } as unknown as RunResult]])), /no weight percentiles/);
  const t = resolveRun(full, by.get('2t')!, 661, new Map([['2a', { params: { prunedNnz: 70805 } } as unknown as RunResult]]));
  assert.equal((t.recipe as { targetSparsity: number }).targetSparsity, Number((1 - 70805 / 268800).toFixed(8)));
  // SOTU: the larger sparse models keep ≤ 25% of GRU-256's parameters.
  const sotu = charlmPlan('full', { experiment: 'sotu', vocabSize: 98, seeds: 1 });
  assert.deepEqual(sotu.runs.map((r) => r.id), ['s-dense', 's-medium', 's-sparse', 's-big512', 's-big768']);
  for (const r of sotu.runs.filter((x) => x.id.startsWith('s-big'))) {
    const s = (r.prune as { targetSparsity: number }).targetSparsity;
    const nnz = gruTotalParams(r.hidden, 64, 98) - s * gruPrunedSize(r.hidden, 64, 98);
    assert.ok(nnz <= 0.25 * gruTotalParams(256, 64, 98), `${r.id}: ${nnz}`);
    assert.equal(sparsityForShare(r.hidden, 256, 64, 98, 0.245), s);
  }
  assert.ok(Math.abs((sotu.runs[3].prune as { targetSparsity: number }).targetSparsity - 0.935) < 0.005);
  assert.ok(Math.abs((sotu.runs[4].prune as { targetSparsity: number }).targetSparsity - 0.97) < 0.005);
  assert.equal(charlmPlan('full', { experiment: 'sotu', passes: 3 }).epochs, 3);
  assert.equal(charlmPlan('full', { experiment: 'sotu-budget' }).runs.length, 2);
  // A cosine plan is a plan of its own (summaries, section, plots); a constant plan's specs have no schedule
  // field, so the summaries written before schedules existed still match them.
  const cos = charlmPlan('full', { experiment: 'sotu', lrSchedule: 'cosine', seeds: 1 });
  assert.equal(planKey(cos), 'sotu-cosine');
  assert.equal(planKey(sotu), 'sotu');
  assert.equal(planKey(charlmPlan('full', { experiment: 'sotu-budget', lrSchedule: 'cosine' })), 'sotu-budget-cosine');
  assert.equal(planKey(full), 'charlm');
  assert.equal(resolveRun(cos, cos.runs[0], 6052, new Map()).lrSchedule, 'cosine');
  assert.ok(!('lrSchedule' in resolveRun(sotu, sotu.runs[0], 6052, new Map())));
  assert.equal(displayId('5p-s1235'), "5'-s1235");
  assert.equal(displayId('5p'), "5'");
});

test('a cosine SOTU section compares every row with its constant-learning-rate runs, and says whether the constant plan met the precondition', () => {
  const plan = charlmPlan('full', { experiment: 'sotu', lrSchedule: 'cosine', seeds: 2, vocabSize: 91, only: ['s-dense', 's-medium', 's-sparse'] });
  const run = (id: string, seed: number, hidden: number, valid: number, sparsity = 0, cosine = true): RunResult => ({
    id, spec: { id, hidden, seed, epochs: 1, ...(cosine ? { lrSchedule: 'cosine' } : {}) }, hidden, epochs: 1, stepsPerEpoch: 6052,
    history: [{ epoch: 1, trainBpc: valid - 0.2, validBpc: valid, seconds: 60, lr: 0 }], validBpc: valid, testBpc: valid + 0.1,
    params: { total: 276507, nonZero: Math.round(276507 * (1 - sparsity)), prunedNnz: 0 }, sparsity, tensors: [], prune: sparsity ? { method: 'narang' } : null,
    timing: { epochs: [{ seconds: 60, steps: 6052, trainMs: 50000 }], msPerStep: 8 },
  }) as unknown as RunResult;
  const id = (row: string, seed: number): string => (seed === 1234 ? row : `${row}-s${seed}`);
  const R = new Map<string, RunResult>(), C = new Map<string, RunResult>();
  for (const [seed, k] of [[1234, 0], [1235, 0.004]] as const) {
    R.set(id('s-dense', seed), run(id('s-dense', seed), seed, 256, 1.90 + k));
    R.set(id('s-medium', seed), run(id('s-medium', seed), seed, 512, 1.84 + k));
    R.set(id('s-sparse', seed), run(id('s-sparse', seed), seed, 256, 2.28 + k, 0.9));
    C.set(id('s-dense', seed), run(id('s-dense', seed), seed, 256, 1.93 + k, 0, false));
    C.set(id('s-medium', seed), run(id('s-medium', seed), seed, 512, 1.92 + 3.75 * k, 0, false));
    C.set(id('s-sparse', seed), run(id('s-sparse', seed), seed, 256, 2.15 + k, 0.9, false));
  }
  const dir = mkdtempSync(join(tmpdir(), 'sotu-cosine-'));
  const md = sotuReport(plan, R, {
    command: 'sparse-rnn reproduce --full --task sotu --lr-schedule cosine', plotsDir: join(dir, 'results'), resultsFile: join(dir, 'RESULTS.md'), machine: 'test',
    invocations: [], current: { command: '', startedAt: '', seconds: 0, started: [], completed: true, loadStart: [0, 0, 0], loadEnd: [0, 0, 0] }, skipped: [], constantRuns: C,
  });
  assert.match(md, /State of the Union, cosine learning rate/);
  assert.match(md, /Adam lr 0\.002 \(cosine schedule/);
  // The constant plan's lead: 1.93 → 1.92 on seed 1234, 1.934 → 1.935 on 1235: not established with two seeds this far apart.
  assert.match(md, /led the baseline by \+0\.23 ± 0\.28% \(SE, paired, n = 2\) on valid at this budget, over the seeds this plan ran \(not established by the rule below: not the clear lead/);
  assert.match(md, /\| s-dense \| GRU-256 dense baseline \| 1\.9320 ± 0\.0028 \(n = 2\) \| 1\.9020 ± 0\.0028 \(n = 2\) \| \+1\.55 ± 0\.00% \(SE, paired, n = 2\) \|/);
  assert.match(md, /\| s-sparse \| GRU-256 sparse, Narang \(target 90%\) \| 2\.1520 .* \| 2\.2820 .* \| −6\.04 ± 0\.0\d% \(SE, paired, n = 2\) \|/);
  assert.ok(existsSync(join(dir, 'results', 'sotu-cosine-valid.svg')) && existsSync(join(dir, 'results', 'sotu-cosine-params.svg')));
  // Without the constant runs there is no comparison (and no claim about them).
  const alone = sotuReport(plan, R, { command: '', plotsDir: join(dir, 'r2'), resultsFile: join(dir, 'R2.md'), machine: '', invocations: [], current: { command: '', startedAt: '', seconds: 0, started: [], completed: true, loadStart: [0, 0, 0], loadEnd: [0, 0, 0] }, skipped: [] });
  assert.doesNotMatch(alone, /Cosine against a constant|led the baseline/);
});

test('--only and --seed: a subset of a plan with the runs it starts from; unknown ids refused', async () => {
  const sub = charlmPlan('full', { only: ['1', '4'], seed: 7, seeds: 1 });
  assert.deepEqual(sub.runs.map((r) => r.id), ['1-s7', '4-s7']);
  assert.equal(sub.seed, 7);
  assert.equal(charlmPlan('full').seed, 1234);
  assert.throws(() => charlmPlan('full', { only: ['1', '9'] }), /unknown run id\(s\) 9; this plan's runs are 1, 2, /);
  // Hard pruning matches run 2's non-zeros, so run 2 comes along; 2t matches 2a.
  assert.deepEqual(charlmPlan('full', { only: ['5'], seeds: 1 }).runs.map((r) => r.id), ['2', '5']);
  assert.deepEqual(charlmPlan('full', { only: ['2', '5'], seeds: 1 }).runs.map((r) => r.id), ['2', '5']);
  assert.deepEqual(charlmPlan('full', { only: ['2t', '2q'], seeds: 1 }).runs.map((r) => r.id).sort(), ['1', '2q', '2a', '2t'].sort());
  const sp = speechPlan('full', { only: ['gru-dense', 'gru-medium'], seed: 2, seeds: 1 });
  assert.deepEqual(sp.runs.map((r) => r.id), ['gru-dense-s2', 'gru-medium-s2']);
  assert.equal(sp.seed, 2);
  assert.ok(speechPlan('full', { only: ['rnn-agp'], seeds: 1 }).runs.some((r) => r.id === 'rnn-sparse'), 'rnn-agp brings rnn-sparse');
  // Ids belong to one plan, so --only with --task all is refused before anything runs.
  await assert.rejects(reproduce({ mode: 'quick', task: 'all', out: '/nonexistent', only: ['1'] }), /one plan/);
  // A file where a folder goes: one line naming the option, before any work.
  const file = join(mkdtempSync(join(tmpdir(), 'srnn-repro-file-')), 'x.json');
  writeFileSync(file, '{}');
  await assert.rejects(reproduce({ mode: 'quick', task: 'speech', out: file }), /^Error: -o .*x\.json: is a file, not a folder/);
  await assert.rejects(reproduce({ mode: 'quick', task: 'speech', out: '/nonexistent', summaries: file }), /--summaries .*x\.json: is a file, not a folder/);
  await assert.rejects(reproduce({ mode: 'quick', task: 'speech', out: '/nonexistent', plotsDir: file }), /--plots .*x\.json: is a file, not a folder/);
});

test('--dry-run lists every run of the plan with its seed, dependencies and an estimated time', () => {
  const md = planListing({ mode: 'full', task: 'charlm', out: 'unused', seeds: 2 });
  assert.match(md, /^\| 5-s1235 \| GRU-256 \| 1235 \| hard pruning at epoch 3, seed 1235 \| 2-s1235 \| \d+ \|$/m);
  assert.match(md, /^\| 2q \| GRU-256 \| 1234 \| [^|]+ \| 1 \| \d+ \|$/m);
  assert.match(md, /42 runs; about [\d.]+ (h|min) wall with 2 at a time/);
  // Both tasks of 'all'; the speech plan lists its Nesterov rows.
  const all = planListing({ mode: 'full', task: 'all', out: 'unused', parallel: 1 });
  assert.match(all, /## charlm \(full\)/);
  assert.match(all, /^\| rnn-sparse-sgd \| RNN-256 \|/m);
});

test('the hard-cut transient is labelled by when each value was measured', () => {
  const v: Record<number, number> = { 3: 2.3, 4: 2.9, 5: 2.5 };
  const t = transientText('run 5', 4, (e) => v[e], 2.4, (x) => x.toFixed(1));
  assert.equal(t, "run 5: 2.3 before the cut (end of epoch 3), 2.9 right after it (end of epoch 4: the cut is on that epoch's last step, before its validation), 2.5 one epoch later, 2.4 at the end");
});

test('writeSection replaces its own section and keeps the others', () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-repro-md-'));
  const f = join(dir, 'R.md');
  writeFileSync(f, '# Results\n\n<!-- demo:begin -->\ndemo text\n<!-- demo:end -->\n');
  writeSection(f, 'charlm', 'first');
  writeSection(f, 'charlm', 'second');
  const t = readFileSync(f, 'utf8');
  assert.match(t, /demo text/);
  assert.doesNotMatch(t, /first/);
  assert.equal(t.split('<!-- reproduce:charlm:begin -->').length, 2);
  assert.match(t, /<!-- reproduce:charlm:begin -->\nsecond\n<!-- reproduce:charlm:end -->/);
});

function syntheticCorpus(n: number): string {
  const words = ['the', 'whale', 'sea', 'ship', 'captain', 'white', 'harpoon', 'deck', 'and', 'of', 'a', 'Ahab', 'said', 'boat'];
  let s = 1234, out = '';
  while (out.length < n) {
    s = (s * 1103515245 + 12345) >>> 0;
    out += words[s % words.length] + ((s >>> 8) % 9 === 0 ? '.\n' : ' ');
  }
  return out.slice(0, n);
}

test('reproduce: a micro plan runs end to end, writes the tables, and resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-repro-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, syntheticCorpus(6000));
  const resultsFile = join(dir, 'RESULTS.md');
  writeFileSync(resultsFile, '# Results\n\n<!-- demo:begin -->\nthe demo section\n<!-- demo:end -->\n');
  const logs: string[] = [];
  const opts: ReproduceOptions = {
    mode: 'quick', task: 'charlm', out: join(dir, 'runs'), resultsFile, plotsDir: join(dir, 'results'), bench: false,
    log: (s) => logs.push(s), command: 'test micro plan',
    plan: {
      corpus, sizes: { base: 8, big: 16, medium: 12 }, epochs: 3, maxStepsPerEpoch: 4, evalChars: 0, batch: 4, seqLen: 8,
      window: { start: 1, ramp: 1.5, end: 2.5, freq: 2 }, hardEpochs: [1, 2], extended: true,
    },
  };
  const r1 = await reproduce(opts);
  assert.ok(r1.completed, logs.join('\n'));
  const c = r1.charlm!;
  const ALL = ['1', '2', '2a', '2b', '2b12r', '2b41r', '2b44', '2b44r', '2br', '2q', '2q9', '2t', '3', '4', '4m', '5', '5p', '6'];
  assert.deepEqual(c.trained.sort(), ALL);
  assert.equal(c.skipped.length, 0);
  const R = c.results;
  // Matched runs: hard keeps exactly run 2's non-zeros; AGP within rounding per tensor.
  const nnz2 = R.get('2')!.params.prunedNnz;
  assert.ok(R.get('2')!.sparsity > 0.5, `run 2 sparsity ${R.get('2')!.sparsity}`);
  assert.equal(R.get('5')!.params.prunedNnz, nnz2);
  assert.equal(R.get('5p')!.params.prunedNnz, nnz2);
  assert.ok(Math.abs(R.get('6')!.params.prunedNnz - nnz2) <= 3);
  assert.equal(R.get('1')!.sparsity, 0);
  // Algorithm 1 with q from run 1's trained weights; target mode at run 2a's non-zeros (within rounding per type).
  const q2 = R.get('2q')!.spec.recipe as { schedules: Record<string, { q?: number }> };
  assert.equal(q2.schedules.recurrent.q, Number(R.get('1')!.absQ90!.recurrent.toPrecision(8)));
  assert.ok(Math.abs(R.get('2t')!.params.prunedNnz - R.get('2a')!.params.prunedNnz) <= 3);
  // Run 2 in 1×4 blocks: the recipe carries the block shape, the sparsity is run 2's (within a block per tensor).
  assert.deepEqual((R.get('2b')!.spec.recipe as { block?: number[] }).block, [1, 4]);
  assert.ok(Math.abs(R.get('2b')!.params.prunedNnz - nnz2) <= 4 * 3, `2b ${R.get('2b')!.params.prunedNnz} vs 2 ${nnz2}`);
  assert.deepEqual((R.get('2b44')!.spec.recipe as { block?: number[] }).block, [4, 4]);
  // Each finished run's summary (its result, no checkpoint) is kept beside the run folders.
  const summaries = join(dir, 'runs', 'summaries', 'charlm');
  for (const id of ALL) assert.ok(existsSync(join(summaries, `${id}.json`)), `summary ${id}`);
  for (const r of R.values()) {
    assert.equal(r.history.length, 3);
    assert.ok(Number.isFinite(r.validBpc) && Number.isFinite(r.testBpc));
    assert.equal(r.stepsPerEpoch, 4);
  }
  const md = r1.sections.charlm!;
  for (const h of ['### Claims', '### Table 3 analog', '### Table 4 analog', '### Per-layer sparsity', '### Table 6 analog', '### Training time', '### Figures'])
    assert.ok(md.includes(h), `missing ${h}`);
  for (const id of ['1', '2', '2a', '3', '4', '4m', '6']) assert.match(md, new RegExp(`^\\| ${id} \\| GRU`, 'm'), `Table 3 row ${id}`);
  for (const m of ['hard (run 5)', "hard (run 5')", 'gradual Narang (run 2)', 'AGP (run 6)']) assert.ok(md.includes(m), `Table 4 row ${m}`);
  for (const cl of ['within 10%', '≤ 25%', 'Gradual pruning beats hard', 'within 5% of dense', 'Block pruning (1×4)', 'Block pruning (4×4)']) assert.ok(md.includes(cl), `claim ${cl}`);
  assert.match(md, /QUICK/);
  const text = readFileSync(resultsFile, 'utf8');
  assert.match(text, /the demo section/);
  assert.match(text, /<!-- reproduce:charlm:begin -->[\s\S]*<!-- reproduce:charlm:end -->/);
  for (const f of ['charlm-fig1-valid.svg', 'charlm-fig1-hard.svg', 'charlm-fig2-sparsity.svg', 'charlm-fig2a-layers.svg'])
    assert.ok(existsSync(join(dir, 'results', f)), f);
  assert.match(text, /!\[[^\]]*\]\(results\/charlm-fig1-valid\.svg\)/);
  // (the speech half has its own micro-plan test: test/reproduce-speech.test.ts)

  const inv = JSON.parse(readFileSync(join(dir, 'runs', 'charlm', 'invocations.json'), 'utf8')) as { started: string[] }[];
  assert.equal(inv.length, 1);
  assert.equal(inv[0].started.length, ALL.length);

  // Second invocation: everything finished → all skipped, nothing retrained.
  const res2 = join(dir, 'runs', 'charlm', 'run-2', 'result.json');
  const mtime = statSync(res2).mtimeMs;
  const r2 = await reproduce({ ...opts, task: 'charlm' });
  assert.ok(r2.completed);
  assert.equal(r2.charlm!.trained.length, 0);
  assert.equal(r2.charlm!.skipped.length, ALL.length);
  assert.equal(statSync(res2).mtimeMs, mtime);
  assert.equal(r2.charlm!.results.get('4')!.validBpc, R.get('4')!.validBpc);

  // A plan continued elsewhere: a run whose folder is gone is taken from its summary, not retrained.
  rmSync(join(dir, 'runs', 'charlm', 'run-4'), { recursive: true });
  const r2b = await reproduce({ ...opts, task: 'charlm', bench: false });
  assert.equal(r2b.charlm!.trained.length, 0);
  assert.equal(r2b.charlm!.results.get('4')!.validBpc, R.get('4')!.validBpc);
  // --report-only: a run that has not finished (no folder, no summary) is left out with the runs that
  // wait for it (run 5 and 5' cut at run 2's non-zeros), nothing trains, and the report says so.
  const s2 = join(summaries, '2.json');
  const keep2 = readFileSync(s2);
  rmSync(s2);
  rmSync(join(dir, 'runs', 'charlm', 'run-2'), { recursive: true, force: true });
  const reportOnlyFile = join(dir, 'R-only.md');
  const ro = await reproduce({ ...opts, resultsFile: reportOnlyFile, reportOnly: true });
  assert.equal(ro.charlm!.trained.length, 0);
  assert.deepEqual([...ro.charlm!.results.keys()].filter((id) => ['2', '5', '5p', '6'].includes(id)), [],
    'run 2 and the runs matched to its non-zeros are left out');
  assert.ok(ro.charlm!.results.has('1') && ro.charlm!.results.has('4'));
  assert.match(ro.sections.charlm!, /Written with `--report-only` from the \d+ finished runs; \d+ run\(s\) of the plan had not finished and are left out: 2,/);
  assert.equal(existsSync(join(dir, 'runs', 'charlm', 'run-2')), false, 'nothing trained');
  writeFileSync(s2, keep2);
  await assert.rejects(reproduce({ ...opts, out: join(dir, 'empty'), summaries: join(dir, 'none'), reportOnly: true }), /--report-only: no run of the charlm plan has finished yet/);

  // A summary of different settings is not reused: that run trains again.
  const s3 = join(summaries, '3.json');
  const j3 = JSON.parse(readFileSync(s3, 'utf8'));
  j3.spec.lr = 1;
  writeFileSync(s3, JSON.stringify(j3));
  rmSync(join(dir, 'runs', 'charlm', 'run-3'), { recursive: true });
  const r2c = await reproduce({ ...opts, task: 'charlm' });
  assert.deepEqual(r2c.charlm!.trained, ['3']);
  assert.equal(JSON.parse(readFileSync(s3, 'utf8')).spec.lr, 2e-3);

  // A run without its result continues from its checkpoint (here: already at the last epoch).
  rmSync(join(dir, 'runs', 'charlm', 'run-6', 'result.json'));
  rmSync(join(summaries, '6.json'));
  logs.length = 0;
  const r3 = await reproduce({ ...opts, task: 'charlm' });
  assert.deepEqual(r3.charlm!.trained, ['6']);
  assert.ok(logs.some((l) => l.includes('run 6') && l.includes('continuing from its checkpoint')), logs.join('\n'));
  assert.equal((JSON.parse(readFileSync(join(dir, 'runs', 'charlm', 'invocations.json'), 'utf8')) as unknown[]).length, 3);
  const r6: RunResult = r3.charlm!.results.get('6')!;
  assert.equal(r6.validBpc, R.get('6')!.validBpc);
  assert.equal(r6.testBpc, R.get('6')!.testBpc);

  // --quick without --results writes into its run folder and never the repository's RESULTS.md or results/.
  const cwd = process.cwd();
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'RESULTS.md'), 'full results\n');
  process.chdir(repo);
  try {
    assert.deepEqual(resultsTargets({ mode: 'full', out: 'runs/x' }), { resultsFile: 'RESULTS.md', plotsDir: 'results' });
    assert.deepEqual(resultsTargets({ mode: 'quick', out: 'runs/x', resultsFile: 'R.md' }), { resultsFile: 'R.md', plotsDir: 'results' });
    const r4 = await reproduce({ ...opts, resultsFile: undefined, plotsDir: undefined });
    assert.ok(r4.completed);
    assert.equal(readFileSync(join(repo, 'RESULTS.md'), 'utf8'), 'full results\n', 'the repository\'s RESULTS.md is untouched');
    assert.ok(!existsSync(join(repo, 'results')), 'no results/ in the repository');
    assert.match(readFileSync(join(dir, 'runs', 'RESULTS.md'), 'utf8'), /<!-- reproduce:charlm:begin -->[\s\S]*QUICK/);
    assert.ok(existsSync(join(dir, 'runs', 'results', 'charlm-fig1-valid.svg')));
  } finally {
    process.chdir(cwd);
  }
});

test('leftOutText: the runs --report-only leaves out, by row and seed range', () => {
  const copy = (row: string, seed: number) => ({ id: seed === 1234 ? row : `${row}-s${seed}`, label: row, row, seed });
  const left = [...[1237, 1238, 1239, 1240, 1241].flatMap((s) => [copy('1', s), copy('4', s)]), copy('6', 1235), copy('6', 1237), copy('3', 1236), copy('3', 1238), copy('9', 1239), { id: 'x', label: 'x' }];
  assert.equal(leftOutText(left), 'seeds 1237–1241 of rows 1, 4; seeds 1235, 1237 of row 6; seeds 1236, 1238 of row 3; seed 1239 of row 9; x');
  // A few are named one by one.
  assert.equal(leftOutText([copy('2q', 1235), copy('1', 1234)]), '2q-s1235, 1');
});

test('finishedRuns keeps the finished runs whose dependencies are kept, in plan order', () => {
  const runs = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, label: id }));
  const deps: Record<string, string[]> = { b: ['a'], c: ['b'], d: ['x'], e: [] };
  const done = new Set(['a', 'c', 'd', 'e']); // b has not finished, so c (which waits for it) is left out too
  const { kept, left } = finishedRuns(runs, (r) => deps[r.id] ?? [], (id) => done.has(id));
  assert.deepEqual(kept.map((r) => r.id), ['a', 'e']);
  assert.deepEqual(left, ['b', 'c', 'd']);
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { Heap } from '../src/kernels/heap.js';
import { Param } from '../src/nn/param.js';
import type { ParamKind } from '../src/nn/config.js';
import { Rng } from '../src/util/rng.js';
import {
  Pruner,
  type PruneRecipe,
  agpPoints,
  agpSparsity,
  agpSparsityAt,
  csrBytes,
  defaultNarangSchedule,
  defaultNarangWindow,
  formatReportTable,
  kthSmallest,
  narangEpsilon,
  narangEpsilonFormula,
  narangFinalEpsilon,
  narangPoints,
  parseRecipe,
  percentileNearestRank,
  phiMultForFinalEpsilon,
  qFromWeights,
  recipeWithQ,
  reportJson,
  resolveRecipe,
  roundHalfEven,
  svgLinePlot,
  thetaFromQ,
} from '../src/prune/index.js';
import { checkpointSchedules, computeSchedule, registerSchedule } from '../src/cli/commands/schedule.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REF = { startItr: 661, rampItr: 1322, endItr: 3305, freq: 100 };
const close = (a: number, b: number, tol = 1e-6, msg?: string): void => assert.ok(Math.abs(a - b) <= tol, msg ?? `${a} ≠ ${b} (±${tol})`);

function refSchedule(q = 1, m = 1.5) {
  const { theta, phi } = thetaFromQ(q, REF.startItr, REF.rampItr, REF.endItr, REF.freq, m);
  return { ...REF, theta, phi };
}

describe('Narang schedule (Algorithm 1, Eq. 1)', () => {
  test('REFERENCE.md test vectors', () => {
    const s = refSchedule();
    close(s.theta, 200 / 7271, 1e-12);
    close(s.theta, 0.0275065, 1e-7);
    close(narangEpsilon(s, 700)!, 0.011003);
    close(narangEpsilon(s, 1300)!, 0.176042);
    close(narangEpsilon(s, 1400)!, 0.214688);
    close(narangEpsilon(s, 3300)!, 0.998625);
    close(narangEpsilon(refSchedule(1, 2.5), 3300)!, 1.542979);
    close(narangEpsilon(refSchedule(1, 2.9), 3300)!, 1.760721);
    // q scales ε linearly (REFERENCE §4.4: final ε = 0.9986 q for ih of run 2)
    close(narangEpsilon(refSchedule(0.189702), 3300)!, 0.189441, 1e-6);
  });

  test('27 updates at 700, 800, …, 3300', () => {
    const pts = narangPoints(refSchedule());
    assert.equal(pts.length, 27);
    assert.deepEqual(pts.map((p) => p.itr), Array.from({ length: 27 }, (_, i) => 700 + 100 * i));
    for (let i = 1; i < pts.length; i++) assert.ok(pts[i].epsilon > pts[i - 1].epsilon, 'ε increases');
    close(narangFinalEpsilon(refSchedule())!, 0.998625);
  });

  test('freq gating and the +1 terms', () => {
    const s = refSchedule();
    for (const itr of [0, 100, 600, 661, 3305, 3400, 5000, 701, 750, 1322, 3299]) assert.equal(narangEpsilon(s, itr), null, `no update at ${itr}`);
    // start itself a multiple of freq: no update at start (strict), first at start + freq
    const s2 = { startItr: 600, rampItr: 1000, endItr: 2000, freq: 100, theta: 1, phi: 2 };
    assert.equal(narangEpsilon(s2, 600), null);
    close(narangEpsilon(s2, 700)!, (1 * (700 - 600 + 1)) / 100, 1e-12);
    close(narangEpsilon(s2, 1000)!, (1 * (1000 - 600 + 1) + 2 * (1000 - 1000 + 1)) / 100, 1e-12); // ramp branch at itr = ramp
    close(narangEpsilon(s2, 1900)!, (401 + 2 * 901) / 100, 1e-12);
    assert.equal(narangEpsilon(s2, 2000), null, 'no update at endItr');
  });

  test('θ from Eq. 1 and φ = phiMult·θ', () => {
    const { theta, phi } = thetaFromQ(0.5, 2700, 13750, 27000, 100, 2);
    close(theta, (2 * 0.5 * 100) / (2 * (13750 - 2700) + 3 * (27000 - 13750)), 1e-15);
    close(phi, 2 * theta, 1e-15);
    // PAPER.md §1.3: start 2700, ramp 13750, end 27000, q = 1 → the formula at endItr ≈ 1 (the +1 terms add a
    // small excess: 1.00008 with both +1 terms; PAPER.md's 1.00003 drops the second one)
    const s = { startItr: 2700, rampItr: 13750, endItr: 27000, freq: 100, ...thetaFromQ(1, 2700, 13750, 27000, 100) };
    close(narangEpsilonFormula(s, 27000), 1.0000808, 1e-6);
    assert.throws(() => thetaFromQ(1, 10, 10, 10, 100), /must be > 0/);
  });

  test('calibrated phiMult: final ε = 1.760721 q ⇔ φ = 2.9θ', () => {
    const s = refSchedule();
    close(phiMultForFinalEpsilon(REF, s.theta, 1.760721)!, 2.9, 1e-5);
  });

  test('Table 1 defaults for E=10, S=661 and E=20, S=2750', () => {
    const w = defaultNarangWindow({ epochs: 10, itersPerEpoch: 661 });
    assert.deepEqual([w.startItr, w.rampItr, w.endItr, w.freq], [661, 1322, 3305, 100]);
    assert.equal(w.warnings.length, 0);
    const s = defaultNarangSchedule({ epochs: 10, itersPerEpoch: 661, q: 1 });
    close(narangEpsilon(s, 3300)!, 0.998625);
    const w20 = defaultNarangWindow({ epochs: 20, itersPerEpoch: 2750 });
    assert.deepEqual([w20.startItr, w20.rampItr, w20.endItr], [2750, 13750, 27500]);
    assert.throws(() => defaultNarangSchedule({ epochs: 10, itersPerEpoch: 661 }), /exactly one of q and theta/);
  });

  test('degenerate small runs are clamped to start < ramp < end, freq shrinks with a warning', () => {
    for (const [E, S] of [[1, 100], [2, 50], [3, 661], [4, 661], [5, 30], [7, 10], [8, 10], [10, 20]]) {
      const w = defaultNarangWindow({ epochs: E, itersPerEpoch: S });
      assert.ok(w.startItr < w.rampItr && w.rampItr < w.endItr, `E=${E} S=${S}: ${JSON.stringify(w)}`);
      assert.ok(w.endItr <= E * S);
      const n = narangPoints({ ...w, theta: 1, phi: 1 }).length;
      assert.ok(n >= 1, `E=${E} S=${S}: ${n} updates`);
    }
    const w4 = defaultNarangWindow({ epochs: 4, itersPerEpoch: 661 });
    assert.deepEqual([w4.startItr, w4.endItr], [661, 1322]);
    assert.ok(w4.warnings.some((m) => /rampItr/.test(m)));
    const small = defaultNarangWindow({ epochs: 10, itersPerEpoch: 20 });
    assert.ok(small.freq < 100 && small.warnings.some((m) => /freq/.test(m)));
    assert.throws(() => defaultNarangWindow({ epochs: 10, itersPerEpoch: 20, freq: 100 }), /no mask update/);
    assert.throws(() => defaultNarangWindow({ epochs: 1, itersPerEpoch: 2 }), /too short/);
  });
});

describe('AGP schedule', () => {
  const s = { startItr: 661, endItr: 3305, freq: 100, initialSparsity: 0, finalSparsity: 0.9 };
  test('cubic values and update iterations', () => {
    const pts = agpPoints(s);
    assert.equal(pts.length, 28);
    assert.equal(pts[0].itr, 661);
    assert.equal(pts[26].itr, 3261);
    assert.equal(pts[27].itr, 3305);
    close(pts[0].sparsity, 0, 1e-15);
    close(pts[27].sparsity, 0.9, 1e-15);
    close(agpSparsityAt(s, 661 + 1322), 0.9 * (1 - 0.125), 1e-12);
    close(agpSparsity(s, 761)!, 0.9 * (1 - (1 - 100 / 2644) ** 3), 1e-12);
    assert.equal(agpSparsity(s, 762), null);
    assert.equal(agpSparsity(s, 660), null);
    assert.equal(agpSparsity(s, 3361), null);
    assert.equal(agpSparsityAt(s, 9999), 0.9);
  });
});

describe('selection', () => {
  const r = new Rng(7);
  test('kthSmallest and percentileNearestRank agree with a sort (duplicates, n = 1)', () => {
    for (const n of [1, 2, 3, 7, 10, 100, 601, 602, 1000, 5003]) {
      for (const dup of [false, true]) {
        const a = new Float32Array(n);
        for (let i = 0; i < n; i++) a[i] = dup ? Math.round(r.uniform(-5, 5)) : r.normal();
        const sorted = Float32Array.from(a).sort();
        const ks = n <= 100 ? Array.from({ length: n }, (_, i) => i + 1) : [1, 2, n >> 1, n - 1, n, 1 + Math.floor(r.next() * n)];
        // (=== : -0 and 0 are the same magnitude)
        for (const k of ks) assert.ok(kthSmallest(Float32Array.from(a), k) === sorted[k - 1], `n=${n} k=${k} dup=${dup}`);
        for (const p of [1, 10, 50, 70, 90, 99, 100, 33.3]) {
          const want = sorted[Math.min(n, Math.max(1, Math.ceil((p * n) / 100))) - 1];
          assert.ok(percentileNearestRank(Float32Array.from(a), p) === want, `n=${n} p=${p}`);
        }
      }
    }
    // all equal, large
    assert.equal(kthSmallest(new Float32Array(10000).fill(3), 5000), 3);
    // p·n/100 is exact: 70th percentile of 10 values is the 7th
    assert.equal(percentileNearestRank(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 70), 7);
    assert.equal(percentileNearestRank(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 90), 9);
  });
  test('argument checks', () => {
    assert.throws(() => kthSmallest(new Float32Array(0), 1), /empty/);
    assert.throws(() => kthSmallest(new Float32Array(3), 4), /k must be/);
    assert.throws(() => kthSmallest(Float32Array.from([1, NaN]), 1), /NaN/);
    assert.throws(() => percentileNearestRank(new Float32Array(3), 0), /percentile/);
  });
});

// ---------------------------------------------------------------------------------------------
// Pruner on hand-made Params

function makeParams(heap: Heap, specs: [string, ParamKind, number[]][], seed = 1, scale = 1): Param[] {
  const r = new Rng(seed);
  return specs.map(([name, kind, shape]) => {
    const p = new Param(heap, name, kind, shape);
    const d = p.data;
    for (let i = 0; i < d.length; i++) d[i] = scale * r.normal();
    return p;
  });
}

const MODEL: [string, ParamKind, number[]][] = [
  ['embedding.weight', 'embedding', [20, 8]],
  ['rnn.weight_ih_l0', 'input', [48, 8]],
  ['rnn.weight_hh_l0', 'recurrent', [48, 16]],
  ['rnn.bias_ih_l0', 'bias', [48]],
  ['rnn.bias_hh_l0', 'bias', [48]],
  ['fc.weight', 'linear', [20, 16]],
  ['fc.bias', 'bias', [20]],
];

/** A random-walk "optimizer step": w += lr·N(0,1) (+ a small growth, like real training). */
function fakeStep(ps: Param[], r: Rng, lr = 0.01, growth = 0): void {
  for (const p of ps) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) d[i] = d[i] * (1 + growth) + lr * r.normal();
  }
}

function run(pr: Pruner, ps: Param[], from: number, to: number, r: Rng, lr = 0.01, growth = 0): void {
  for (let itr = from; itr < to; itr++) {
    fakeStep(ps, r, lr, growth);
    pr.afterStep(itr);
  }
}

describe('Pruner: mask semantics', () => {
  const sched = { startItr: 0, rampItr: 50, endItr: 50, freq: 10, theta: 0.1, phi: 0.1 }; // ε(10) = 0.11, ε(20) = 0.21
  const recipe = (revival: 'paper' | 'never'): PruneRecipe => ({ method: 'narang', kinds: ['recurrent'], revival, schedules: { recurrent: sched } });

  for (const revival of ['paper', 'never'] as const) {
    test(`revival "${revival}"`, () => {
      const heap = new Heap();
      const p = new Param(heap, 'w', 'recurrent', [2, 2]);
      const b = new Param(heap, 'b', 'bias', [2]);
      const zs: { name: string; mask: number[] }[] = [];
      const pr = new Pruner(recipe(revival), [p, b], { epochs: 1, itersPerEpoch: 100, zeroState: (q, m) => zs.push({ name: q.name, mask: [...m] }) });
      assert.equal(b.mask, -1, 'biases get no mask');
      p.data.set([0.1, 0.5, -0.105, 0.9]);
      b.data.set([0.001, -0.001]);
      for (let i = 0; i <= 10; i++) pr.afterStep(i);
      close(pr.epsilons().recurrent!, 0.11, 1e-12);
      assert.deepEqual([...p.maskData!], [0, 1, 0, 1]);
      assert.deepEqual([...p.data].map((x) => Math.round(x * 100) / 100 + 0), [0, 0.5, 0, 0.9]);
      assert.deepEqual(zs, [{ name: 'w', mask: [0, 1, 0, 1] }]);
      // the optimizer moves a pruned weight above the next ε (0.21): it revives only with "paper"
      for (let i = 11; i <= 20; i++) {
        p.data[0] = 0.3;
        if (i === 20) p.data[2] = 0.01; // a small move: stays pruned either way
        pr.afterStep(i);
      }
      const rec = pr.history[pr.history.length - 1];
      assert.equal(rec.itr, 20);
      if (revival === 'paper') {
        assert.deepEqual([...p.maskData!], [1, 1, 0, 1]);
        assert.equal(rec.tensors[0].revived, 1);
        assert.equal(pr.state().counters.revivals, 1);
        close(p.data[0], 0.3, 1e-7);
      } else {
        assert.deepEqual([...p.maskData!], [0, 1, 0, 1]);
        assert.equal(rec.tensors[0].revived, 0);
        assert.equal(p.data[0], 0);
      }
      assert.equal(p.data[2], 0, 're-masked after every step');
      assert.equal(zs.length, 2);
      assert.deepEqual(zs[1].mask, [...p.maskData!]);
      assert.deepEqual([...b.data].map((x) => Math.round(x * 1e6)), [1000, -1000], 'biases untouched');
    });
  }

  test('gradients are not modified', () => {
    const heap = new Heap();
    const [p] = makeParams(heap, [['w', 'recurrent', [4, 4]]]);
    p.grad.fill(0.25);
    const pr = new Pruner(recipe('paper'), [p], { epochs: 1, itersPerEpoch: 100 });
    for (let i = 0; i < 30; i++) pr.afterStep(i);
    assert.ok(p.sparsity() > 0);
    assert.ok([...p.grad].every((g) => g === 0.25));
  });

  test('embeddings only when asked; biases never', () => {
    const heap = new Heap();
    const ps = makeParams(heap, MODEL);
    const base: PruneRecipe = { method: 'oneshot', targetSparsity: 0.5 };
    const pr = new Pruner(base, ps, { epochs: 1, itersPerEpoch: 10 });
    const byName = Object.fromEntries(ps.map((p) => [p.name, p]));
    assert.equal(byName['embedding.weight'].mask, -1);
    assert.equal(byName['embedding.weight'].sparsity(), 0);
    for (const n of ['rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'fc.bias']) assert.equal(byName[n].mask, -1);
    for (const n of ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'fc.weight']) close(byName[n].sparsity(), 0.5, 1e-9);
    assert.deepEqual(pr.pruned.map((p) => p.name), ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'fc.weight']);

    const heap2 = new Heap();
    const ps2 = makeParams(heap2, MODEL);
    new Pruner({ ...base, pruneEmbedding: true }, ps2, { epochs: 1, itersPerEpoch: 10 });
    close(ps2[0].sparsity(), 0.5, 1e-9);
    const ps3 = makeParams(new Heap(), MODEL);
    new Pruner({ ...base, kinds: ['embedding'] }, ps3, { epochs: 1, itersPerEpoch: 10 });
    close(ps3[0].sparsity(), 0.5, 1e-9);
    assert.equal(ps3[1].sparsity(), 0);
    assert.throws(() => parseRecipe({ method: 'narang', kinds: ['recurrent', 'bias'] }), /biases are never pruned/);
  });

  test('q measured at startItr (on the weights before step startItr), θ by Eq. 1', () => {
    const heap = new Heap();
    const ps = makeParams(heap, MODEL, 3);
    const pr = new Pruner({ method: 'narang' }, ps, { epochs: 10, itersPerEpoch: 30 });
    const r = new Rng(5);
    run(pr, ps, 0, 30, r); // itr 0..29: the last call measures q on the weights at the start of itr 30
    const st = pr.state();
    const rec = st.resolved.narang!.recurrent!;
    assert.equal(rec.startItr, 30);
    const hh = ps.find((p) => p.name === 'rnn.weight_hh_l0')!;
    const q = percentileNearestRank(Float32Array.from(hh.data, Math.abs), 90);
    assert.equal(st.kinds.recurrent!.q, q);
    assert.equal(st.kinds.recurrent!.qMeasuredAt, 30);
    close(st.kinds.recurrent!.theta!, thetaFromQ(q, rec.startItr, rec.rampItr, rec.endItr, rec.freq).theta, 1e-15);
    close(st.kinds.recurrent!.phi!, 1.5 * st.kinds.recurrent!.theta!, 1e-15);
    assert.equal(st.history.length, 0);
  });

  test('q from a trained checkpoint (all tensors of a kind concatenated)', () => {
    const heap = new Heap();
    const ps = makeParams(heap, [...MODEL, ['rnn.weight_hh_l1', 'recurrent', [48, 16]]], 4);
    const weights = new Map(ps.map((p) => [p.name, Float32Array.from(p.data)]));
    const kinds = new Map(ps.map((p) => [p.name, p.kind]));
    const q = qFromWeights(weights, kinds);
    const both = Float32Array.from([...weights.get('rnn.weight_hh_l0')!, ...weights.get('rnn.weight_hh_l1')!], Math.abs);
    assert.equal(q.recurrent, percentileNearestRank(both, 90));
    assert.equal((q as Record<string, number>).bias, undefined);
    const rcp = recipeWithQ({ method: 'narang' }, q);
    assert.equal(rcp.schedules!.recurrent!.q, q.recurrent);
    const pr = new Pruner(rcp, ps, { epochs: 10, itersPerEpoch: 661 });
    assert.equal(pr.state().kinds.recurrent!.q, q.recurrent);
    close(pr.schedule('recurrent')!.theta, 0.0275065 * q.recurrent!, 1e-7 * q.recurrent!);
  });
});

describe('Pruner: baselines', () => {
  test('hard pruning keeps exactly targetNnz with one global threshold (ties included)', () => {
    const heap = new Heap();
    const ps = makeParams(heap, MODEL, 9);
    for (const p of ps) {
      const d = p.data;
      for (let i = 0; i < d.length; i++) d[i] = Math.round(d[i] * 4) / 4; // many ties
    }
    const pr = new Pruner({ method: 'hard', hard: { atItr: 4, targetNnz: 300 } }, ps, { epochs: 2, itersPerEpoch: 10 });
    for (let i = 0; i < 4; i++) pr.afterStep(i);
    assert.equal(pr.history.length, 0);
    pr.afterStep(4);
    const pruned = pr.pruned;
    const nnz = pruned.reduce((a, p) => a + [...p.data].filter((x) => x !== 0).length, 0);
    assert.equal(nnz, 300);
    const kept = pruned.flatMap((p) => [...p.data].filter((x) => x !== 0).map(Math.abs));
    const dropped = pruned.flatMap((p) => [...p.data].map((x, i) => (p.maskData![i] === 0 ? Math.abs(x) : -1)).filter((x) => x >= 0));
    assert.ok(Math.min(...kept) >= Math.max(...dropped), 'one global threshold');
    // per-tensor sparsities differ (global, not per tensor)
    const sp = pr.sparsityByTensor().map((t) => t.sparsity);
    assert.ok(new Set(sp).size > 1);
    // masks fixed afterwards
    const before = pruned.map((p) => [...p.maskData!]);
    run(pr, ps, 5, 20, new Rng(1), 0.5);
    assert.deepEqual(pruned.map((p) => [...p.maskData!]), before);
    assert.deepEqual(pr.targetCheck().warnings, []);
    // targetSparsity and atEpoch (after epoch k: itr k·S − 1)
    const r2 = resolveRecipe({ method: 'hard', hard: { atEpoch: 3, targetSparsity: 0.7366 } }, { epochs: 10, itersPerEpoch: 661 });
    assert.equal(r2.hard!.atItr, 1982);
  });

  test('AGP: cubic schedule, equal per-tensor sparsity', () => {
    const heap = new Heap();
    const ps = makeParams(heap, MODEL, 11);
    const pr = new Pruner({ method: 'agp', targetSparsity: 0.8, agp: undefined }, ps, { epochs: 10, itersPerEpoch: 40 });
    const agp = pr.resolved.agp!;
    assert.deepEqual([agp.startItr, agp.endItr], [40, 200]);
    const r = new Rng(2);
    for (let itr = 0; itr < 400; itr++) {
      fakeStep(ps, r);
      pr.afterStep(itr);
      const st = agpSparsity(agp, itr);
      if (st !== null) for (const p of pr.pruned) assert.equal(p.size - [...p.maskData!].reduce((a, b) => a + b, 0), roundHalfEven(st * p.size), `${p.name} at ${itr}`);
    }
    for (const t of pr.sparsityByTensor()) close(t.sparsity, roundHalfEven(0.8 * t.size) / t.size, 1e-12);
    const check = pr.targetCheck();
    assert.ok(check.finished);
    assert.deepEqual(check.warnings, []);
    assert.equal(pr.history.length, agpPoints(agp).length);
  });

  test('one-shot: per tensor and global', () => {
    const ps = makeParams(new Heap(), MODEL, 12);
    const pr = new Pruner({ method: 'oneshot', oneshot: { targetSparsity: 0.9, scope: 'global' } }, ps, { epochs: 1, itersPerEpoch: 10 });
    close(pr.sparsity().overall, 0.9, 1 / pr.sparsity().size);
    const masks = pr.pruned.map((p) => [...p.maskData!]);
    run(pr, ps, 0, 10, new Rng(3), 0.3);
    assert.deepEqual(pr.pruned.map((p) => [...p.maskData!]), masks, 'fixed masks while fine-tuning');
    close(pr.sparsity().overall, 0.9, 1 / pr.sparsity().size);
    roundHalfEven(0.5);
    assert.equal(roundHalfEven(2.5), 2);
    assert.equal(roundHalfEven(3.5), 4);
    assert.equal(roundHalfEven(3.49), 3);
  });
});

describe('Pruner: target-driven Narang', () => {
  for (const growth of [0, 0.002]) {
    test(`adaptive target reaches 90% per layer type (random walk, growth ${growth})`, () => {
      const ps = makeParams(new Heap(), MODEL, 21, 0.1);
      const logs: string[] = [];
      const pr = new Pruner({ method: 'narang', targetSparsity: 0.9 }, ps, { epochs: 10, itersPerEpoch: 50, log: (m) => logs.push(m) });
      run(pr, ps, 0, 500, new Rng(4), 0.002, growth);
      const check = pr.targetCheck();
      assert.ok(check.finished);
      for (const row of check.rows) close(row.reached, 0.9, 0.01, `${row.scope}: ${row.reached}`);
      assert.deepEqual(check.warnings, []);
      const eps = pr.history.filter((h) => h.kind === 'recurrent').map((h) => h.epsilon!);
      for (let i = 1; i < eps.length; i++) assert.ok(eps[i] >= eps[i - 1], 'ε never decreases');
      assert.ok(logs.some((l) => /warning: .*freq/.test(l)), 'short window: freq shrink is reported');
    });
  }

  test('calibrated target (q = 90% quantile, final ε = growth·q) reaches roughly the target', () => {
    const ps = makeParams(new Heap(), MODEL, 22, 0.1);
    const pr = new Pruner({ method: 'narang', targetSparsity: 0.9, targetMethod: 'calibrated', targetGrowth: 1.0 }, ps, { epochs: 10, itersPerEpoch: 50 });
    run(pr, ps, 0, 500, new Rng(4), 0.002);
    for (const row of pr.targetCheck().rows) close(row.reached, 0.9, 0.02, `${row.scope}: ${row.reached}`);
    // with a much larger growth the check warns
    const ps2 = makeParams(new Heap(), MODEL, 22, 0.1);
    const pr2 = new Pruner({ method: 'narang', targetSparsity: 0.9, targetMethod: 'calibrated', targetGrowth: 1.76 }, ps2, { epochs: 10, itersPerEpoch: 50 });
    run(pr2, ps2, 0, 500, new Rng(4), 0.002);
    const c2 = pr2.targetCheck();
    assert.ok(c2.warnings.length > 0 && /target sparsity 90.0%, reached 9\d\.\d%/.test(c2.warnings[0]), c2.warnings.join('; '));
  });

  test('default schedule without target: φ = 1.5θ ends near q, i.e. fewer than 90% pruned when weights do not move', () => {
    const ps = makeParams(new Heap(), MODEL, 23, 0.1);
    const pr = new Pruner({ method: 'narang' }, ps, { epochs: 10, itersPerEpoch: 50 });
    run(pr, ps, 0, 500, new Rng(4), 0.0005);
    const sp = pr.sparsity().byKind;
    for (const k of ['recurrent', 'input', 'linear'] as const) assert.ok(sp[k]! > 0.85 && sp[k]! < 0.91, `${k}: ${sp[k]}`);
    assert.equal(pr.state().counters.revivals, 0);
  });
});

describe('Pruner: state round trip', () => {
  const cases: [string, PruneRecipe][] = [
    ['narang (measured q)', { method: 'narang' }],
    ['narang adaptive target, revival never', { method: 'narang', targetSparsity: 0.8, revival: 'never', pruneEmbedding: true }],
    ['agp', { method: 'agp', targetSparsity: 0.7 }],
    ['hard', { method: 'hard', targetSparsity: 0.6 }],
  ];
  for (const [name, recipe] of cases) {
    test(name, () => {
      const opts = { epochs: 10, itersPerEpoch: 40 };
      const psA = makeParams(new Heap(), MODEL, 31, 0.1);
      const prA = new Pruner(recipe, psA, opts);
      const rA = new Rng(99);
      run(prA, psA, 0, 400, rA, 0.003, 0.001);

      const psB = makeParams(new Heap(), MODEL, 31, 0.1);
      const prB = new Pruner(recipe, psB, opts);
      const rB = new Rng(99);
      const mid = 137;
      run(prB, psB, 0, mid, rB, 0.003, 0.001);
      const saved = JSON.stringify(prB.state());
      const weights = psB.map((p) => Float32Array.from(p.data));
      const masks = psB.map((p) => (p.maskData ? Float32Array.from(p.maskData) : null));
      // "a new process": fresh heap, params loaded from the checkpoint (weights + <name>_mask)
      const psC = makeParams(new Heap(), MODEL, 777);
      psC.forEach((p, i) => {
        p.data.set(weights[i]);
        if (masks[i]) {
          p.ensureMask();
          p.maskData!.set(masks[i]!);
        }
      });
      const prC = Pruner.restore(JSON.parse(saved), psC, opts);
      run(prC, psC, mid, 400, rB, 0.003, 0.001);

      for (let i = 0; i < psA.length; i++) {
        assert.deepEqual(psC[i].data, psA[i].data, psA[i].name);
        if (psA[i].maskData) assert.deepEqual(psC[i].maskData, psA[i].maskData, psA[i].name);
      }
      assert.deepEqual(prC.state(), prA.state());
      assert.ok(prA.sparsity().overall > 0.3);
    });
  }
  test('restore checks the tensors and the recipe', () => {
    const opts = { epochs: 10, itersPerEpoch: 40 };
    const ps = makeParams(new Heap(), MODEL, 1);
    const st = new Pruner({ method: 'narang' }, ps, opts).state();
    assert.throws(() => Pruner.restore(st, ps.slice(0, 2), opts), /prunes/);
    assert.throws(() => Pruner.restore(st, ps, { ...opts, recipe: { method: 'narang', revival: 'never' } }), /different recipe/);
    // a run extended to more epochs keeps the saved schedule (and says so)
    assert.equal(new Pruner({ method: 'narang' }, ps, { epochs: 20, itersPerEpoch: 40 }).resolved.narang!.recurrent!.endItr, 400);
    const pr = Pruner.restore(st, ps, { epochs: 20, itersPerEpoch: 40, recipe: { method: 'narang' } });
    assert.equal(pr.resolved.narang!.recurrent!.endItr, 200);
    assert.ok(pr.warnings.some((w) => /keeping the saved schedule/.test(w)));
  });
  test('each method says from which iteration its masks are frozen', () => {
    const ps = makeParams(new Heap(), MODEL, 1);
    const run = { epochs: 10, itersPerEpoch: 40 };
    const narang = new Pruner({ method: 'narang' }, ps, run);
    assert.equal(narang.pruningMethod!.name, 'narang');
    assert.equal(narang.frozenFrom(), narang.resolved.narang!.recurrent!.endItr);
    const never = new Pruner({ method: 'narang', revival: 'never' }, makeParams(new Heap(), MODEL, 1), run);
    assert.equal(never.frozenFrom(), never.resolved.narang!.recurrent!.endItr, 'with revival "never" masks still shrink until endItr');
    const agp = new Pruner({ method: 'agp', targetSparsity: 0.8 }, makeParams(new Heap(), MODEL, 1), run);
    assert.equal(agp.frozenFrom(), agp.resolved.agp!.endItr);
    const hard = new Pruner({ method: 'hard', hard: { atItr: 7, targetSparsity: 0.5 } }, makeParams(new Heap(), MODEL, 1), run);
    assert.equal(hard.frozenFrom(), 7);
    const once = new Pruner({ method: 'oneshot', targetSparsity: 0.5 }, makeParams(new Heap(), MODEL, 1), run);
    assert.equal(once.frozenFrom(), -1, 'one-shot cuts before the first step');
    // No mask changes after frozenFrom: AGP run past its end.
    const ag = agp;
    for (let i = 0; i <= ag.frozenFrom(); i++) ag.afterStep(i);
    const n = ag.history.length;
    for (let i = ag.frozenFrom() + 1; i < ag.frozenFrom() + 30; i++) ag.afterStep(i);
    assert.equal(ag.history.length, n);
  });
  test('afterStep iterations must increase', () => {
    const ps = makeParams(new Heap(), MODEL, 1);
    const pr = new Pruner({ method: 'narang' }, ps, { epochs: 10, itersPerEpoch: 40 });
    pr.afterStep(0);
    assert.throws(() => pr.afterStep(0), /must increase/);
  });
});

describe('recipe', () => {
  test('valid recipes parse and resolve with defaults', () => {
    const r = parseRecipe('{"method":"narang","kinds":["recurrent","input"],"revival":"never","schedules":{"default":{"phiMult":2.9},"recurrent":{"q":0.16}}}');
    const res = resolveRecipe(r, { epochs: 10, itersPerEpoch: 661 });
    assert.deepEqual(res.kinds, ['recurrent', 'input']);
    assert.equal(res.revival, 'never');
    const rec = res.narang!.recurrent!;
    assert.deepEqual([rec.startItr, rec.rampItr, rec.endItr, rec.freq, rec.phiMult, rec.percentile, rec.q], [661, 1322, 3305, 100, 2.9, 90, 0.16]);
    assert.equal(res.narang!.input!.q, undefined);
    assert.equal(res.narang!.linear, undefined);
    assert.deepEqual(resolveRecipe({ method: 'narang' }, { epochs: 10, itersPerEpoch: 661 }).kinds, ['recurrent', 'input', 'linear']);
  });
  const bad: [unknown, RegExp][] = [
    [{ method: 'narang', rampitr: 3 }, /recipe: unknown key "rampitr"/],
    [{ method: 'narang', schedules: { recurrent: { rampitr: 3 } } }, /recipe\.schedules\.recurrent: unknown key "rampitr"/],
    [{ method: 'narang', schedules: { bias: {} } }, /recipe\.schedules: unknown key "bias"/],
    [{ method: 'narang', schedules: { recurrent: { startItr: '3' } } }, /recipe\.schedules\.recurrent\.startItr: expected an integer in \[0, \d+\], found a string "3"/],
    [{ method: 'narang', schedules: { recurrent: { freq: 0 } } }, /freq: expected an integer in \[1/],
    [{ method: 'narang', schedules: { recurrent: { q: 1, theta: 2 } } }, /give q or theta, not both/],
    [{ method: 'narang', schedules: { recurrent: { phi: 1, phiMult: 2 } } }, /give phi or phiMult/],
    [{ method: 'narang', targetSparsity: 0.9, schedules: { recurrent: { q: 1 } } }, /q contradicts target-driven mode/],
    [{ method: 'narang', targetSparsity: 1.2 }, /targetSparsity: expected a number in \(0, 1\)/],
    [{ method: 'prune' }, /recipe\.method: expected one of "narang", "agp", "hard", "oneshot", "none", found a string "prune"/],
    [{}, /method: missing/],
    [{ method: 'narang', kinds: 'recurrent' }, /kinds: expected an array/],
    [{ method: 'narang', kinds: ['conv'] }, /kinds\[0\]: expected one of/],
    [{ method: 'narang', revival: 'always' }, /revival: expected one of "paper", "never"/],
    [{ method: 'narang', pruneEmbedding: false, kinds: ['embedding'] }, /pruneEmbedding is false but kinds lists "embedding"/],
    [{ method: 'narang', hard: { atItr: 3 } }, /recipe\.hard: only valid with method "hard"/],
    [{ method: 'agp' }, /needs a target sparsity/],
    [{ method: 'hard', hard: { targetNnz: 5, targetSparsity: 0.5 } }, /targetSparsity or targetNnz, not both/],
    [{ method: 'hard', hard: { atEpoch: 3 } }, /needs hard\.targetSparsity/],
    [{ method: 'oneshot', oneshot: { targetNnz: 5 } }, /needs scope "global"/],
    [[1, 2], /recipe: expected an object, found an array/],
    ['{"method": narang}', /not valid JSON/],
  ];
  for (const [json, re] of bad) test(`rejects ${JSON.stringify(json)}`, () => assert.throws(() => parseRecipe(json), re));
  test('resolution errors', () => {
    const run = { epochs: 10, itersPerEpoch: 661 };
    assert.throws(() => resolveRecipe({ method: 'narang', kinds: ['recurrent'], schedules: { linear: {} } }, run), /"linear" is not among the pruned kinds/);
    assert.throws(() => resolveRecipe({ method: 'narang', schedules: { recurrent: { startItr: 500, rampItr: 400, endItr: 900 } } }, run), /startItr ≤ rampItr ≤ endItr/);
    assert.throws(() => resolveRecipe({ method: 'narang', schedules: { recurrent: { startItr: 10, rampItr: 20, endItr: 90, freq: 100 } } }, run), /no mask update/);
  });
});

describe('report', () => {
  test('rows, CSR bytes, table, JSON', () => {
    const ps = makeParams(new Heap(), MODEL, 41);
    const pr = new Pruner({ method: 'oneshot', targetSparsity: 0.75 }, ps, { epochs: 1, itersPerEpoch: 10 });
    const rows = pr.report();
    assert.equal(rows.length, MODEL.length);
    const hh = rows.find((r) => r.name === 'rnn.weight_hh_l0')!;
    assert.equal(hh.nnz, 192);
    assert.equal(hh.denseBytes, 4 * 768);
    assert.equal(hh.sparseBytes, 192 * 4 + 192 * 2 + 49 * 4);
    assert.ok(hh.pruned && hh.epsilon! > 0);
    assert.equal(csrBytes(10, 70000, 5), 5 * 4 + 5 * 4 + 11 * 4);
    const bias = rows.find((r) => r.name === 'fc.bias')!;
    assert.equal(bias.pruned, false);
    assert.equal(bias.epsilon, null);
    const table = formatReportTable(rows);
    assert.match(table, /rnn\.weight_hh_l0\s+48x16\s+768\s+192\s+75\.00%/);
    assert.match(table, /fc\.bias \(dense\)/);
    const j = reportJson(rows);
    assert.equal(j.totals.pruned.nnz, 96 + 192 + 80);
    assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
  });

  test('svgLinePlot writes a well-formed chart with a legend', () => {
    const svg = svgLinePlot({
      title: 'Sparsity <vs> iteration',
      xLabel: 'iteration',
      yLabel: 'sparsity',
      series: [
        { name: 'recurrent', points: [[0, 0], [700, 0.1], [3300, 0.74]] },
        { name: 'linear & fc', points: [[0, 0], [3300, 0.67]] },
        { name: 'empty', points: [] },
        { name: 'one', points: [[5, NaN], [10, 0.5]] },
      ],
    });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /Sparsity &lt;vs&gt; iteration/);
    assert.match(svg, /linear &amp; fc/);
    assert.equal((svg.match(/<path d="M/g) ?? []).length, 3 + 1); // 3 non-empty series + the axes
    assert.ok(svg.trim().endsWith('</svg>'));
    assert.ok(!/NaN|Infinity/.test(svg));
  });
});

describe('CLI: sparse-rnn schedule', () => {
  const args = ['--start-itr', '661', '--ramp-itr', '1322', '--end-itr', '3305', '--freq', '100', '--q', '1'];
  async function runCli(argv: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerSchedule(program);
    let out = '';
    const orig = process.stdout.write.bind(process.stdout);
    (process.stdout as { write: unknown }).write = (s: string) => {
      out += s;
      return true;
    };
    try {
      await program.parseAsync(['node', 'sparse-rnn', 'schedule', ...argv]);
    } finally {
      (process.stdout as { write: unknown }).write = orig;
    }
    return out;
  }

  test('--json prints theta, phi and one point per update', async () => {
    const j = JSON.parse(await runCli([...args, '--json']));
    assert.deepEqual(Object.keys(j), ['theta', 'phi', 'points']);
    close(j.theta, 0.0275065, 1e-7);
    close(j.phi, 1.5 * j.theta, 1e-12);
    assert.equal(j.points.length, 27);
    close(j.points[26].epsilon, 0.998625);
    const j29 = JSON.parse(await runCli([...args, '--phi-mult', '2.9', '--json']));
    close(j29.points[26].epsilon, 1.760721);
  });

  test('table and ASCII plot; Table 1 defaults from --epochs', async () => {
    const txt = await runCli(args);
    assert.match(txt, /27 mask updates/);
    assert.match(txt, /\s3300\s+0\.998625/);
    const { schedule } = computeSchedule({ epochs: 10, itersPerEpoch: 661, q: 1 });
    assert.deepEqual([schedule.startItr, schedule.rampItr, schedule.endItr, schedule.freq], [661, 1322, 3305, 100]);
  });

  test('--checkpoint: q per layer type from a trained dense safetensors file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-test-'));
    try {
      const r = new Rng(3);
      const mk = (n: number, s: number) => Float32Array.from({ length: n }, () => s * r.normal());
      const hh = mk(48 * 16, 0.2), ih = mk(48 * 8, 0.3), fc = mk(20 * 16, 0.1);
      const file = join(dir, 'dense.safetensors');
      writeFileSync(file, serializeSafetensors({
        'gru.weight_hh_l0': { dtype: 'F32', shape: [48, 16], data: hh },
        'gru.weight_ih_l0': { dtype: 'F32', shape: [48, 8], data: ih },
        'gru.bias_hh_l0': { dtype: 'F32', shape: [48], data: mk(48, 1) },
        'out.weight': { dtype: 'F32', shape: [20, 16], data: fc },
        'out.weight_mask': { dtype: 'U8', shape: [20, 16], data: new Uint8Array(320).fill(1) },
      }));
      const { kinds } = checkpointSchedules({ checkpoint: file, epochs: 10, itersPerEpoch: 661 });
      assert.deepEqual(Object.keys(kinds), ['recurrent', 'input', 'linear']);
      assert.equal(kinds.recurrent!.q, percentileNearestRank(Float32Array.from(hh, Math.abs), 90));
      assert.equal(kinds.linear!.q, percentileNearestRank(Float32Array.from(fc, Math.abs), 90));
      close(kinds.input!.points[26].epsilon, 0.998625 * kinds.input!.q, 1e-6);
      const j = JSON.parse(await runCli(['--checkpoint', file, '--epochs', '10', '--iters-per-epoch', '661', '--json']));
      assert.deepEqual(Object.keys(j.kinds), ['recurrent', 'input', 'linear']);
      assert.throws(() => checkpointSchedules({ checkpoint: file, q: 1, epochs: 10, itersPerEpoch: 661 }), /drop --q/);
      assert.throws(() => checkpointSchedules({ checkpoint: join(dir, 'missing'), epochs: 10, itersPerEpoch: 661 }), /cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('errors', () => {
    assert.throws(() => computeSchedule({ startItr: 661, rampItr: 1322, endItr: 3305 }), /missing --q/);
    assert.throws(() => computeSchedule({ startItr: 661, rampItr: 1322, endItr: 3305, q: 1, theta: 0.1 }), /not both/);
    assert.throws(() => computeSchedule({ startItr: 661, endItr: 3305, q: 1 }), /missing --ramp-itr/);
    assert.throws(() => computeSchedule({ startItr: 3305, rampItr: 1322, endItr: 661, q: 1 }), /start-itr < --end-itr/);
    assert.throws(() => computeSchedule({ startItr: 661, rampItr: 1322, endItr: 3305, freq: 5000, q: 1 }), /no mask update/);
  });
});

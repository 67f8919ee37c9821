// The claim verdict rule of `reproduce` (experiments/verdict.ts) on known inputs: each of the three
// verdicts, paired by seed and unpaired, and the one-seed case.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relativeEffect, stats, verdict } from '../experiments/verdict.js';
import { sameMachineSeeds } from '../experiments/seeds.js';

const seeds = (...v: number[]): Map<number, number> => new Map(v.map((x, i) => [1234 + i, x]));
const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('stats: mean, sample sd, SE; NaN skipped', () => {
  const s = stats([1, 2, 3, NaN]);
  assert.equal(s.n, 3);
  close(s.mean, 2);
  close(s.sd, 1);
  close(s.se, 1 / Math.sqrt(3));
  const one = stats([5]);
  assert.equal(one.n, 1);
  assert.ok(Number.isNaN(one.sd) && Number.isNaN(one.se));
});

test('paired by seed: holds, fails, not established', () => {
  const base = seeds(2.0, 2.1, 1.9);
  // x is 5% better on every seed (± a little): paired effect +5%, tiny SE → holds on "beats" (bar 0).
  const better = seeds(1.9, 1.995, 1.8 + 0.0095);
  const e = relativeEffect(base, better);
  assert.equal(e.paired, true);
  assert.deepEqual(e.seeds, [1234, 1235, 1236]);
  assert.ok(e.mean > 4.9 && e.mean < 5.1, String(e.mean));
  assert.equal(verdict(e, 0), 'holds');
  // The same numbers fail "within 10% better" (bar +10): 5% is far below it.
  assert.equal(verdict(e, 10), 'fails');
  // Worse on every seed → fails "beats".
  assert.equal(verdict(relativeEffect(base, seeds(2.1, 2.2, 2.0)), 0), 'fails');
  // Better on one seed, worse on another: mean near 0 with a large SE → not established.
  const mixed = relativeEffect(base, seeds(1.8, 2.3, 1.9));
  assert.equal(verdict(mixed, 0), 'not established');
  // Pairing removes the shared seed noise: the baseline swings by ±10% between seeds, x tracks it 1% better.
  const noisyBase = seeds(2.0, 2.4, 1.6);
  const tracks = seeds(1.98, 2.376, 1.584);
  assert.equal(verdict(relativeEffect(noisyBase, tracks), 0), 'holds');
});

test('unpaired (different seeds): the delta-method SE decides', () => {
  const base = new Map([[1, 2.0], [2, 2.02], [3, 1.98]]);
  const far = new Map([[7, 1.5], [8, 1.52], [9, 1.48]]);
  const e = relativeEffect(base, far);
  assert.equal(e.paired, false);
  close(e.mean, 25);
  assert.equal(verdict(e, 0), 'holds');
  assert.equal(verdict(relativeEffect(far, base), 0), 'fails');
  // The same 1% mean difference as the tracked pairs above, but unpaired: the seed noise swamps it.
  const noisy = relativeEffect(new Map([[1, 2.0], [2, 2.4], [3, 1.6]]), new Map([[4, 1.98], [5, 2.376], [6, 1.584]]));
  assert.equal(noisy.paired, false);
  assert.equal(verdict(noisy, 0), 'not established');
});

test('rows that share some seeds pair over the shared ones; one shared seed is not a pairing', () => {
  const base = new Map([[1, 2.0], [2, 2.4], [3, 1.6]]);
  // The second row ran 5 more seeds; the tracked pairs still decide, on the 3 seeds both have.
  const more = new Map([[1, 1.98], [2, 2.376], [3, 1.584], [4, 2.6], [5, 1.5], [6, 2.2], [7, 1.7], [8, 2.5]]);
  const e = relativeEffect(base, more);
  assert.equal(e.paired, true);
  assert.deepEqual(e.seeds, [1, 2, 3]);
  assert.equal(e.n, 3);
  close(e.mean, 1);
  assert.equal(verdict(e, 0), 'holds');
  const one = relativeEffect(base, new Map([[3, 1.584], [4, 2.6], [5, 1.5]]));
  assert.equal(one.paired, false);
  assert.equal(verdict(one, 0), 'not established');
});

test('one seed is never a verdict; higher-is-better flips the sign', () => {
  const e = relativeEffect(seeds(2.0), seeds(1.0));
  assert.equal(e.n, 1);
  close(e.mean, 50);
  assert.equal(verdict(e, 0), 'not established');
  const acc = relativeEffect(seeds(0.5, 0.52, 0.48), seeds(0.6, 0.62, 0.58), { higherIsBetter: true });
  assert.ok(acc.mean > 0);
  assert.equal(verdict(acc, 0), 'holds');
});

test('timing claims pair only seeds trained on one machine', () => {
  const row = (id: string, m: Record<number, string | undefined>) => ({ row: id, bySeed: new Map(Object.entries(m).map(([s, machine]) => [Number(s), { machine }])) });
  const base = row('dense', { 1: 'A', 2: 'A', 3: undefined });
  const same = sameMachineSeeds(base, row('sparse', { 1: 'A', 2: 'A', 3: 'B' }));
  assert.equal(same.note, '');
  assert.equal(same.base, base);
  const apart = sameMachineSeeds(base, row('sparse', { 1: 'B', 2: 'A', 3: 'B' }));
  assert.deepEqual([...apart.base.bySeed.keys()], [2, 3]);
  assert.deepEqual([...apart.x.bySeed.keys()], [2, 3]);
  assert.equal(apart.note, ' (seed 1 left out: the two runs trained on different machines)');
});

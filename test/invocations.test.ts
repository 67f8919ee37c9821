// The plan's invocation record (experiments/invocations.ts): two invocations that share a run folder at
// once both stay on record, each write replaces only its own entry, and one that trained nothing writes nothing;
// the report's wall-time line sums the runs' own epochs over every machine, beside this machine's invocations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationLog, machineText, wallTimeText, type Invocation } from '../experiments/invocations.js';

const onRecord = (out: string): Invocation[] => JSON.parse(readFileSync(join(out, 'invocations.json'), 'utf8')) as Invocation[];

test('two invocations sharing a folder both stay on record, each with its own latest progress', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'srnn-inv-')), 'plan');
  const a = invocationLog(out, 'reproduce --only a');
  await new Promise((r) => setTimeout(r, 5)); // distinct start times
  const b = invocationLog(out, 'reproduce --only b');
  a.record({ started: ['a'], completed: false });
  b.record({ started: ['b'], completed: false });
  const all = a.record({ started: ['a'], completed: true }); // a finishes after b has written
  assert.deepEqual(all.map((i) => [i.command, i.completed]), [['reproduce --only b', false], ['reproduce --only a', true]]);
  assert.deepEqual(onRecord(out).map((i) => i.command), ['reproduce --only b', 'reproduce --only a']);
  assert.ok(all.every((i) => i.seconds >= 0 && i.loadStart.length === 3 && i.loadEnd.length === 3));
});

test('an invocation that trained nothing is not recorded, and sees the others', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'srnn-inv-')), 'plan');
  const idle = invocationLog(out, 'reproduce --report-only');
  assert.deepEqual(idle.record({ started: [], completed: true }), []);
  assert.equal(existsSync(join(out, 'invocations.json')), false);
  invocationLog(out, 'reproduce').record({ started: ['x'], completed: true });
  assert.deepEqual(idle.record({ started: [], completed: true }).map((i) => i.command), ['reproduce']);
  assert.deepEqual(idle.current({ started: [], completed: true }).started, []);
});

test('the wall-time line sums the runs\' own epochs per machine, and names this machine\'s invocations apart', () => {
  const inv = (seconds: number, started: string[]): Invocation => ({ command: 'c', startedAt: '2026-12-03T10:00:00.000Z', seconds, started, completed: true, loadStart: [0, 0, 0], loadEnd: [0, 0, 0] });
  const run = (machine: string | undefined, ...s: number[]) => ({ machine, timing: { epochs: s.map((seconds) => ({ seconds })) } });
  const runs = [run('2 × AMD EPYC, 24 GiB', 1800, 1800), run('2 × Intel Xeon, 24 GiB', 3600), run('2 × Intel Xeon, 24 GiB', 1800, 1800)];
  const line = wallTimeText({ invocations: [inv(600, ['a']), inv(1200, ['b'])], current: inv(3, []) }, runs, 'training');
  assert.match(line, /the 3 runs' own epochs .* add up to 3\.0 h \(2 × AMD EPYC: 1\.0 h, 2 × Intel Xeon: 2\.0 h\)/);
  assert.match(line, /30\.0 min of wall time on this machine in 2 invocations \(resumed\)/);
  assert.match(line, /this invocation reused the finished runs and took 3 s\.$/);
  // One machine: no breakdown; no invocation on record here: only the runs' sum.
  const one = wallTimeText({ invocations: [], current: inv(1, ['x']) }, [run(undefined, 360)], 'training');
  assert.equal(one, "- Wall time: the run's own epochs (training and evaluation, each on its own clock) add up to 6.0 min.");
});

test('the machine line names where the runs trained only when some trained elsewhere', () => {
  const inv: Invocation = { command: 'c', startedAt: '', seconds: 1, started: ['a'], completed: true, loadStart: [1, 2, 3], loadEnd: [0.5, 1, 1.5] };
  const ctx = { invocations: [inv], current: inv, machine: '2 × Intel Xeon, 24 GiB RAM' };
  const run = (machine?: string) => ({ machine, timing: { epochs: [] } });
  assert.equal(machineText(ctx, [run('2 × Intel Xeon, 24 GiB RAM')], 'noisy'),
    '- Machine: 2 × Intel Xeon, 24 GiB RAM; load average (1/5/15 min) 1.0/2.0/3.0 at the start, 0.5/1.0/1.5 at the end — noisy.');
  assert.equal(machineText(ctx, [run('2 × AMD EPYC, 24 GiB RAM'), run('2 × AMD EPYC, x'), run('2 × Intel Xeon, 24 GiB RAM'), run()], 'noisy'),
    '- Machine writing this report: 2 × Intel Xeon, 24 GiB RAM; load average (1/5/15 min) 1.0/2.0/3.0 at the start, 0.5/1.0/1.5 at the end — noisy. ' +
    'The runs trained on: 2 × AMD EPYC (2 runs), 2 × Intel Xeon (1 run), machine not recorded (1 run).');
});

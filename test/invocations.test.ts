// The plan's invocation record (experiments/invocations.ts): two invocations that share a run folder at
// once both stay on record, each write replaces only its own entry, and one that trained nothing writes nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationLog, type Invocation } from '../experiments/invocations.js';

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

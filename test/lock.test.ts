// One training per checkpoint (src/io/lock.ts): a second process is refused while the first lives,
// a lock whose process is gone is taken over, and a lock is released only by its owner.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { acquireLock, LockedError } from '../src/io/lock.js';

const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-lock-'));
const BIN = join(fileURLToPath(new URL('../../', import.meta.url)), 'bin/sparse-rnn.js');
const owner = (pid: number, host = hostname()) => JSON.stringify({ pid, host, since: '2026-01-01T00:00:00Z', token: 'other' });
/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

test('lock: held until released; a second taker is refused with the owner and the file to delete', () => {
  const target = join(tmp, 'a.ckpt');
  const a = acquireLock(target, `checkpoint ${target}`);
  assert.equal(JSON.parse(readFileSync(a.file, 'utf8')).pid, process.pid);
  assert.throws(() => acquireLock(target, `checkpoint ${target}`), (e: Error) =>
    e instanceof LockedError && e.message.includes(`checkpoint ${target} is in use by another training (pid ${process.pid}`) && e.message.includes(`delete ${a.file}`));
  a.release();
  assert.equal(existsSync(a.file), false);
  a.release(); // twice is harmless
  acquireLock(target, 'x').release();
});

test('lock: a lock left by a process that is gone is taken over; one on another host is not', () => {
  const target = join(tmp, 'b.ckpt');
  writeFileSync(`${target}.lock`, owner(deadPid()));
  const l = acquireLock(target, 'b');
  assert.equal(JSON.parse(readFileSync(l.file, 'utf8')).pid, process.pid);
  l.release();
  writeFileSync(`${target}.lock`, owner(process.pid, 'elsewhere.example'));
  assert.throws(() => acquireLock(target, 'b'), /in use by another training \(pid \d+ on elsewhere\.example/);
});

test('lock: release leaves a lock that is no longer its own', () => {
  const target = join(tmp, 'c.ckpt');
  const l = acquireLock(target, 'c');
  writeFileSync(l.file, owner(process.pid)); // taken over meanwhile (another token)
  l.release();
  assert.equal(existsSync(l.file), true);
});

test('train -o refuses a checkpoint another live training holds: one line, exit 1, the lock untouched', async () => {
  const out = join(tmp, 'd.ckpt');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    writeFileSync(`${out}.lock`, owner(sleeper.pid!));
    const r = spawnSync(process.execPath, [BIN, 'train', '--hidden', '8', '--embed', '4', '--epochs', '1', '--max-steps', '2', '--quiet', '-o', out],
      { encoding: 'utf8', timeout: 120_000, cwd: tmp });
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.match(r.stderr.trim(), new RegExp(`^sparse-rnn: error: checkpoint .*d\\.ckpt is in use by another training \\(pid ${sleeper.pid}, since`));
    assert.equal(JSON.parse(readFileSync(`${out}.lock`, 'utf8')).pid, sleeper.pid);
    assert.equal(existsSync(out), false);
  } finally {
    sleeper.kill();
  }
});

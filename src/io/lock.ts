// An advisory lock file next to what a process is about to write for a long time (a training's
// checkpoint): two trainings saving the same checkpoint would overwrite each other's epochs in turn.
// Node only. The lock is a file created exclusively (O_EXCL) that holds the owner's pid and host; a
// lock whose process is gone (killed, crashed) is taken over, so a lost process never blocks a rerun.

import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { accessError } from './fs.js';

/** The target is locked by a live process: the message names it, the owner and what to do. */
export class LockedError extends Error {
  override name = 'LockedError';
}

export interface Lock {
  readonly file: string;
  /** Removes the lock file (only while it is still this lock's); safe to call twice. */
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  since: string;
  /** Tells this lock from a later one of the same process. */
  token: string;
}

function readOwner(file: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return Number.isInteger(o.pid) && typeof o.host === 'string' ? { pid: o.pid!, host: o.host, since: String(o.since ?? '?'), token: String(o.token ?? '') } : null;
  } catch {
    return null; // gone meanwhile, or half-written by a process that died: not a live lock
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/**
 * Takes `<target>.lock` for this process. `what` says what the target is in the error ("checkpoint
 * runs/m.ckpt"). Throws LockedError when a live process on this host (or any process on another host,
 * which cannot be checked) holds it.
 */
export function acquireLock(target: string, what: string): Lock {
  const file = `${target}.lock`;
  const token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token };
  // Written whole, then linked into place: link() fails if the lock exists, and a lock is never seen half-written.
  const tmp = `${file}.${token}`;
  try {
    writeFileSync(tmp, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o644 });
  } catch (e) {
    throw accessError(file, e, 'create the lock file');
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(tmp, file);
        return lockOf(file, me);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw accessError(file, e, 'create the lock file');
      }
      const o = readOwner(file);
      if (o && (o.host !== me.host || alive(o.pid)))
        throw new LockedError(`${what} is in use by another training (pid ${o.pid}${o.host !== me.host ? ` on ${o.host}` : ''}, since ${o.since}); ` +
          `wait for it to finish or stop it, or write elsewhere. If no such process is running, delete ${file}`);
      try {
        unlinkSync(file); // its process is gone: take the lock over
      } catch { /* another process took it over first: the retry says so */ }
    }
    throw new LockedError(`${what}: another process took its lock ${file} at the same moment; try again`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch { /* already gone */ }
  }
}

function lockOf(file: string, me: Owner): Lock {
  let held = true;
  return {
    file,
    release(): void {
      if (!held) return;
      held = false;
      const o = readOwner(file);
      if (o && o.token === me.token) {
        try {
          unlinkSync(file);
        } catch { /* already gone */ }
      }
    },
  };
}

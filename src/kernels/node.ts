// Node specifics of the compute engine: worker threads, the core count, and V8's relaxed-SIMD flag.
// (Browser-safe code never imports this file.)

import { availableParallelism, cpus, homedir } from 'node:os';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { SpawnWorker } from './pool.js';

// Node 20's V8 (11.3) has relaxed SIMD behind a flag; it must be set before any module is compiled.
// Node ≥ 22 has it on by default.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');

/** The machine's cores as Node reports them. */
export function nodeCores(): number {
  return Math.max(1, availableParallelism());
}

/** Spawns a kernel pool worker in a worker thread; it never keeps the process alive. */
export const spawnNodeWorker: SpawnWorker = (init) =>
  new Promise((resolve, reject) => {
    // Workers inherit the process's Node options; --input-type (for -e scripts) is refused in a worker.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const w = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData: init, execArgv });
    w.once('message', (m: unknown) => {
      if (m === 'ready') {
        w.unref();
        w.removeAllListeners('error');
        w.on('error', () => {});
        resolve({ terminate: () => w.terminate() });
      } else {
        reject(new Error(`kernels: a worker thread could not start: ${(m as { error?: string }).error ?? String(m)}`));
      }
    });
    w.once('error', (e) => reject(new Error(`kernels: a worker thread could not start: ${e.message}`)));
  });

/**
 * The machine's remembered 'auto' kernel choice (~/.cache/sparse-rnn/kernels.json, keyed by CPU model,
 * core count and Node version), so that every run on one machine picks the same variant and stays
 * bit-reproducible. `decide` measures once when nothing is remembered; an unwritable cache is ignored.
 */
export function rememberedChoice(decide: () => string): string {
  const key = `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.versions.node}`;
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sparse-rnn');
  const file = join(dir, 'kernels.json');
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    cache = {};
  }
  if (typeof cache[key] === 'string') return cache[key];
  const choice = decide();
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...cache, [key]: choice }, null, 2) + '\n');
    renameSync(tmp, file);
  } catch {
    // A read-only home: measure again next time.
  }
  return choice;
}

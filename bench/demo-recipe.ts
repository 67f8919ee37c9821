// `npm run bench -- demo`: the demo's pruned training (GRU-256 on Moby Dick, 6 epochs, Narang to 90%,
// masks frozen from epoch 3) run twice side by side, one thread each: with --sparse-training on (the
// second half trains on the sparse kernels) and off (dense kernels with the masks applied). Reports
// each run's wall time and final validation bits/char, and the time per step before and after the
// masks froze, from the runs' own step timings.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoPlan } from '../src/cli/commands/demo.js';
import { loadCharCorpus } from '../src/data/charlm.js';

export interface DemoRecipeRun { mode: 'on' | 'off'; wallS: number; validBpc: number; epochSeconds: number[] }

export async function benchDemoRecipe(opts: { quick: boolean; log: (s: string) => void }): Promise<{ runs: DemoRecipeRun[]; endItr: number; steps: number; epochs: number }> {
  const plan = demoPlan(opts.quick);
  const corpus = loadCharCorpus('moby-dick');
  const S = plan.maxSteps || Math.floor((Math.floor(corpus.train.length / 32) - 1) / 50);
  const itr = (e: number): number => Math.round(e * S);
  const dir = mkdtempSync(join(tmpdir(), 'sparse-rnn-demo-recipe-'));
  const bin = fileURLToPath(new URL('../../bin/sparse-rnn.js', import.meta.url));
  const one = (mode: 'on' | 'off'): Promise<DemoRecipeRun> => new Promise((res, rej) => {
    const out = join(dir, mode, 'model.ckpt');
    const args = [bin, 'train', '--corpus', 'moby-dick', '--hidden', String(plan.hidden), '--embed', '64', '--epochs', String(plan.epochs),
      '--max-steps', String(plan.maxSteps), '--eval-chars', String(plan.evalChars), '--prune', 'narang', '--target-sparsity', '0.9',
      '--start-itr', String(itr(plan.startEpoch)), '--ramp-itr', String(itr(plan.rampEpoch)), '--end-itr', String(itr(plan.endEpoch)),
      '--freq', String(plan.freq), '--threads', '1', '--kernels', 'wasm', '--sparse-training', mode, '--quiet', '-o', out];
    const t0 = performance.now();
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d));
    c.on('close', (code) => {
      if (code !== 0) return rej(new Error(`demo recipe (${mode}) failed: ${err.slice(-400)}`));
      const rep = JSON.parse(readFileSync(join(dir, mode, 'model.report.json'), 'utf8')) as { history: { validBpc: number; seconds: number }[] };
      const h = rep.history;
      res({ mode, wallS: (performance.now() - t0) / 1000, validBpc: h[h.length - 1].validBpc, epochSeconds: h.map((e) => e.seconds) });
    });
  });
  opts.log(`demo recipe: ${plan.epochs} epochs of ${S} steps, masks frozen after iteration ${itr(plan.endEpoch)}; both runs side by side…`);
  const runs = await Promise.all([one('on'), one('off')]);
  for (const r of runs) opts.log(`--sparse-training ${r.mode}: ${r.wallS.toFixed(0)} s, valid ${r.validBpc.toFixed(4)} bits/char, epochs ${r.epochSeconds.map((s) => s.toFixed(0)).join(' / ')} s`);
  return { runs, endItr: itr(plan.endEpoch), steps: S, epochs: plan.epochs };
}

export function demoRecipeMarkdown(r: Awaited<ReturnType<typeof benchDemoRecipe>>): string {
  const [on, off] = [r.runs.find((x) => x.mode === 'on')!, r.runs.find((x) => x.mode === 'off')!];
  return [
    `The demo's pruned training (${r.epochs} epochs of ${r.steps} steps; masks frozen after iteration ${r.endItr}), both runs side by side on one thread each:`,
    '',
    '| --sparse-training | wall time s | seconds per epoch | final valid bits/char |',
    '|---|---|---|---|',
    `| off (dense kernels, masks applied) | ${off.wallS.toFixed(0)} | ${off.epochSeconds.map((s) => s.toFixed(0)).join(' / ')} | ${off.validBpc.toFixed(4)} |`,
    `| on (sparse kernels once frozen) | ${on.wallS.toFixed(0)} | ${on.epochSeconds.map((s) => s.toFixed(0)).join(' / ')} | ${on.validBpc.toFixed(4)} |`,
    '',
    `Whole run: **${(off.wallS / on.wallS).toFixed(2)}x** faster with sparse-phase training.`,
  ].join('\n');
}

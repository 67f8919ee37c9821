// Why did our two threads not pay in `npm run bench -- browser`? The same Chromium page, ours at 1 and 2
// threads, with onnxruntime-web in the same worker timed sample by sample alongside ours (as the benchmark
// did until 2026-12-05), timed after ours (as it does now), and never loaded, in turn, `--runs N` times
// each (default 2).
// Writes bench/results/browser-threads-ab.md. Run on the otherwise idle machine:
//   node dist/bench/browser-threads-ab.js [--runs N]

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { benchBrowser, browserSkipReason, type BrowserConfig, type BrowserRow } from './browser.js';
import { SPEECH_GRU, charGru } from './model.js';

const gru1024 = charGru(1024, 1);
const configs: BrowserConfig[] = [
  { spec: gru1024, sparsity: 0.9, batch: 1, block: 'unstructured' },
  { spec: gru1024, sparsity: 0.9, batch: 8, block: 'unstructured' },
  { spec: gru1024, sparsity: 0.9, batch: 1, block: '4x4' },
  { spec: SPEECH_GRU, sparsity: 0.9, batch: 1, block: 'unstructured' },
];
const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 2;
if (!(Number.isInteger(runs) && runs >= 1)) {
  process.stderr.write(`browser-threads-ab: --runs must be an integer ≥ 1, got "${process.argv[i + 1]}"\n`);
  process.exit(2);
}
const skip = await browserSkipReason();
if (skip) {
  process.stderr.write(`browser-threads-ab: skipped: ${skip}\n`);
  process.exit(0);
}

const ARMS = ['interleaved', 'after', 'none'] as const;
const ARM_TEXT = { interleaved: 'timed alongside, sample by sample', after: 'timed after ours', none: 'not loaded' };
const key = (r: BrowserRow): string => `${r.model}, ${r.block === 'unstructured' ? 'unstructured' : `${r.block} blocks`}, 90%, batch ${r.batch}`;
// per arm (peer mode), per config: [1-thread run() µs, 2-thread run() µs, 1-thread step() µs, 2-thread step() µs] per run
const got = new Map<string, number[][]>();
for (let r = 0; r < runs; r++)
  for (const peer of ARMS) {
    const b = await benchBrowser({ quick: false, log: () => {}, matrix: { configs, threads: [1, 2], rounds: 7, minMs: 20, peer } });
    for (const c of new Set(b.rows.map(key))) {
      const one = b.rows.find((x) => key(x) === c && x.threads === 1)!, two = b.rows.find((x) => key(x) === c && x.threads === 2)!;
      const k = `${peer}|${c}`;
      got.set(k, [...(got.get(k) ?? []), [one.sparseUs, two.sparseUs, one.sparseStepUs ?? Number.NaN, two.sparseStepUs ?? Number.NaN]]);
    }
    process.stderr.write(`browser-threads-ab: run ${r + 1}/${runs}, onnxruntime-web ${ARM_TEXT[peer]}: done\n`);
  }

const f = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const lines = [
  `<!-- node dist/bench/browser-threads-ab.js --runs ${runs} · ${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} -->`,
  'Ours in headless Chromium at 1 and 2 threads (µs per timestep, run() over the sequence and step(); each cell one run of `bench -- browser`\'s',
  'timing, runs in order), with onnxruntime-web in the same worker timed sample by sample alongside ours, timed after ours (what',
  '`npm run bench -- browser` does since 2026-12-05), and never loaded. Speed-up = 1-thread time ÷ 2-thread time.',
  '',
  '| model | onnxruntime-web in the worker | run() 1 thread | run() 2 threads | speed-up | step() 1 thread | step() 2 threads | speed-up |',
  '|---|---|---|---|---|---|---|---|',
];
for (const c of new Set([...got.keys()].map((k) => k.split('|')[1])))
  for (const arm of ARMS) {
    const v = got.get(`${arm}|${c}`) ?? [];
    const col = (j: number): string => v.map((x) => f(x[j])).join(', ');
    const up = (a: number, b: number): string => v.map((x) => `${(x[a] / x[b]).toFixed(2)}x`).join(', ');
    lines.push(`| ${c} | ${ARM_TEXT[arm]} | ${col(0)} | ${col(1)} | ${up(0, 1)} | ${col(2)} | ${col(3)} | ${up(2, 3)} |`);
  }
const md = lines.join('\n') + '\n';
writeFileSync(fileURLToPath(new URL('../../bench/results/browser-threads-ab.md', import.meta.url)), md);
process.stdout.write(md);

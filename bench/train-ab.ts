// Two builds' reference training steps in one process, interleaved step by step: the A/B that a
// change to the engine is judged by on a noisy machine (both sides see the same bursts of load).
//   node dist/bench/train-ab.js BASE_ROOT [CELL] [THREADS] [KERNELS] [STEPS]
// BASE_ROOT: another checkout, built (e.g. `git worktree add /tmp/base <commit> && cd /tmp/base && npm run build`).
// Prints one line: the median ms per step of each side and the ratio this build / base.

import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const [baseRoot, cell = 'gru', threads = '1', kernels = 'relaxed', steps = '30'] = process.argv.slice(2);
if (!baseRoot) {
  process.stderr.write('usage: node dist/bench/train-ab.js BASE_ROOT [CELL] [THREADS] [KERNELS] [STEPS]\n');
  process.exit(2);
}
const here = resolve(fileURLToPath(new URL('../..', import.meta.url)));
type Side = { close: () => Promise<void>; step: () => number; t: number[] };
const sides: Record<string, Side> = {};
for (const [name, root] of [['base', resolve(baseRoot)], ['this', here]] as const) {
  const { createEngine } = await import(`${root}/dist/src/kernels/engine.js`);
  const { referenceStep } = await import(`${root}/dist/bench/train-step.js`);
  const e = await createEngine({ threads: Number(threads), kernels });
  sides[name] = { close: () => e.close(), step: referenceStep(e.kernels, cell), t: [] };
}
const all = Object.values(sides);
for (const s of all) for (let i = 0; i < 3; i++) s.step();
for (let r = 0; r < Number(steps); r++) for (const s of r % 2 ? all : [...all].reverse()) s.t.push(s.step());
const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];
const m = { base: med(sides.base.t), this: med(sides.this.t) };
process.stdout.write(`${cell} ${threads}T ${kernels}: base ${m.base.toFixed(1)} ms, this ${m.this.toFixed(1)} ms, this/base ${(m.this / m.base).toFixed(3)}\n`);
for (const s of all) await s.close();

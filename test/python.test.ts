// The PyTorch companion (python/sparse_rnn_torch), run with Debian's /usr/bin/python3 + python3-torch:
//  - parity with the TypeScript pruner, bit for bit: the same recipes resolve to the same schedules
//    (defaults, warnings, errors), the Eq. 1 / Algorithm 1 formulas equal `sparse-rnn schedule --json`,
//    and the same weight trajectory gives the same ε (as doubles, hence as float32) and the same masks
//    at every update, for every method (the comparison: |w| float32 ≥ float32(ε));
//  - the package's own unit tests (python/tests), and its pip install (pyproject.toml);
//  - python/examples/train_ddp.py on 2 processes (gloo): masks identical on both ranks, stop and
//    resume, then `sparse-rnn import` → `export` → `infer` gives PyTorch's logits (within 1e-5);
//  - a model pruned with torch.nn.utils.prune (<name>_orig + <name>_mask) imports with its masks.
// Without /usr/bin/python3 or torch, these tests skip with what to install.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serializeSafetensors, parseSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { serializeNpy, parseNpy } from '../src/io/npy.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import type { ModelConfig } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import { Pruner, type PruneRecipe, type PrunerState, narangEpsilon, resolveRecipe } from '../src/prune/index.js';
import { Rng } from '../src/util/rng.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-python-'));
const PY = '/usr/bin/python3';
const pyEnv = { ...process.env, PYTHONPATH: join(root, 'python'), OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };

/** Why the Python tests cannot run here, or null when they can. */
function pythonMissing(): string | null {
  if (!existsSync(PY)) return `${PY} not found: install Debian's Python and PyTorch (apt-get install python3-torch)`;
  const r = spawnSync(PY, ['-c', 'import torch, torch.distributed as d; assert d.is_available() and d.is_gloo_available()'], { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) return `PyTorch with gloo is not importable by ${PY} (${(r.stderr || '').trim().split('\n').pop()}): apt-get install python3-torch`;
  return null;
}
const missing = pythonMissing();
if (missing) console.log(`skipping the PyTorch tests: ${missing}`);
const skip = missing ?? false;

function py(args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(PY, args, { encoding: 'utf8', env: pyEnv, cwd: root, timeout: 180000, maxBuffer: 64 << 20, ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

function parity<T>(cmd: string, input: string): T {
  const r = py([join(root, 'python/tests/parity.py'), cmd, input]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/sparse-rnn.js'), ...args], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------------------------------------
// Recipe resolution and schedule formulas

const RESOLVE_CASES: { recipe: unknown; epochs: number; itersPerEpoch: number }[] = [
  { recipe: { method: 'narang' }, epochs: 10, itersPerEpoch: 661 },
  { recipe: { method: 'narang' }, epochs: 3, itersPerEpoch: 40 },
  { recipe: { method: 'narang', targetSparsity: 0.9 }, epochs: 4, itersPerEpoch: 50 },
  { recipe: { method: 'narang', targetSparsity: 0.85, targetMethod: 'calibrated', targetGrowth: 1.7 }, epochs: 10, itersPerEpoch: 97 },
  { recipe: { method: 'narang', revival: 'never', schedules: { default: { q: 0.3, phiMult: 2.9 }, recurrent: { theta: 0.01, phi: 0.02, freq: 7 } } }, epochs: 6, itersPerEpoch: 33 },
  { recipe: { method: 'narang', pruneEmbedding: true, schedules: { embedding: { startItr: 5, rampItr: 9, endItr: 40, percentile: 75 } } }, epochs: 2, itersPerEpoch: 30 },
  { recipe: { method: 'agp', targetSparsity: 0.8 }, epochs: 10, itersPerEpoch: 661 },
  { recipe: { method: 'agp', agp: { targetSparsity: 0.7, initialSparsity: 0.1, startItr: 3, endItr: 50 } }, epochs: 2, itersPerEpoch: 30 },
  { recipe: { method: 'hard', hard: { atEpoch: 3, targetNnz: 1000 } }, epochs: 10, itersPerEpoch: 661 },
  { recipe: { method: 'hard', targetSparsity: 0.9 }, epochs: 5, itersPerEpoch: 20 },
  { recipe: { method: 'oneshot', oneshot: { targetNnz: 50, scope: 'global' } }, epochs: 1, itersPerEpoch: 10 },
  { recipe: { method: 'none', kinds: [] }, epochs: 1, itersPerEpoch: 10 },
  // Errors: the same message on both sides.
  { recipe: { method: 'narang', bogus: 1 }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'pruned' }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', kinds: ['bias'] }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', kinds: ['input', 'input'] }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', schedules: { default: { freq: 1.5 } } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', schedules: { default: { q: 1, theta: 2 } } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', targetSparsity: 0.9, schedules: { input: { q: 0.1 } } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', targetSparsity: 1 }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', schedules: { default: { startItr: 50, rampItr: 40, endItr: 60 } } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', schedules: { linear: { startItr: 5, endItr: 9, rampItr: 6, freq: 10 } } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp' }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'hard', targetSparsity: 0.5, hard: { targetNnz: 3 } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', pruneEmbedding: 'yes' }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang' }, epochs: 1, itersPerEpoch: 3 },
  { recipe: [1, 2], epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: [1, 4] }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'narang', block: [1, 1] }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: [4] }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: '1x4' }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: [0, 4] }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'none', block: [2, 2] }, epochs: 10, itersPerEpoch: 10 },
  // Blocks per layer type: stored per type where they differ, as [R, C] where every pruned type shares one.
  { recipe: { method: 'narang', targetSparsity: 0.9, block: { recurrent: [4, 4] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: { recurrent: [1, 4], input: [1, 4], linear: [1, 4] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, kinds: ['recurrent'], block: { recurrent: [4, 4] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'hard', targetSparsity: 0.9, block: { recurrent: [4, 4] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'oneshot', oneshot: { targetSparsity: 0.5, scope: 'global' }, block: { input: [2, 2] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: { recurent: [4, 4] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, block: {} }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'agp', targetSparsity: 0.9, kinds: ['recurrent'], block: { input: [4, 4] } }, epochs: 10, itersPerEpoch: 10 },
  { recipe: { method: 'none', block: { recurrent: [4, 4] } }, epochs: 10, itersPerEpoch: 10 },
];

test('parity: every recipe resolves to the same schedule (defaults, warnings) or the same error as in TypeScript', { skip }, () => {
  const file = join(tmp, 'resolve.json');
  writeFileSync(file, JSON.stringify(RESOLVE_CASES));
  const got = parity<({ resolved: unknown } | { error: string })[]>('resolve', file);
  assert.equal(got.length, RESOLVE_CASES.length);
  RESOLVE_CASES.forEach((c, i) => {
    let want: { resolved: unknown } | { error: string };
    try {
      want = { resolved: JSON.parse(JSON.stringify(resolveRecipe(c.recipe as PruneRecipe, c))) };
    } catch (e) {
      want = { error: (e as Error).message };
    }
    assert.deepEqual(got[i], want, `case ${i}: ${JSON.stringify(c)}`);
  });
  assert.ok(got.filter((g) => 'error' in g).length >= 10, 'the error cases are errors');
});

test('parity: Eq. 1 and Algorithm 1 in Python equal `sparse-rnn schedule --json` exactly', { skip }, () => {
  const cases = [
    { startItr: 661, rampItr: 1322, endItr: 3305, freq: 100, q: 1 },
    { startItr: 661, rampItr: 1322, endItr: 3305, freq: 100, q: 0.123456789, phiMult: 2.9 },
    { startItr: 3, rampItr: 3, endItr: 50, freq: 7, q: 0.7, phiMult: 2 },
    { epochs: 3, itersPerEpoch: 40, q: 0.3, phiMult: 2.9 },
    { epochs: 10, itersPerEpoch: 97, q: 0.05 },
  ];
  const file = join(tmp, 'schedule.json');
  writeFileSync(file, JSON.stringify(cases));
  const got = parity<unknown[]>('schedule', file);
  cases.forEach((c, i) => {
    const args = ['schedule', '--json', '--q', String(c.q)];
    if ('epochs' in c) args.push('--epochs', String(c.epochs), '--iters-per-epoch', String(c.itersPerEpoch));
    else args.push('--start-itr', String(c.startItr), '--ramp-itr', String(c.rampItr), '--end-itr', String(c.endItr), '--freq', String(c.freq));
    if (c.phiMult !== undefined) args.push('--phi-mult', String(c.phiMult));
    const r = cli(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(got[i], JSON.parse(r.stdout), `case ${i}: ${JSON.stringify(c)}`);
  });
});

// ---------------------------------------------------------------------------------------------
// The same weight trajectory through both pruners

const TRAJ_CFG: ModelConfig = { cell: 'gru', inputSize: 4, hiddenSize: 8, numLayers: 2, bidirectional: false, vocabSize: 7, outputSize: 7 };

/** The next float32 above (dir 1) or below (dir −1) a positive float32 x. */
function nextF32(x: number, dir: 1 | -1): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] += dir;
  return f[0]!;
}

interface Update { itr: number; method: string; kind?: string; epsilon?: number; targetSparsity?: number; tensors: unknown[]; masks: Record<string, string> }

/**
 * Runs the TypeScript pruner over a seeded weight trajectory (weights drift, and grow, between steps;
 * with `grid` they are rounded to multiples of 1/grid, which makes ties for the top-k cuts; with
 * `plant` a few weights are set to float32(ε) and its float32 neighbours just before each Narang
 * update whose ε is known in advance) and writes the trajectory for the Python replay.
 */
function runTs(name: string, recipe: PruneRecipe, o: { epochs: number; itersPerEpoch: number; seed: number; grid?: number; plant?: boolean }) {
  const model = new RNNModel(TRAJ_CFG, createKernels(new Heap(), 'ts'));
  model.init(o.seed);
  const rng = new Rng(o.seed);
  const N = o.epochs * o.itersPerEpoch;
  const traj = new Map(model.params.map((p) => [p.name, new Float32Array((N + 1) * p.size)]));
  const quant = (x: number) => (o.grid ? Math.round(x * o.grid) / o.grid : x);
  const snapshot = (i: number) => {
    for (const p of model.params) traj.get(p.name)!.set(p.data, i * p.size);
  };
  for (const p of model.params) for (let i = 0; i < p.size; i++) p.data[i] = quant(p.data[i]!);
  snapshot(0);
  const pruner = new Pruner(recipe, model.params, { epochs: o.epochs, itersPerEpoch: o.itersPerEpoch });
  const updates: Update[] = [];
  const bits = (name: string) => Array.from(model.byName.get(name)!.maskData!, (v) => (v ? '1' : '0')).join('');
  const collect = (seen: number) => {
    for (const rec of pruner.history.slice(seen))
      updates.push({ ...JSON.parse(JSON.stringify(rec)), masks: Object.fromEntries(rec.tensors.map((t) => [t.name, bits(t.name)])) });
    return pruner.history.length;
  };
  let seen = collect(0);
  let planted = 0;
  for (let itr = 0; itr < N; itr++) {
    // One "optimizer step": every weight (pruned ones too, so that revival can happen) moves, with a drift outwards.
    for (const p of model.params) for (let i = 0; i < p.size; i++) {
      const w = p.data[i]!;
      p.data[i] = quant(w * 1.01 + rng.uniform(-0.02, 0.02));
    }
    if (o.plant)
      for (const kind of ['input', 'recurrent', 'linear'] as const) {
        const s = pruner.schedule(kind);
        const eps = s && narangEpsilon(s, itr);
        if (!eps) continue;
        const e32 = Math.fround(eps);
        const p = model.params.find((q) => q.kind === kind)!;
        for (const [i, v] of [e32, -e32, nextF32(e32, -1), nextF32(e32, 1), -nextF32(e32, -1)].entries()) p.data[i] = v;
        planted++;
      }
    snapshot(itr + 1);
    pruner.afterStep(itr);
    seen = collect(seen);
  }
  const tensors: Record<string, TensorInput> = {};
  for (const p of model.params) tensors[`traj.${p.name}`] = { dtype: 'F32', shape: [N + 1, ...p.shape], data: traj.get(p.name)! };
  const spec = { recipe, epochs: o.epochs, itersPerEpoch: o.itersPerEpoch, iterations: N, model: { vocab: 7, embed: 4, hidden: 8, layers: 2 } };
  const file = join(tmp, `${name}.safetensors`);
  writeFileSync(file, serializeSafetensors(tensors, { parity: JSON.stringify(spec) }));
  const weights = Object.fromEntries(model.params.map((p) => [p.name, Array.from(p.data)]));
  return { file, updates, state: pruner.state(), weights, planted };
}

const TRAJECTORIES: { name: string; recipe: PruneRecipe; epochs: number; itersPerEpoch: number; seed: number; grid?: number; plant?: boolean }[] = [
  { name: 'narang-q', recipe: { method: 'narang', schedules: { default: { q: 0.4 }, linear: { q: 0.3, phiMult: 2.9 } } }, epochs: 6, itersPerEpoch: 20, seed: 1, plant: true },
  { name: 'narang-measured-never', recipe: { method: 'narang', revival: 'never' }, epochs: 6, itersPerEpoch: 20, seed: 2 },
  { name: 'narang-measured-paper', recipe: { method: 'narang', schedules: { default: { phiMult: 2.9, percentile: 85 } } }, epochs: 6, itersPerEpoch: 20, seed: 3 },
  { name: 'narang-target', recipe: { method: 'narang', targetSparsity: 0.9 }, epochs: 6, itersPerEpoch: 20, seed: 4 },
  { name: 'narang-calibrated', recipe: { method: 'narang', targetSparsity: 0.8, targetMethod: 'calibrated', pruneEmbedding: true }, epochs: 6, itersPerEpoch: 20, seed: 5 },
  { name: 'agp-ties', recipe: { method: 'agp', targetSparsity: 0.8 }, epochs: 6, itersPerEpoch: 20, seed: 6, grid: 32 },
  { name: 'agp-never', recipe: { method: 'agp', revival: 'never', agp: { targetSparsity: 0.7, initialSparsity: 0.2, freq: 3 } }, epochs: 6, itersPerEpoch: 20, seed: 7 },
  { name: 'hard-ties', recipe: { method: 'hard', hard: { atEpoch: 2, targetNnz: 333 } }, epochs: 4, itersPerEpoch: 20, seed: 8, grid: 16 },
  { name: 'oneshot-global', recipe: { method: 'oneshot', oneshot: { targetSparsity: 0.6, scope: 'global' } }, epochs: 1, itersPerEpoch: 10, seed: 9, grid: 16 },
  // Block pruning (max |w| per block): the same units, thresholds, ties and masks.
  { name: 'narang-target-1x4', recipe: { method: 'narang', targetSparsity: 0.9, block: [1, 4] }, epochs: 6, itersPerEpoch: 20, seed: 10 },
  { name: 'narang-never-1x4', recipe: { method: 'narang', revival: 'never', block: [1, 4] }, epochs: 6, itersPerEpoch: 20, seed: 11, plant: true },
  { name: 'agp-ties-1x4', recipe: { method: 'agp', targetSparsity: 0.8, block: [1, 4] }, epochs: 6, itersPerEpoch: 20, seed: 12, grid: 32 },
  { name: 'hard-ties-4x4', recipe: { method: 'hard', kinds: ['recurrent', 'input'], block: [4, 4], hard: { atEpoch: 2, targetNnz: 333 } }, epochs: 4, itersPerEpoch: 20, seed: 13, grid: 16 },
  { name: 'oneshot-tensor-2x4', recipe: { method: 'oneshot', kinds: ['recurrent', 'input'], block: [2, 4], oneshot: { targetSparsity: 0.5, scope: 'tensor' } }, epochs: 1, itersPerEpoch: 10, seed: 14, grid: 16 },
  // Blocks that do not divide the shapes (W_ih 24×4, W_hh 24×8, fc 7×8): short edge blocks, kept or dropped whole.
  { name: 'narang-target-3x3-ragged', recipe: { method: 'narang', targetSparsity: 0.8, block: [3, 3] }, epochs: 6, itersPerEpoch: 20, seed: 15 },
  { name: 'hard-ties-4x3-ragged', recipe: { method: 'hard', block: [4, 3], hard: { atEpoch: 2, targetNnz: 200 } }, epochs: 4, itersPerEpoch: 20, seed: 16, grid: 16 },
  // Blocks in W_hh only; the other types prune single weights.
  { name: 'narang-target-4x4-recurrent', recipe: { method: 'narang', targetSparsity: 0.85, block: { recurrent: [4, 4] } }, epochs: 6, itersPerEpoch: 20, seed: 17 },
  { name: 'agp-ties-1x4-recurrent', recipe: { method: 'agp', targetSparsity: 0.8, block: { recurrent: [1, 4] } }, epochs: 6, itersPerEpoch: 20, seed: 18, grid: 32 },
];

for (const t of TRAJECTORIES)
  test(`parity: ${t.name}: the same weight trajectory gives the same ε and the same masks at every update`, { skip }, () => {
    const ts = runTs(t.name, t.recipe, t);
    const got = parity<{ updates: Update[]; state: PrunerState; weights: Record<string, number[]> }>('replay', ts.file);
    assert.ok(ts.updates.length > 0, 'the trajectory has mask updates');
    if (t.plant) assert.ok(ts.planted > 0, 'weights were planted at float32(ε)');
    assert.equal(got.updates.length, ts.updates.length, 'number of mask updates');
    ts.updates.forEach((u, i) => {
      const g = got.updates[i]!;
      const at = `update ${i} (itr ${u.itr}${u.kind ? `, ${u.kind}` : ''})`;
      assert.equal(g.itr, u.itr, at);
      assert.equal(g.kind, u.kind, at);
      assert.equal(g.epsilon, u.epsilon, `${at}: ε (double)`);
      if (u.epsilon !== undefined) assert.equal(Math.fround(g.epsilon!), Math.fround(u.epsilon), `${at}: ε (float32)`);
      assert.equal(g.targetSparsity, u.targetSparsity, `${at}: target sparsity`);
      assert.deepEqual(g.tensors, u.tensors, `${at}: zeros, revivals and thresholds per tensor`);
      for (const [n, m] of Object.entries(u.masks)) assert.ok(g.masks[n] === m, `${at}: mask of ${n} differs`);
    });
    // The whole pruner state (q, θ, φ, ε per kind, counters, history, warnings, resolved schedule) agrees.
    assert.deepEqual(got.state, JSON.parse(JSON.stringify(ts.state)));
    for (const [n, w] of Object.entries(ts.weights)) {
      const gw = got.weights[n]!;
      assert.ok(w.every((v, i) => v === gw[i]), `final weights of ${n}`);
    }
  });

// ---------------------------------------------------------------------------------------------
// The package: unit tests, pip install

test('python/tests: the companion package\'s unit tests (recipe errors, safetensors, exact resume, DDP names)', { skip }, () => {
  const r = py(['-m', 'unittest', 'discover', '-s', join(root, 'python/tests'), '-p', 'test_*.py']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /OK/);
});

test('pip installs python/ (pyproject.toml) offline with --no-deps --no-build-isolation', { skip }, () => {
  const probe = py(['-c', 'import setuptools, wheel, pip']);
  if (probe.status !== 0) {
    console.log(`skipping the pip install check: pip/setuptools/wheel missing (apt-get install python3-pip python3-setuptools python3-wheel): ${probe.stderr.trim().split('\n').pop()}`);
    return;
  }
  const target = join(tmp, 'site');
  const build = join(tmp, 'pysrc');
  // Build from a copy, so that the build's egg-info and build/ folders never land in the source tree.
  spawnSync('cp', ['-r', join(root, 'python'), build]);
  const r = py(['-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index', '--disable-pip-version-check', '--target', target, build],
    { env: { ...pyEnv, PYTHONPATH: '' } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const v = py(['-c', 'import sparse_rnn_torch as s; print(s.__version__, s.__file__)'], { env: { ...pyEnv, PYTHONPATH: target } });
  assert.equal(v.status, 0, v.stderr);
  assert.ok(v.stdout.includes(target), v.stdout);
});

// ---------------------------------------------------------------------------------------------
// The example on 2 processes, and back into sparse-rnn

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-30);
}

/** import → export → infer on a state dict written by PyTorch, against its golden logits. */
function roundTrip(dir: string, weights: string, golden: string, extra: string[] = []): { err: number; srnn: string } {
  const ck = join(dir, 'model.ckpt'), srnn = join(dir, 'model.srnn'), x = join(dir, 'ids.npy'), y = join(dir, 'y.npy');
  let r = cli('import', weights, '-o', ck, ...extra);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /masks of \d+ tensor\(s\)/);
  r = cli('export', ck, '-o', srnn);
  assert.equal(r.status, 0, r.stderr);
  const g = parseSafetensors(readFileSync(golden));
  const ids = g.tensors.get('ids')!;
  writeFileSync(x, serializeNpy(Int32Array.from(ids.data), ids.shape));
  r = cli('infer', srnn, '--input', x, '-o', y);
  assert.equal(r.status, 0, r.stderr);
  const out = parseNpy(readFileSync(y));
  assert.deepEqual(out.shape, g.tensors.get('logits')!.shape);
  return { err: relErr(out.data, g.tensors.get('logits')!.data), srnn };
}

test('train_ddp.py on 2 processes (gloo): identical masks on both ranks, stop + resume, then import → export → infer = PyTorch logits', { skip }, () => {
  const out = join(tmp, 'ddp');
  const launch = (...extra: string[]) =>
    py(['-m', 'sparse_rnn_torch.torchrun', '--standalone', '--nproc_per_node=2', join(root, 'python/examples/train_ddp.py'),
      '--out', out, '--hidden', '16', '--embed', '8', '--batch', '8', '--seq-len', '20', '--epochs', '4', '--steps-per-epoch', '10',
      '--eval-chars', '300', '--golden', '--timeout', '120', ...extra]);
  let r = launch('--stop-after', '15');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  // The DDP model is freed before the process group, or exit can deadlock (docs/pytorch.md).
  assert.doesNotMatch(r.stderr, /outlived training/);
  assert.match(r.stdout, /masks identical on all 2 rank\(s\)/);
  assert.match(r.stdout, /stopped after step 15; continue with --resume/);
  // Without --resume an existing run is not overwritten (checked before any process group is formed).
  r = py([join(root, 'python/examples/train_ddp.py'), '--out', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^train_ddp: error: .*checkpoint\.pt exists: pass --resume to continue that run, or --force to start over$/m);
  r = launch('--resume');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stderr, /outlived training/);
  assert.match(r.stdout, /resumed from .*checkpoint\.pt at step 15/);
  assert.match(r.stdout, /masks identical on all 2 rank\(s\)/);
  const pruner = JSON.parse(readFileSync(join(out, 'pruner.json'), 'utf8')) as PrunerState;
  assert.equal(pruner.lastItr, 39);
  assert.ok(pruner.history.length > 0, 'the masks were updated');
  const { err, srnn } = roundTrip(out, join(out, 'model.safetensors'), join(out, 'golden.safetensors'), ['--vocab-file', join(out, 'vocab.json')]);
  console.log(`train_ddp.py → import → export → infer: logits vs PyTorch, max relative error ${err.toExponential(1)}`);
  assert.ok(err <= 1e-5, `logits differ by ${err}`);
  // The sparsity the pruner reached is the sparsity of the .srnn's pruned matrices.
  const r2 = cli('export', join(out, 'model.ckpt'), '-o', srnn, '--force');
  assert.match(r2.stdout, /rnn\.weight_hh_l0 +\[48x16\] csr/);
});

test('a model pruned with torch.nn.utils.prune (<name>_orig + <name>_mask) imports with its masks; logits equal PyTorch\'s', { skip }, () => {
  const dir = join(tmp, 'tprune');
  const script = `
import sys, os, torch
from torch.nn.utils import prune
from sparse_rnn_torch import save_file
torch.manual_seed(7)
class M(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.encoder = torch.nn.Embedding(11, 5); s.lstm = torch.nn.LSTM(5, 9, 2); s.decoder = torch.nn.Linear(9, 11)
    def forward(s, x):
        y, _ = s.lstm(s.encoder(x)); return s.decoder(y)
m = M()
for name in ("weight_ih_l0", "weight_hh_l0", "weight_hh_l1"):
    prune.l1_unstructured(m.lstm, name, amount=0.7)
prune.random_unstructured(m.decoder, "weight", amount=0.5)
os.makedirs(sys.argv[1], exist_ok=True)
save_file(m.state_dict(), os.path.join(sys.argv[1], "model.safetensors"))
ids = torch.randint(0, 11, (13, 3))
with torch.no_grad():
    save_file({"ids": ids, "logits": m(ids)}, os.path.join(sys.argv[1], "golden.safetensors"))
print(sorted(k for k in m.state_dict() if k.endswith(("_orig", "_mask"))))
`;
  const r = py(['-c', script, dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /'lstm\.weight_hh_l0_orig'/);
  const { err } = roundTrip(dir, join(dir, 'model.safetensors'), join(dir, 'golden.safetensors'));
  console.log(`torch.nn.utils.prune LSTM → import → export → infer: max relative error ${err.toExponential(1)}`);
  assert.ok(err <= 1e-5, `logits differ by ${err}`);
});

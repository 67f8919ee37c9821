// `sparse-rnn import` with masks, in both namings (ours: <name> + <name>_mask; torch.nn.utils.prune:
// <name>_orig + <name>_mask): the masks are applied, travel into the checkpoint, and `export` writes
// exactly those zeros; bad masks are refused with one line. (Needs no Python: the state dicts are
// written here; test/python.test.ts does the same with files written by PyTorch.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serializeSafetensors, parseSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { importStateDict } from '../src/io/torch.js';
import { importCommand } from '../src/cli/commands/import.js';
import { exportCommand } from '../src/cli/commands/export.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { Rng } from '../src/util/rng.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-import-'));

const H = 6, E = 4, V = 5;
const SHAPES: Record<string, number[]> = {
  'embedding.weight': [V, E],
  'rnn.weight_ih_l0': [3 * H, E], 'rnn.weight_hh_l0': [3 * H, H], 'rnn.bias_ih_l0': [3 * H], 'rnn.bias_hh_l0': [3 * H],
  'fc.weight': [V, H], 'fc.bias': [V],
};
const PRUNED = ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'fc.weight'];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A GRU char model's state dict with random non-zero weights and ~60% random masks on the pruned tensors. */
function stateDict(seed: number, form: 'ours' | 'torch-prune', maskDtype: 'BOOL' | 'U8' | 'F32' = 'BOOL') {
  const rng = new Rng(seed);
  const t: Record<string, TensorInput> = {};
  const masks = new Map<string, Uint8Array>();
  for (const [n, s] of Object.entries(SHAPES)) {
    const w = Float32Array.from({ length: size(s) }, () => (rng.next() < 0.5 ? -1 : 1) * (0.05 + rng.next()));
    if (!PRUNED.includes(n)) {
      t[n] = { dtype: 'F32', shape: s, data: w };
      continue;
    }
    const m = Uint8Array.from({ length: w.length }, () => (rng.next() < 0.6 ? 0 : 1));
    masks.set(n, m);
    const md = maskDtype === 'F32' ? Float32Array.from(m) : m;
    t[form === 'ours' ? n : `${n}_orig`] = { dtype: 'F32', shape: s, data: w };
    t[`${n}_mask`] = { dtype: maskDtype, shape: s, data: md };
  }
  return { tensors: t, masks };
}

function write(name: string, t: Record<string, TensorInput>): string {
  const f = join(tmp, name);
  writeFileSync(f, serializeSafetensors(t));
  return f;
}

for (const form of ['ours', 'torch-prune'] as const)
  test(`import reads masks (${form === 'ours' ? '<name> + <name>_mask' : "torch prune's <name>_orig + <name>_mask"}) → checkpoint → export has exactly those zeros`, async () => {
    const { tensors, masks } = stateDict(form === 'ours' ? 1 : 2, form, form === 'ours' ? 'BOOL' : 'F32');
    const file = write(`${form}.safetensors`, tensors);
    const ck = join(tmp, `${form}.ckpt`), srnn = join(tmp, `${form}.srnn`);
    const imp = await importCommand(file, { out: ck });
    assert.deepEqual([...imp.masks.keys()].sort(), [...PRUNED].sort());
    assert.ok(imp.notes.some((n) => /masks of 3 tensor\(s\)/.test(n)), imp.notes.join('\n'));
    const c = loadCheckpoint(ck);
    for (const n of PRUNED) {
      const m = c.tensors.get(`${n}_mask`)!;
      assert.deepEqual(Array.from(m.data), Array.from(masks.get(n)!), `${n}_mask in the checkpoint`);
      const w = c.tensors.get(n)!.data;
      const src = tensors[form === 'ours' ? n : `${n}_orig`]!.data as Float32Array;
      for (let i = 0; i < w.length; i++) assert.equal(w[i], masks.get(n)![i] ? src[i] : 0, `${n}[${i}]`);
    }
    await exportCommand(ck, { output: srnn, values: 'fp32', storage: 'csr' });
    const model = SparseModel.load(new Uint8Array((await import('node:fs')).readFileSync(srnn)));
    // The .srnn's non-zeros are exactly the mask's ones (the weights are non-zero elsewhere).
    const info = model.describe();
    for (const n of PRUNED) {
      const t = info.find((x) => x.name === n)!;
      const ones = masks.get(n)!.reduce((a, b) => a + b, 0);
      assert.equal(t.nnz, ones, `${n}: nnz in the .srnn`);
    }
  });

test('import refuses bad masks with one line naming the tensor', () => {
  const base = () => stateDict(3, 'ours').tensors;
  const bad = (mut: (t: Record<string, TensorInput>) => void, re: RegExp) => {
    const t = base();
    mut(t);
    assert.throws(() => importStateDict(parseSafetensors(serializeSafetensors(t)), 'w.safetensors'), re);
  };
  bad((t) => (t['rnn.weight_hh_l0_mask'] = { dtype: 'U8', shape: [H, 3 * H], data: new Uint8Array(3 * H * H) }),
    /w\.safetensors: rnn\.weight_hh_l0_mask has shape \[6,18\], but rnn\.weight_hh_l0 has shape \[18,6\]/);
  bad((t) => {
    const d = new Float32Array(size(SHAPES['fc.weight']!)).fill(1);
    d[7] = 0.5;
    t['fc.weight_mask'] = { dtype: 'F32', shape: SHAPES['fc.weight']!, data: d };
  }, /fc\.weight_mask\[7\] is 0\.5; a mask holds only 0 and 1/);
  bad((t) => (t['fc.weight_mask'] = { dtype: 'U8', shape: SHAPES['fc.weight']!, data: new Uint8Array(size(SHAPES['fc.weight']!)).fill(2) }),
    /fc\.weight_mask\[0\] is 2/);
  bad((t) => {
    t['rnn.weight_ih_l0_orig'] = t['rnn.weight_ih_l0']!;
    delete t['rnn.weight_ih_l0_mask'];
    delete t['rnn.weight_ih_l0'];
  }, /rnn\.weight_ih_l0_orig has no rnn\.weight_ih_l0_mask beside it/);
  bad((t) => (t['rnn.weight_ih_l0_orig'] = t['rnn.weight_ih_l0']!), /both rnn\.weight_ih_l0 and rnn\.weight_ih_l0_orig are present/);
  // A *_mask with no tensor of that name is not a pruning mask: it is ignored, like any unknown tensor.
  const t = base();
  t.attention_mask = { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) };
  const imp = importStateDict(parseSafetensors(serializeSafetensors(t)), 'w.safetensors');
  assert.ok(imp.notes.some((n) => /ignored 1 tensor\(s\): attention_mask/.test(n)), imp.notes.join('\n'));
});

test('CLI: a bad mask exits 1 with one line, no stack trace', () => {
  const t = stateDict(4, 'torch-prune').tensors;
  delete t['fc.weight_mask'];
  const file = write('orphan.safetensors', t);
  const r = spawnSync(process.execPath, [join(root, 'bin/sparse-rnn.js'), 'import', file, '-o', join(tmp, 'x.ckpt')], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^sparse-rnn: error: .*orphan\.safetensors: fc\.weight_orig has no fc\.weight_mask beside it/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

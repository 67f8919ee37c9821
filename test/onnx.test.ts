// ONNX export and import: every cell type run in onnxruntime-node against RNNModel's forward
// (1 layer on features; 2 bidirectional layers with embedding, head and state inputs), sparse
// initializers, bit-exact round trips (library and CLI, masks applied), PyTorch-exported ONNX and
// state dicts (test/fixtures/onnx, made by scripts/make-onnx-fixture.py), and clear refusals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exportOnnx, importOnnx, parseOnnx } from '../src/io/onnx.js';
import { PbWriter } from '../src/io/protobuf.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { CELL_TYPES, type CellType, type ModelConfig } from '../src/nn/config.js';
import { RNNModel, type RecurrentState } from '../src/nn/model.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { exportOnnxCommand } from '../src/cli/commands/export-onnx.js';
import { importCommand, importStateDict } from '../src/cli/commands/import.js';
import { Rng } from '../src/util/rng.js';
import { runCharLM, type CharLMRunOptions } from '../src/train/charlm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, 'test/fixtures/onnx');
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-onnx-'));

// onnxruntime-node is an optional dependency: typed minimally so the build needs no types from it.
interface OrtTensor { data: Float32Array | BigInt64Array; dims: readonly number[] }
interface Ort {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }> };
}
let ort: Ort | null = null;
try {
  const name = 'onnxruntime-node';
  ort = (await import(name)) as Ort;
} catch (e) {
  ort = null;
  console.log(`onnxruntime-node is not installed (${(e as Error).message.split('\n')[0]}): the onnxruntime comparisons skip; ` +
    'install it with `npm ci` (an optional dependency; the project .npmrc skips its CUDA download)');
}
const NO_ORT = 'onnxruntime-node not installed (optional dependency): npm ci installs it';

function makeModel(cfg: ModelConfig, seed: number): RNNModel {
  const m = new RNNModel(cfg, createKernels(new Heap(), 'auto'));
  m.init(seed);
  // Larger weights for the clipped ReLU so that the clip at 20 is reached.
  // (input weights ×16 drive pre-activations past 20; a moderate recurrent gain keeps fp32 rounding small)
  if (cfg.cell === 'rnn_clipped')
    for (const p of m.params) {
      const k = p.kind === 'input' ? 16 : p.kind === 'recurrent' ? 1.5 : 1;
      p.data.forEach((v, i, a) => { a[i] = v * k; });
    }
  return m;
}

function weightsOf(m: RNNModel): Map<string, Float32Array> {
  return new Map(m.params.map((p) => [p.name, Float32Array.from(p.data)]));
}

interface RunResult { y: Float32Array; hn?: Float32Array; cn?: Float32Array }

/** RNNModel forward on inputs from a seed; returns the same inputs as ONNX feeds. */
function reference(m: RNNModel, T: number, B: number, state: boolean, seed: number): { ref: RunResult; feeds: Record<string, { type: string; data: Float32Array | BigInt64Array; dims: number[] }> } {
  const c = m.config, rng = new Rng(seed), feeds: Record<string, { type: string; data: Float32Array | BigInt64Array; dims: number[] }> = {};
  let ids: Int32Array | undefined;
  if (c.vocabSize) {
    ids = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * c.vocabSize!));
    feeds.ids = { type: 'int64', data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [T, B] };
  } else {
    const x = Float32Array.from({ length: T * B * c.inputSize }, () => rng.uniform(-2, 2));
    m.heap.f32.set(x, m.inputBuffer(T, B));
    feeds.x = { type: 'float32', data: x, dims: [T, B, c.inputSize] };
  }
  const st: RecurrentState = m.createState(B);
  const n = c.numLayers * m.D * B * c.hiddenSize;
  if (state) {
    const h0 = Float32Array.from({ length: n }, () => rng.uniform(-0.8, 0.8));
    m.heap.f32.set(h0, st.h);
    feeds.h0 = { type: 'float32', data: h0, dims: [c.numLayers * m.D, B, c.hiddenSize] };
    if (st.c >= 0) {
      const c0 = Float32Array.from({ length: n }, () => rng.uniform(-0.8, 0.8));
      m.heap.f32.set(c0, st.c);
      feeds.c0 = { type: 'float32', data: c0, dims: [c.numLayers * m.D, B, c.hiddenSize] };
    }
  }
  const out = m.forward(T, B, { ids, state: st });
  const W = c.outputSize || m.stackOut;
  const ref: RunResult = { y: Float32Array.from(m.heap.view(out, T * B * W)) };
  if (state) {
    ref.hn = Float32Array.from(m.heap.view(st.h, n));
    if (st.c >= 0) ref.cn = Float32Array.from(m.heap.view(st.c, n));
  }
  return { ref, feeds };
}

async function runOrt(bytes: Uint8Array, feeds: ReturnType<typeof reference>['feeds']): Promise<Record<string, Float32Array>> {
  const s = await ort!.InferenceSession.create(bytes);
  const f: Record<string, OrtTensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort!.Tensor(v.type, v.data, v.dims);
  const out = await s.run(f);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Largest |a − b| / (1 + |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return e;
}

const SHAPES: { name: string; cfg: (cell: CellType) => ModelConfig; state: boolean }[] = [
  { name: '1 layer, features in', state: false, cfg: (cell) => ({ cell, inputSize: 5, hiddenSize: 9, numLayers: 1, bidirectional: false, outputSize: 0 }) },
  { name: '2 layers bidirectional, embedding + head, h0/c0 in, hn/cn out', state: true,
    cfg: (cell) => ({ cell, inputSize: 6, hiddenSize: 8, numLayers: 2, bidirectional: true, vocabSize: 13, outputSize: 13 }) },
];

for (const cell of CELL_TYPES)
  for (const shape of SHAPES)
    test(`onnxruntime runs the exported ${cell} (${shape.name}) as RNNModel does (1e-5)`, async (t) => {
      if (!ort) return t.skip(NO_ORT);
      const cfg = shape.cfg(cell);
      const m = makeModel(cfg, 11);
      const { bytes, info } = exportOnnx(cfg, weightsOf(m), { state: shape.state });
      const T = 9, B = 3;
      const { ref, feeds } = reference(m, T, B, shape.state, 5);
      const got = await runOrt(bytes, feeds);
      const main = cfg.outputSize ? 'logits' : 'y';
      assert.deepEqual(Object.keys(got).sort(), [...info.outputs].sort());
      const e = relErr(got[main]!, ref.y);
      let eh = 0;
      if (shape.state) eh = Math.max(relErr(got.hn!, ref.hn!), ref.cn ? relErr(got.cn!, ref.cn) : 0);
      t.diagnostic(`onnxruntime vs RNNModel, max |Δ|/(1+|y|): ${e.toExponential(1)}${shape.state ? `, state ${eh.toExponential(1)}` : ''}`);
      assert.ok(e <= 1e-5, `${main}: max relative difference ${e}`);
      assert.ok(eh <= 1e-5, `hn/cn: max relative difference ${eh}`);
      if (cell === 'rnn_clipped' && !cfg.outputSize) assert.ok(ref.y.some((v) => v === 20), `the clip at 20 is exercised (max y ${Math.max(...ref.y)})`);
    });

test('export → import round trip is bit-exact for every cell and shape (config too)', () => {
  for (const cell of CELL_TYPES)
    for (const shape of SHAPES) {
      const cfg = shape.cfg(cell);
      const w = weightsOf(makeModel(cfg, 3));
      for (const sparse of [0, 1]) {
        const back = importOnnx(parseOnnx(exportOnnx(cfg, w, { state: shape.state, sparseMaxDensity: sparse }).bytes));
        assert.deepEqual(back.config, cfg);
        assert.deepEqual([...back.weights.keys()].sort(), [...w.keys()].sort());
        for (const [k, v] of w) assert.deepEqual(back.weights.get(k), v, `${cell} ${k}`);
      }
    }
});

test('sparse_initializer: onnxruntime accepts it, same outputs, smaller file', async (t) => {
  const cfg: ModelConfig = { cell: 'gru', inputSize: 16, hiddenSize: 32, numLayers: 2, bidirectional: true, vocabSize: 20, outputSize: 20 };
  const m = makeModel(cfg, 9);
  const rng = new Rng(4);
  for (const p of m.params) if (p.kind !== 'bias') p.data.forEach((_, i, a) => void (rng.next() < 0.9 && (a[i] = 0)));
  const w = weightsOf(m);
  const dense = exportOnnx(cfg, w).bytes;
  const sp = exportOnnx(cfg, w, { sparseMaxDensity: 0.3 });
  assert.ok(sp.info.sparse.has('rnn.l0.R') && sp.info.sparse.has('fc.weight_T'), [...sp.info.sparse.keys()].join());
  assert.ok(sp.bytes.length < dense.length / 2, `sparse ${sp.bytes.length} B vs dense ${dense.length} B`);
  if (!ort) return t.skip(NO_ORT);
  const { feeds } = reference(m, 6, 2, false, 1);
  const a = await runOrt(dense, feeds), b = await runOrt(sp.bytes, feeds);
  assert.deepEqual(b.logits, a.logits);
});

test('CLI functions: checkpoint (with masks) → export-onnx → import → the same masked weights', async () => {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional: false, vocabSize: 7, outputSize: 7 };
  const m = makeModel(cfg, 21);
  const rng = new Rng(8);
  for (const p of m.params) if (p.kind === 'recurrent' || p.kind === 'input') {
    p.ensureMask();
    p.maskData!.forEach((_, i, a) => void (a[i] = rng.next() < 0.5 ? 0 : 1));
    p.applyMask();
  }
  const vocab = ['a', 'b', ' ', '\n', 'c', 'd', '.'];
  const ck = join(tmp, 'masked.ckpt'), onnx = join(tmp, 'masked.onnx'), back = join(tmp, 'back.ckpt');
  await saveCheckpoint(ck, m, { vocab, task: 'charlm' });
  const r = await exportOnnxCommand(ck, { output: onnx });
  assert.deepEqual(r.info.inputs, ['ids']);
  const imp = await importCommand(onnx, { out: back });
  assert.deepEqual(imp.vocab, vocab, 'vocabulary travels in the ONNX metadata');
  const a = loadCheckpoint(ck), b = loadCheckpoint(back);
  assert.deepEqual(b.meta.config, a.meta.config);
  assert.deepEqual(b.meta.vocab, vocab);
  for (const p of m.params) {
    const got = b.tensors.get(p.name)!.data, want = p.data; // masked weights may be −0 in the model, +0 in files
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(got[i] === want[i], `${p.name}[${i}]: ${got[i]} vs ${want[i]}`);
  }
});

test('PyTorch-exported ONNX (torch.onnx.export, opset 13): GRU char model and LSTM import exactly', () => {
  const sd = parseSafetensors(readFileSync(join(fixtures, 'gru_charlm.safetensors')));
  const imp = importOnnx(parseOnnx(readFileSync(join(fixtures, 'gru_charlm.onnx')), 'gru_charlm.onnx'));
  assert.deepEqual(imp.config, { cell: 'gru', inputSize: 5, hiddenSize: 8, numLayers: 2, bidirectional: true, outputSize: 12, vocabSize: 12 });
  const torchName = (n: string): string => n.replace(/^embedding\./, 'encoder.').replace(/^fc\./, 'decoder.');
  for (const [k, v] of imp.weights) assert.deepEqual(v, sd.tensors.get(torchName(k))!.data, k);
  // Our forward of the imported weights equals PyTorch's logits.
  const m = new RNNModel(imp.config, createKernels(new Heap(), 'auto'));
  for (const p of m.params) p.data.set(imp.weights.get(p.name)!);
  const ids = Int32Array.from(sd.tensors.get('ids')!.data);
  const [T, B] = sd.tensors.get('ids')!.shape as [number, number];
  const y = m.heap.view(m.forward(T, B, { ids }), T * B * 12);
  const e = relErr(y, sd.tensors.get('logits')!.data);
  console.log(`PyTorch GRU char model: imported ONNX forward vs torch logits ${e.toExponential(1)}`);
  assert.ok(e <= 1e-5, `logits differ by ${e}`);

  const sd2 = parseSafetensors(readFileSync(join(fixtures, 'lstm_feat.safetensors')));
  const imp2 = importOnnx(parseOnnx(readFileSync(join(fixtures, 'lstm_feat.onnx'))));
  assert.deepEqual(imp2.config, { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, outputSize: 0 });
  for (const [k, v] of imp2.weights) assert.deepEqual(v, sd2.tensors.get(k.slice(4))!.data, k);
});

test('PyTorch state dict (safetensors): architecture inferred from names and shapes', () => {
  const file = join(fixtures, 'gru_charlm.safetensors');
  const sd = parseSafetensors(readFileSync(file));
  const imp = importStateDict(sd, file);
  assert.deepEqual(imp.config, { cell: 'gru', inputSize: 5, hiddenSize: 8, numLayers: 2, bidirectional: true, outputSize: 12, vocabSize: 12 });
  assert.equal(imp.weights.size, 2 + 16 + 1);
  assert.deepEqual(imp.weights.get('embedding.weight'), sd.tensors.get('encoder.weight')!.data);
  assert.deepEqual(imp.weights.get('fc.bias'), sd.tensors.get('decoder.bias')!.data);
  const lstm = importStateDict(parseSafetensors(readFileSync(join(fixtures, 'lstm_feat.safetensors'))), 'lstm_feat');
  assert.equal(lstm.config.cell, 'lstm');
  // A vanilla RNN needs --cell; a wrong --cell is refused with the shapes.
  const rnn = parseSafetensors(readFileSync(join(root, 'test/fixtures/rnn_tanh_l2_bi.safetensors')));
  // (the fixture also holds gradients named grad.rnn.…: two candidate modules)
  assert.throws(() => importStateDict(rnn, 'rnn.st'), /several recurrent modules \("rnn\.", "grad\.rnn\."\): choose one with --prefix/);
  assert.throws(() => importStateDict(rnn, 'rnn.st', { prefix: 'rnn.' }), /vanilla RNN.*--cell rnn_tanh, rnn_relu or rnn_clipped/);
  const r = importStateDict(rnn, 'rnn.st', { cell: 'rnn_relu', prefix: 'rnn.' });
  assert.deepEqual(r.config, { cell: 'rnn_relu', inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional: true, outputSize: 0 });
  assert.throws(() => importStateDict(rnn, 'rnn.st', { cell: 'gru', prefix: 'rnn.' }), /needs 3·hidden/);
  assert.throws(() => importStateDict(rnn, 'rnn.st', { prefix: 'lstm.' }), /no tensor "lstm\.weight_ih_l0" \(check --prefix; candidates: "rnn\.", "grad\.rnn\."\)/);
});

test('ONNX import refuses what sparse-rnn does not implement, naming it', () => {
  const cfg: ModelConfig = { cell: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, outputSize: 0 };
  const bytes = exportOnnx(cfg, weightsOf(makeModel(cfg, 1))).bytes;
  const m = parseOnnx(bytes);
  m.graph.nodes.find((n) => n.opType === 'GRU')!.attributes.get('linear_before_reset')!.i = 0;
  assert.throws(() => importOnnx(m, 'tf.onnx'), /tf\.onnx: GRU node .*linear_before_reset=0.*PyTorch/);
  const m2 = parseOnnx(bytes);
  m2.graph.nodes.find((n) => n.opType === 'GRU')!.attributes.set('direction', { name: 'direction', type: 3, s: 'reverse' });
  assert.throws(() => importOnnx(m2), /direction "reverse" is not supported/);
  const m3 = parseOnnx(bytes);
  m3.graph.initializers.delete('rnn.l0.W');
  assert.throws(() => importOnnx(m3), /W of GRU node .* is not an initializer/);
  const m4 = parseOnnx(bytes);
  m4.graph.nodes = m4.graph.nodes.filter((n) => n.opType !== 'GRU');
  assert.throws(() => importOnnx(m4), /no GRU, LSTM or RNN node/);
  assert.throws(() => parseOnnx(new PbWriter().int(1, 7).finish(), 'x.onnx'), /x\.onnx: ModelProto: no graph/);
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin/sparse-rnn.js'), ...args], { encoding: 'utf8', timeout: 60000 });
}

test('CLI: import (state dict, vocab file) → export-onnx → export (.srnn); errors exit 1 with one line', async () => {
  const vocabFile = join(tmp, 'vocab.txt');
  writeFileSync(vocabFile, ['a', 'b', 'c', '\\s', '\\n', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n');
  const ck = join(tmp, 'torch.ckpt');
  let r = cli('import', join(fixtures, 'gru_charlm.safetensors'), '-o', ck, '--vocab-file', vocabFile);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /embedding encoder\.weight \[12,5\]/);
  assert.match(r.stdout, /head decoder\.weight \[12,16\]/);
  assert.deepEqual(loadCheckpoint(ck).meta.vocab?.slice(2, 5), ['c', ' ', '\n']);
  r = cli('export-onnx', ck, '-o', join(tmp, 'torch.onnx'), '--state', '--sparse-initializers', '0.3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /inputs: {2}ids, h0\n {2}outputs: logits, hn/);
  r = cli('export', ck, '-o', join(tmp, 'torch.srnn'));
  assert.equal(r.status, 0, r.stderr);
  r = cli('import', join(root, 'test/fixtures/rnn_tanh_l1.safetensors'), '-o', join(tmp, 'x.ckpt'), '--prefix', 'rnn.');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^sparse-rnn: error: .*rnn_tanh_l1\.safetensors: .*pass --cell/);
  writeFileSync(join(tmp, 'junk.onnx'), 'definitely not protobuf');
  r = cli('import', join(tmp, 'junk.onnx'), '-o', join(tmp, 'x.ckpt'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /junk\.onnx/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test('fine-tuning an imported model: train → export-onnx → import → train --init-from (with pruning)', async () => {
  const corpus = join(tmp, 'corpus.txt');
  const words = ['the', 'whale', 'sea', 'ship', 'and', 'of', 'a', 'boat'];
  const rng = new Rng(2);
  writeFileSync(corpus, Array.from({ length: 4000 }, () => words[Math.floor(rng.next() * words.length)]).join(' '));
  const base = (name: string, over: Partial<CharLMRunOptions> = {}): CharLMRunOptions => ({
    corpus, cell: 'gru', layers: 1, hidden: 12, embed: 6, dropout: 0,
    train: { epochs: 1, batch: 4, seqLen: 12, clip: 5, lrDecay: 1, seed: 1, maxStepsPerEpoch: 8, evalChars: 300, optimizer: { kind: 'adam', lr: 5e-3 } },
    checkpoint: join(tmp, name, 'model.ckpt'), resume: false, prune: null, kernels: 'auto', ...over,
  });
  const first = await runCharLM(base('ft-a'));
  assert.ok(first.completed);
  const onnx = join(tmp, 'ft.onnx'), imported = join(tmp, 'ft-imported.ckpt');
  await exportOnnxCommand(join(tmp, 'ft-a', 'model.ckpt'), { output: onnx });
  await importCommand(onnx, { out: imported });
  const tuned = await runCharLM(base('ft-b', { initFrom: imported, prune: { method: 'oneshot', oneshot: { targetSparsity: 0.5 } } as CharLMRunOptions['prune'] }));
  assert.ok(tuned.completed);
  const hh = tuned.model.byName.get('rnn.weight_hh_l0')!;
  assert.ok(hh.sparsity() >= 0.45, `one-shot pruned the imported weights (${hh.sparsity()})`);
});

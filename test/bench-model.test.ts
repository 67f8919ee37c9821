// The whole-model benchmark's plumbing (bench/model.ts), on a tiny matrix and without timing
// assertions: every configuration of the matrix gets a row, ours (sparse and dense) and
// onnxruntime-node (when installed) compute the same outputs from the same weights, and the bytes
// counted per timestep follow the stored formats.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchModel, exportSparse, modelMarkdown, randomPrunedWeights, weightBytesPerStep, type Matrix } from '../bench/model.js';
import { readSrnn } from '../src/sparse/format.js';
import { loadOrt } from '../bench/ort.js';
import { exportModel } from '../src/sparse/export.js';
import type { ModelConfig } from '../src/nn/config.js';

test('bench model: a row per configuration, outputs agree across runtimes, GB/s bytes as stored', { timeout: 60_000 }, async () => {
  const char: ModelConfig = { cell: 'gru', inputSize: 16, hiddenSize: 48, numLayers: 2, bidirectional: false, vocabSize: 20, outputSize: 20 };
  const speech: ModelConfig = { cell: 'rnn_clipped', inputSize: 24, hiddenSize: 32, numLayers: 1, bidirectional: true, outputSize: 29 };
  const lstm: ModelConfig = { ...char, cell: 'lstm', numLayers: 1 };
  const matrix: Matrix = {
    models: [{ name: 'gru', config: char }, { name: 'lstm', config: lstm }, { name: 'birnn', config: speech }],
    sparsities: [0.8, 0.9, 0.95], batches: [1, 3], threads: [1], blocks: ['unstructured', '1x4'], blockModels: ['gru'], rounds: 1, minMs: 0, budgetMs: 1000,
  };
  const r = await benchModel({ quick: true, log: () => undefined, matrix, rss: false });
  // Unstructured everywhere, 1x4 blocks for the GRU at 90% only.
  assert.equal(r.rows.length, 3 * 3 * 2 + 2);
  assert.equal(r.rows.filter((x) => x.block === '1x4' && x.model === 'gru' && x.sparsity === 0.9).length, 2);
  for (const m of matrix.models) for (const s of matrix.sparsities) for (const b of matrix.batches)
    assert.ok(r.rows.some((x) => x.model === m.name && x.sparsity === s && x.batch === b && x.threads === 1), `${m.name} ${s} B=${b} missing`);
  const ort = await loadOrt();
  for (const x of r.rows) {
    assert.ok(x.diffDense < 1e-5, `${x.model} ${x.sparsity} B=${x.batch}: sparse vs dense max|Δ| ${x.diffDense}`);
    if (ort) assert.ok(x.diffOrt !== null && x.diffOrt < 1e-5, `${x.model} ${x.sparsity} B=${x.batch}: sparse vs onnxruntime max|Δ| ${x.diffOrt}`);
    assert.ok(x.sparseUs > 0 && x.denseUs > 0 && x.T > 0);
    assert.equal(x.sparseStepUs === null, x.bidirectional, 'step() is timed for unidirectional models only');
    assert.ok(x.sparseBytes < x.denseBytes);
  }
  assert.match(modelMarkdown(r), /\| gru \| 80% \| 3 \| 1 \|/);

  // Dense: 4 bytes per entry of every matrix and bias, B embedding rows.
  const w = randomPrunedWeights(char, 0.9);
  const dense = exportModel(char, w, { values: 'fp32', storage: 'dense' });
  const G = 3 * 48, n = G * 16 + G * 48 + 2 * G + G * 48 + G * 48 + 2 * G + 20 * 48 + 20;
  assert.equal(weightBytesPerStep(dense, 2), 4 * n + 2 * 16 * 4);
  // 90% sparse: about a tenth of the values, plus indices and row pointers.
  const sparse = weightBytesPerStep(exportModel(char, w, { values: 'fp32' }), 1);
  assert.ok(sparse < 0.4 * 4 * n && sparse > 0.1 * 4 * n, `sparse bytes ${sparse} vs dense ${4 * n}`);
  // Block pruning drops whole blocks (a 4x4-tiled matrix has only all-zero or all-kept blocks), and
  // the exported model stores those matrices as BSR.
  const wb = randomPrunedWeights(char, 0.9, '4x4');
  const whh = wb.get('rnn.weight_hh_l0')!, cols = 48;
  for (let bi = 0; bi < G; bi += 4) for (let bj = 0; bj < cols; bj += 4) {
    let nz = 0;
    for (let i = bi; i < bi + 4; i++) for (let j = bj; j < bj + 4; j++) nz += whh[i * cols + j] !== 0 ? 1 : 0;
    assert.ok(nz === 0 || nz === 16, `block (${bi}, ${bj}) has ${nz} non-zeros`);
  }
  const bsr = readSrnn(exportSparse(char, wb, '4x4'), { verifyCrc: false });
  assert.equal(bsr.tensors.get('rnn.weight_hh_l0')?.format, 'bsr');
  assert.throws(() => randomPrunedWeights(char, 0.9, '4by4'), /expected 'unstructured' or RxC/);
});

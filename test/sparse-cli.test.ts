// The export / infer commands end to end on temporary files (checkpoint → .srnn → outputs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { serializeNpy, parseNpy } from '../src/io/npy.js';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { exportCommand } from '../src/cli/commands/export.js';
import { inferCommand } from '../src/cli/commands/infer.js';
import { commandEngine } from '../src/cli/common.js';
import { defaultThreads, type Engine } from '../src/kernels/engine.js';
import { loadSrnnFile } from '../src/train/checkpoint.js';
import { largestProduct } from '../src/sparse/threads.js';
import { randomPrunedModel } from '../bench/model.js';
import { SparseModel, readSrnn } from '../src/sparse/index.js';

test('export (masks applied, optimizer state ignored) and infer, tokens and features', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-cli-'));
  try {
    for (const vocab of [undefined, 23]) {
      const config: ModelConfig = { cell: 'lstm', inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: false, outputSize: 6, vocabSize: vocab };
      const t = new Map<string, TensorInput>();
      let s = 1;
      const r = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647; };
      const masked = new Map<string, Float32Array>();
      for (const p of paramSpecs(config)) {
        const n = p.shape.reduce((a, b) => a * b, 1);
        const w = Float32Array.from({ length: n }, () => r() - 0.5);
        t.set(p.name, { dtype: 'F32', shape: p.shape, data: w });
        if (p.kind !== 'bias') {
          const m = Uint8Array.from({ length: n }, () => (r() < 0.1 ? 1 : 0));
          t.set(`${p.name}_mask`, { dtype: 'U8', shape: p.shape, data: m });
          masked.set(p.name, w.map((v, i) => (m[i] ? v : 0)));
        } else masked.set(p.name, w);
        t.set(`optim.${p.name}.m`, { dtype: 'F32', shape: [n], data: new Float32Array(n) });
      }
      const ck = join(dir, 'ck.safetensors');
      writeFileSync(ck, serializeSafetensors(t, { 'sparse-rnn': JSON.stringify({ format: 'sparse-rnn-checkpoint', version: 1, config, vocab: ['x'], train: { state: 1 } }) }));
      const out = join(dir, 'm.srnn');
      const { report } = await exportCommand(ck, { output: out, values: 'fp32', storage: 'auto' });
      assert.ok(report.ratio > 2, `ratio ${report.ratio}`); // tiny model: header and biases weigh in
      const f = readSrnn(new Uint8Array(readFileSync(out)));
      assert.deepEqual(f.header.extra, { source: 'ck.safetensors', vocab: ['x'] }, 'training state is not exported');
      for (const [name, tt] of f.tensors) if (tt.format === 'csr') assert.equal(tt.nnz, masked.get(name)!.filter((v) => v !== 0).length, name);

      const T = 5, B = 2;
      const xfile = join(dir, 'x.npy'), yfile = join(dir, 'y.npy');
      const x = vocab ? Int32Array.from({ length: T * B }, (_, i) => (i * 7) % vocab) : Float32Array.from({ length: T * B * 8 }, (_, i) => Math.sin(i));
      writeFileSync(xfile, serializeNpy(x, vocab ? [T, B] : [T, B, 8]));
      const res = await inferCommand(out, { input: xfile, output: yfile, softmax: false, kernels: 'auto' });
      assert.deepEqual(res.shape, [T, B, 6]);
      const y = parseNpy(new Uint8Array(readFileSync(yfile)));
      assert.deepEqual(y.shape, [T, B, 6]);
      const want = SparseModel.load(new Uint8Array(readFileSync(out)), { backend: 'ts' }).run(x, { batch: B });
      let e = 0;
      for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs((y.data[i] as number) - want[i]));
      assert.ok(e < 1e-5, `infer vs runtime: ${e}`);
      // wrong input shape: a clear error
      writeFileSync(xfile, serializeNpy(new Float32Array(T * B * 3), [T, B, 3]));
      await assert.rejects(inferCommand(out, { input: xfile, output: yfile, softmax: false, kernels: 'auto' }), /expected/);
    }
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, serializeSafetensors(new Map([['a', { dtype: 'F32', shape: [1], data: new Float32Array(1) } as TensorInput]]), {}));
    await assert.rejects(exportCommand(bad, { output: join(dir, 'q.srnn'), values: 'fp32', storage: 'auto' }), /not a sparse-rnn checkpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('default threads: a model with no product large enough to split runs on one thread, unless --threads says otherwise', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-threads-'));
  const engines: Engine[] = [];
  try {
    // GRU-64 at 90%: W_hh 192×64 keeps ~1.2k weights; GRU-256 at 80%: W_hh 768×256 keeps ~39k (both stored CSR).
    const base: ModelConfig = { cell: 'gru', inputSize: 16, hiddenSize: 64, numLayers: 1, bidirectional: false, outputSize: 10 };
    const small = randomPrunedModel(base, 0.9), large = randomPrunedModel({ ...base, hiddenSize: 256 }, 0.8);
    const files = { small: join(dir, 'small.srnn'), large: join(dir, 'large.srnn') };
    writeFileSync(files.small, small.bytes);
    writeFileSync(files.large, large.bytes);
    // The header's largest product is the non-zeros of its largest weight matrix.
    const nz = (w: Map<string, Float32Array>): number => Math.max(...[...w].filter(([n]) => n.includes('weight')).map(([, a]) => a.filter((v) => v !== 0).length));
    assert.equal(largestProduct(readSrnn(small.bytes).header), nz(small.weights));
    assert.equal(largestProduct(readSrnn(large.bytes).header), nz(large.weights));
    const load = async (file: string, threads?: number): Promise<Engine> => {
      await loadSrnnFile(file, async (header) => {
        const e = await commandEngine({ kernels: 'wasm', threads, quiet: true }, undefined, header);
        engines.push(e);
        return e.kernels;
      });
      return engines[engines.length - 1];
    };
    const e1 = await load(files.small);
    assert.equal(e1.threads, 1);
    assert.match(e1.describe(), /1 thread \(the model's largest product has [\d,]+ stored weights, below the 32,768 .*--threads N to override\)/);
    assert.equal((await load(files.small, 2)).threads, 2, 'an explicit --threads is kept');
    const e3 = await load(files.large);
    assert.equal(e3.threads, defaultThreads());
    assert.equal(e3.note, null);
  } finally {
    await Promise.all(engines.map((e) => e.close()));
    rmSync(dir, { recursive: true, force: true });
  }
});

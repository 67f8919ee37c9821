// onnxruntime-node as the native dense peer for whole-model latency (measurement only; it is an
// optional dependency). One-thread sessions; the model's state is fed back between calls, so a
// T = 1 call is one streaming step and a T = 50 call amortises the binding's per-call overhead.

import type { ModelConfig } from '../src/nn/config.js';

interface OrtTensor { data: unknown; dims: readonly number[] }
interface OrtSession { run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release?(): Promise<void> }
export interface Ort {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array, opts?: object): Promise<OrtSession> };
}

/** onnxruntime-node if installed (`ONNXRUNTIME_NODE_INSTALL=skip npm ci`), else null. */
export async function loadOrt(): Promise<Ort | null> {
  try {
    const name = 'onnxruntime-node';
    const m = (await import(name)) as Ort & { default?: Ort };
    return m.InferenceSession ? m : (m.default ?? null);
  } catch {
    return null;
  }
}

/**
 * Median µs of one session.run at batch 1 over T timesteps of an ONNX model written by
 * `exportOnnx(config, weights, { state: true })` (inputs ids|x and h0[/c0], outputs hn[/cn]).
 */
export async function ortRunUs(ort: Ort, onnx: Uint8Array, c: ModelConfig, T = 1, threads = 1): Promise<number> {
  const s = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const dirs = c.bidirectional ? 2 : 1, n = c.numLayers * dirs * c.hiddenSize, dims = [c.numLayers * dirs, 1, c.hiddenSize];
  const feeds: Record<string, OrtTensor> = c.vocabSize
    ? { ids: new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(i % c.vocabSize!)), [T, 1]) }
    : { x: new ort.Tensor('float32', Float32Array.from({ length: T * c.inputSize }, (_, i) => Math.sin(i)), [T, 1, c.inputSize]) };
  feeds.h0 = new ort.Tensor('float32', new Float32Array(n), dims);
  if (c.cell === 'lstm') feeds.c0 = new ort.Tensor('float32', new Float32Array(n), dims);
  const step = async (): Promise<void> => {
    const out = await s.run(feeds);
    feeds.h0 = out.hn;
    if (c.cell === 'lstm') feeds.c0 = out.cn;
  };
  const w0 = performance.now();
  for (let i = 0; i < 50 || performance.now() - w0 < 50; i++) await step();
  const samples: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 50) {
      await step();
      n++;
    }
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

// onnxruntime-node as the native dense peer for whole-model latency (measurement only; it is an
// optional dependency). Sessions get the thread count under test as intra-op threads, one inter-op
// thread, sequential execution and every graph optimisation: its best CPU settings for one model.

import type { ModelConfig } from '../src/nn/config.js';

export interface OrtTensor { data: unknown; dims: readonly number[] }
export interface OrtSession { run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release?(): Promise<void> }
export interface Ort {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array | string, opts?: object): Promise<OrtSession> };
  env?: { versions?: Record<string, string> };
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
 * The session options the benchmarks give onnxruntime-node. `force_spinning_stop`: its intra-op
 * threads still spin inside a run (where that helps it), but stop when the run ends. Left spinning,
 * they keep a core busy for milliseconds after every run, and on a 2-core machine that stalls
 * whatever runs next: in an interleaved comparison, our 2-thread sample (measured here: 112–137 µs
 * per GRU-1024 step instead of 69–90 alone). Its own times are unchanged by it (T = 50 runs of
 * GRU-1024 at 2 threads: 114–123 µs/step either way; 1-step calls within 4%).
 */
export const ortSessionOptions = (threads: number): object => ({
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  extra: { session: { force_spinning_stop: '1' } },
});

/**
 * Feeds for T timesteps at batch B of a model written by `exportOnnx(config, weights, { state: true })`
 * (inputs ids [T, B] | x [T, B, I], h0 [L·D, B, H] and c0 for LSTM, zero states).
 */
export function ortFeeds(ort: Ort, c: ModelConfig, ids: Int32Array | null, x: Float32Array | null, T: number, B: number): Record<string, OrtTensor> {
  const dirs = c.bidirectional ? 2 : 1, n = c.numLayers * dirs * B * c.hiddenSize, dims = [c.numLayers * dirs, B, c.hiddenSize];
  const feeds: Record<string, OrtTensor> = c.vocabSize
    ? { ids: new ort.Tensor('int64', BigInt64Array.from(ids!, (v) => BigInt(v)), [T, B]) }
    : { x: new ort.Tensor('float32', x!, [T, B, c.inputSize]) };
  feeds.h0 = new ort.Tensor('float32', new Float32Array(n), dims);
  if (c.cell === 'lstm') feeds.c0 = new ort.Tensor('float32', new Float32Array(n), dims);
  return feeds;
}

/**
 * Median µs of one session.run at batch 1 over T timesteps of an ONNX model written by
 * `exportOnnx(config, weights, { state: true })` (inputs ids|x and h0[/c0], outputs hn[/cn]).
 * The model's state is fed back between calls, so a T = 1 call is one streaming step and a T = 50
 * call amortises the binding's per-call overhead.
 */
export async function ortRunUs(ort: Ort, onnx: Uint8Array, c: ModelConfig, T = 1, threads = 1): Promise<number> {
  const s = await ort.InferenceSession.create(onnx, ortSessionOptions(threads));
  const feeds = ortFeeds(ort, c, c.vocabSize ? Int32Array.from({ length: T }, (_, i) => i % c.vocabSize!) : null,
    c.vocabSize ? null : Float32Array.from({ length: T * c.inputSize }, (_, i) => Math.sin(i)), T, 1);
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
  await s.release?.();
  return samples[3];
}

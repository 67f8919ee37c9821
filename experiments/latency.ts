// The onnxruntime column of the experiments' latency tables (Table 6 analogs): the run's dense
// weights as ONNX (written by the worker, or exported here from the run's checkpoint for runs
// trained before the worker wrote it), timed with onnxruntime-node on one thread at batch 1.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ModelConfig } from '../src/nn/config.js';
import { readSrnn } from '../src/sparse/format.js';
import { exportOnnx } from '../src/io/onnx.js';
import { loadCheckpoint, maskedWeights } from '../src/train/checkpoint.js';
import { ortRunUs, type Ort } from '../bench/ort.js';
import { writeFileAtomicSync } from './worker-kit.js';

export { loadOrt } from '../bench/ort.js';

/** The architecture stored in an .srnn file's header. */
export function readSrnnConfig(file: string): ModelConfig {
  return readSrnn(new Uint8Array(readFileSync(file)), { verifyCrc: false }).header.config;
}

export interface OrtLatency {
  /** µs per one-timestep session.run with state in/out (null for bidirectional models, which cannot stream, or without onnxruntime). */
  ortStepUs: number | null;
  /** µs per timestep of one session.run over T = 50 (per-call overhead amortised). */
  ortRunUsPerStep: number | null;
}

/** onnxruntime's latency on the dense weights of the run whose model is `srnnFile`; nulls if onnxruntime is missing or fails. */
export async function ortLatency(ort: Ort | null, srnnFile: string, log: (s: string) => void): Promise<OrtLatency> {
  const none: OrtLatency = { ortStepUs: null, ortRunUsPerStep: null };
  if (!ort) return none;
  const dir = dirname(srnnFile), onnx = join(dir, 'model.onnx'), ckpt = join(dir, 'model.ckpt');
  try {
    if (!existsSync(onnx)) {
      if (!existsSync(ckpt)) return none;
      const ck = loadCheckpoint(ckpt);
      writeFileAtomicSync(dir, 'model.onnx', exportOnnx(ck.meta.config, maskedWeights(ck), { state: true }).bytes);
    }
    const bytes = new Uint8Array(readFileSync(onnx)), cfg = readSrnnConfig(srnnFile);
    const best = async (T: number): Promise<number> => Math.min(await ortRunUs(ort, bytes, cfg, T), await ortRunUs(ort, bytes, cfg, T));
    return {
      ortStepUs: cfg.bidirectional ? null : await best(1),
      ortRunUsPerStep: (await best(50)) / 50,
    };
  } catch (e) {
    log(`onnxruntime failed on ${onnx}: ${(e as Error).message.split('\n')[0]}`);
    return none;
  }
}

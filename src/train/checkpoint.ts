// Checkpoints: one safetensors file holding the weights under their PyTorch names, the pruning
// masks as `<name>_mask` (U8, PyTorch prune's buffer name), the optimizer state `optim.<name>.m|v`,
// the carried recurrent state `state.h|c`, and a JSON document under the metadata key
// `sparse-rnn` (architecture, vocabulary, trainer counters, pruner state). Written atomically.

import type { ModelConfig } from '../nn/config.js';
import { validateConfig } from '../nn/config.js';
import type { RNNModel, RecurrentState } from '../nn/model.js';
import type { Optimizer } from '../nn/optim.js';
import type { TensorInput } from '../io/safetensors.js';
import { loadSafetensorsFileSync, saveSafetensorsFile } from '../io/fs.js';
import { checkFinite } from '../io/safetensors.js';

export const CHECKPOINT_KEY = 'sparse-rnn';

export interface CheckpointMeta {
  format: 'sparse-rnn-checkpoint';
  version: 1;
  config: ModelConfig;
  /** Character vocabulary (char LM) or output symbols (speech). */
  vocab?: string[];
  task?: 'charlm' | 'speech';
  corpus?: string;
  /** Speech: the feature settings (log-mel, normalisation, stacking) the model was trained on. */
  features?: unknown;
  /** Training options and counters (TrainOptions / TrainerState), for --resume. */
  train?: { options: unknown; state: unknown };
  /** Pruning recipe and pruner state. */
  prune?: { recipe: unknown; state: unknown };
  createdAt?: string;
}

export interface SaveOptions {
  optimizer?: Optimizer;
  carried?: RecurrentState;
}

export async function saveCheckpoint(path: string, model: RNNModel, meta: Omit<CheckpointMeta, 'format' | 'version' | 'config'>, opts: SaveOptions = {}): Promise<void> {
  const tensors = new Map<string, TensorInput>();
  for (const p of model.params) {
    tensors.set(p.name, { dtype: 'F32', shape: p.shape, data: Float32Array.from(p.data) });
    const m = p.maskData;
    if (m) tensors.set(`${p.name}_mask`, { dtype: 'U8', shape: p.shape, data: Uint8Array.from(m) });
  }
  if (opts.optimizer)
    for (const [name, v] of opts.optimizer.stateTensors()) tensors.set(name, { dtype: 'F32', shape: [v.length], data: Float32Array.from(v) });
  if (opts.carried) {
    const c = model.config, n = c.numLayers * model.D * opts.carried.B * c.hiddenSize;
    const shape = [c.numLayers * model.D, opts.carried.B, c.hiddenSize];
    tensors.set('state.h', { dtype: 'F32', shape, data: Float32Array.from(model.heap.view(opts.carried.h, n)) });
    if (opts.carried.c >= 0) tensors.set('state.c', { dtype: 'F32', shape, data: Float32Array.from(model.heap.view(opts.carried.c, n)) });
  }
  const full: CheckpointMeta = { format: 'sparse-rnn-checkpoint', version: 1, config: model.config, ...meta, createdAt: new Date().toISOString() };
  await saveSafetensorsFile(path, tensors, { [CHECKPOINT_KEY]: JSON.stringify(full) });
}

export interface LoadedCheckpoint {
  file: string;
  meta: CheckpointMeta;
  tensors: Map<string, { shape: number[]; data: ArrayLike<number> }>;
}

export function loadCheckpoint(file: string): LoadedCheckpoint {
  const st = loadSafetensorsFileSync(file);
  const raw = st.metadata[CHECKPOINT_KEY];
  if (raw === undefined) throw new Error(`${file}: not a sparse-rnn checkpoint (no "${CHECKPOINT_KEY}" metadata; use "sparse-rnn import" for PyTorch weights)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw) as CheckpointMeta;
  } catch {
    throw new Error(`${file}: metadata "${CHECKPOINT_KEY}" is not valid JSON`);
  }
  if (meta.format !== 'sparse-rnn-checkpoint') throw new Error(`${file}: metadata format is ${JSON.stringify(meta.format)}, expected "sparse-rnn-checkpoint"`);
  if (meta.version !== 1) throw new Error(`${file}: checkpoint version ${meta.version} is not supported (expected 1)`);
  meta.config = validateConfig(meta.config, `${file}: config`);
  return { file, meta, tensors: st.tensors as LoadedCheckpoint['tensors'] };
}

/** Copy weights (and masks) from a checkpoint into a model built from its config. */
export function applyCheckpoint(model: RNNModel, ck: LoadedCheckpoint): void {
  for (const p of model.params) {
    const t = ck.tensors.get(p.name);
    if (!t) throw new Error(`${ck.file}: missing tensor ${p.name} (expected shape [${p.shape}])`);
    if (t.shape.join(',') !== p.shape.join(','))
      throw new Error(`${ck.file}: tensor ${p.name} has shape [${t.shape}], expected [${p.shape}]`);
    checkFinite(p.name, t.data, ck.file, t.shape);
    p.data.set(t.data);
    const m = ck.tensors.get(`${p.name}_mask`);
    if (m) {
      if (m.data.length !== p.size) throw new Error(`${ck.file}: ${p.name}_mask has ${m.data.length} values, expected ${p.size}`);
      p.ensureMask();
      const md = p.maskData!;
      for (let i = 0; i < p.size; i++) md[i] = m.data[i] ? 1 : 0;
      p.applyMask();
    }
  }
}

export function loadCarriedState(model: RNNModel, ck: LoadedCheckpoint, s: RecurrentState): void {
  for (const [key, dst] of [['state.h', s.h], ['state.c', s.c]] as const) {
    const t = ck.tensors.get(key);
    if (dst < 0) continue;
    if (!t) throw new Error(`${ck.file}: missing ${key} (needed to resume mid-epoch)`);
    model.heap.f32.set(t.data, dst);
  }
}

/** Optimizer state tensors from a checkpoint, as Float32Arrays by name. */
export function optimizerTensors(ck: LoadedCheckpoint): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of ck.tensors) if (k.startsWith('optim.')) out.set(k, Float32Array.from(v.data));
  return out;
}

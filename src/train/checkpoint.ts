// The checkpoint API: every command reads a training checkpoint through this module.
//
// A checkpoint is one safetensors file holding the weights under their PyTorch names, the pruning
// masks as `<name>_mask` (U8, PyTorch prune's buffer name), the optimizer state `optim.<name>.m|v`
// (with --ema the weights are the average, and `optim.<name>.train` the weights being trained),
// the carried recurrent state `state.h|c`, and a JSON document under the metadata key
// `sparse-rnn` (architecture, vocabulary, trainer counters, pruner state). Written atomically.
//
//   loadCheckpoint(file, { task })  read + validate (file kind, format, version, config, task)
//   maskedWeights(ck)               the weights with masks applied, by PyTorch name (validated)
//   runtimeMeta(ck)                 what a runtime model (.srnn, ONNX) carries along (vocab, features…)
//   checkpointToSrnn(ck)            the .srnn bytes of a checkpoint (export, serve)
//   loadModel(file, engine)         a dense RNNModel with the checkpoint's weights and masks

import { basename } from 'node:path';
import type { ModelConfig, ParamKind } from '../nn/config.js';
import { paramSpecs, validateConfig } from '../nn/config.js';
import { RNNModel, type RecurrentState } from '../nn/model.js';
import type { Optimizer } from '../nn/optim.js';
import { trainedTensorName, type WeightAverage } from './average.js';
import type { Kernels } from '../kernels/types.js';
import { parseSafetensors, type ParsedSafetensors, type TensorInput } from '../io/safetensors.js';
import { readFileBytes, readFileBytesSync, saveSafetensorsFile } from '../io/fs.js';
import { checkFinite } from '../io/safetensors.js';
import { FormatError } from '../io/errors.js';
import { exportModelWithInfo, type ExportOptions, type ExportedTensorInfo } from '../sparse/export.js';
import { SparseModel } from '../sparse/runtime.js';
import { readSrnn, type SrnnHeader } from '../sparse/format.js';
import { SrnnFormatError } from '../sparse/errors.js';

export const CHECKPOINT_KEY = 'sparse-rnn';

export type TaskKind = 'charlm' | 'speech';
const TASK_NAMES: Record<TaskKind, string> = { charlm: 'character-LM', speech: 'speech' };

export interface CheckpointMeta {
  format: 'sparse-rnn-checkpoint';
  version: 1;
  config: ModelConfig;
  /** Character vocabulary (char LM) or output symbols (speech). */
  vocab?: string[];
  task?: TaskKind;
  corpus?: string;
  /** Speech: the feature settings (log-mel, normalisation, stacking) the model was trained on. */
  features?: unknown;
  /** Training options and counters (loop options / TrainerState), for --resume. */
  train?: { options: unknown; state: unknown; variant?: 'simd128' | 'relaxed' | 'ts' };
  /** Pruning recipe and pruner state. */
  prune?: { recipe: unknown; state: unknown };
  createdAt?: string;
}

export interface SaveOptions {
  optimizer?: Optimizer;
  carried?: RecurrentState;
  /** A run with --ema: the model's tensors are its average, the trained weights go with the optimizer state. */
  average?: WeightAverage;
}

export async function saveCheckpoint(path: string, model: RNNModel, meta: Omit<CheckpointMeta, 'format' | 'version' | 'config'>, opts: SaveOptions = {}): Promise<void> {
  const tensors = new Map<string, TensorInput>();
  const averaged = opts.average?.checkpointTensors();
  for (const p of model.params) {
    tensors.set(p.name, { dtype: 'F32', shape: p.shape, data: Float32Array.from(averaged?.weights.get(p.name) ?? p.data) });
    const m = p.maskData;
    if (m) tensors.set(`${p.name}_mask`, { dtype: 'U8', shape: p.shape, data: Uint8Array.from(m) });
  }
  if (opts.optimizer)
    for (const [name, v] of opts.optimizer.stateTensors()) tensors.set(name, { dtype: 'F32', shape: [v.length], data: Float32Array.from(v) });
  for (const [name, v] of averaged?.state ?? []) tensors.set(name, { dtype: 'F32', shape: [v.length], data: Float32Array.from(v) });
  if (opts.carried) {
    const c = model.config, n = c.numLayers * model.D * opts.carried.B * c.hiddenSize;
    const shape = [c.numLayers * model.D, opts.carried.B, c.hiddenSize];
    tensors.set('state.h', { dtype: 'F32', shape, data: Float32Array.from(model.heap.view(opts.carried.h, n)) });
    if (opts.carried.c >= 0) tensors.set('state.c', { dtype: 'F32', shape, data: Float32Array.from(model.heap.view(opts.carried.c, n)) });
  }
  const full: CheckpointMeta = { format: 'sparse-rnn-checkpoint', version: 1, config: model.config, ...meta, createdAt: new Date().toISOString() };
  await saveSafetensorsFile(path, tensors, { [CHECKPOINT_KEY]: JSON.stringify(full) });
}

// ---------------------------------------------------------------------------------------------
// File kinds

export type FileKind = 'srnn' | 'onnx' | 'safetensors' | 'npy' | 'unknown';

/** What a file is, from its first bytes (never from its extension). */
export function fileKindOf(bytes: Uint8Array): FileKind {
  if (bytes.length >= 4 && bytes[0] === 0x53 && bytes[1] === 0x52 && bytes[2] === 0x4e && bytes[3] === 0x4e) return 'srnn'; // "SRNN"
  if (bytes.length >= 6 && bytes[0] === 0x93 && bytes[1] === 0x4e && bytes[2] === 0x55) return 'npy'; // \x93NUMPY
  if (bytes.length >= 9) {
    // A little-endian header length, then the JSON header: safetensors (perhaps truncated: the parser says so).
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = dv.getBigUint64(0, true);
    if (n > 1n && n < 1n << 32n && bytes[8] === 0x7b) return 'safetensors'; // '{'
  }
  // ONNX ModelProto: field 1 (ir_version, varint) comes first.
  if (bytes.length >= 2 && bytes[0] === 0x08 && bytes[1] > 0 && bytes[1] < 0x20) return 'onnx';
  return 'unknown';
}

const KIND_WORDS: Record<FileKind, string> = {
  srnn: 'a sparse .srnn model (written by `sparse-rnn export`)',
  onnx: 'an ONNX model',
  safetensors: 'a safetensors file',
  npy: 'a .npy array',
  unknown: 'not a file this tool reads',
};

/**
 * A FormatError for a file of the wrong kind: names the file, says what it is, what was expected
 * and what to use instead.
 */
export function wrongKind(file: string, found: FileKind, expected: string, hint: string): FormatError {
  return new FormatError(file, '', `is ${KIND_WORDS[found]}, expected ${expected}; ${hint}`);
}

/** The bytes of a .srnn model; a training checkpoint or another kind is refused with what to use instead. */
export async function readSrnnChecked(file: string, purpose = 'this command'): Promise<Uint8Array> {
  const bytes = await readFileBytes(file);
  const kind = fileKindOf(bytes);
  if (kind === 'safetensors')
    throw wrongKind(file, kind, `a sparse .srnn model for ${purpose}`,
      `if it is a training checkpoint, export it first: \`sparse-rnn export ${file} -o model.srnn\``);
  if (kind === 'onnx' || kind === 'npy') throw wrongKind(file, kind, `a sparse .srnn model for ${purpose}`, 'check the arguments');
  if (kind === 'unknown') throw wrongKind(file, kind, `a sparse .srnn model for ${purpose}`, '.srnn models are written by `sparse-rnn export`');
  return bytes;
}

/**
 * The kind of a model file for a command that takes either a .srnn model or a training checkpoint
 * (transcribe): any other kind is refused naming both.
 */
export function modelKindChecked(file: string, head: Uint8Array, purpose: string): 'srnn' | 'safetensors' {
  const kind = fileKindOf(head);
  if (kind === 'srnn' || kind === 'safetensors') return kind;
  throw wrongKind(file, kind, `a sparse .srnn model or a training checkpoint (.ckpt) for ${purpose}`, kind === 'onnx'
    ? `convert it first: \`sparse-rnn import ${file} -o model.ckpt\``
    : 'give a model written by `sparse-rnn export` or a checkpoint written by `sparse-rnn train --task speech`');
}

/** Makes the kernels for a model, given its .srnn header where there is one (it sizes the thread count). */
export type KernelsFor = (model?: SrnnHeader) => Promise<Kernels>;

/**
 * A .srnn model on the sparse runtime, from a file: other file kinds are refused with what to use,
 * and a format error names the file.
 */
export async function loadSrnnFile(file: string, kernels: Kernels | KernelsFor, o: { purpose?: string; softmax?: boolean } = {}): Promise<SparseModel> {
  const { bytes, header } = await readSrnnHeaderChecked(file, o.purpose);
  // The engine is made once the header is known to be good, and sized by it.
  if (typeof kernels === 'function') kernels = await kernels(header);
  return namingFile(file, () => SparseModel.load(bytes, { kernels, softmax: o.softmax }));
}

/** The bytes of a .srnn model and its header (buffers not checked yet); errors name the file. */
export async function readSrnnHeaderChecked(file: string, purpose?: string): Promise<{ bytes: Uint8Array; header: SrnnHeader }> {
  const bytes = await readSrnnChecked(file, purpose);
  return { bytes, header: namingFile(file, () => readSrnn(bytes, { verifyCrc: false, checkContent: false }).header) };
}

/** Runs `f`, turning a .srnn format error into one that names the file. */
function namingFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SrnnFormatError) {
      const head = `.srnn ${e.kind}: ${e.field}: `;
      const what = e.message.startsWith(head) ? e.message.slice(head.length) : e.message;
      throw new FormatError(file, e.field, `${what}${e.kind === 'magic' ? '; .srnn models are written by `sparse-rnn export`' : ''}`);
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading and validating

export interface LoadedCheckpoint {
  file: string;
  meta: CheckpointMeta;
  tensors: Map<string, { shape: number[]; data: ArrayLike<number>; dtype?: string }>;
}

export interface LoadOptions {
  /** Refuse a checkpoint of another task (a speech model given to `sample`, …). */
  task?: TaskKind;
  /** What the checkpoint is for, for the messages (e.g. "eval"). */
  purpose?: string;
}

/** Reads a safetensors file, refusing other file kinds with a message that says what to use. */
export function readSafetensorsChecked(file: string, purpose = 'this command'): ParsedSafetensors {
  const bytes = readFileBytesSync(file);
  const kind = fileKindOf(bytes);
  if (kind === 'srnn')
    throw wrongKind(file, kind, `a training checkpoint (.ckpt) for ${purpose}`,
      'give the checkpoint it was exported from; .srnn models run with `sparse-rnn infer`, `transcribe` or `serve`');
  if (kind === 'onnx')
    throw wrongKind(file, kind, `a training checkpoint (.ckpt) for ${purpose}`, 'convert it first with `sparse-rnn import FILE -o model.ckpt`');
  if (kind === 'npy') throw wrongKind(file, kind, `a training checkpoint (.ckpt) for ${purpose}`, 'check the argument order');
  if (kind === 'unknown')
    throw wrongKind(file, kind, `a training checkpoint (.ckpt, safetensors) for ${purpose}`, 'give a checkpoint written by `sparse-rnn train` or `sparse-rnn import`');
  return parseSafetensors(bytes, file);
}

/** Parses the `sparse-rnn` metadata of a parsed safetensors file (null when there is none). */
export function checkpointMetaOf(st: ParsedSafetensors, file: string): CheckpointMeta | null {
  const raw = st.metadata[CHECKPOINT_KEY];
  if (raw === undefined) return null;
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw) as CheckpointMeta;
  } catch {
    throw new FormatError(file, `__metadata__["${CHECKPOINT_KEY}"]`, 'is not valid JSON (a corrupt checkpoint; retrain or re-import it)');
  }
  if (typeof meta !== 'object' || meta === null) throw new FormatError(file, `__metadata__["${CHECKPOINT_KEY}"]`, 'is not a JSON object');
  if (meta.format !== 'sparse-rnn-checkpoint')
    throw new FormatError(file, 'format', `is ${JSON.stringify(meta.format)}, expected "sparse-rnn-checkpoint"`);
  if (meta.version !== 1) throw new FormatError(file, 'version', `${meta.version} is not supported (expected 1); upgrade sparse-rnn`);
  meta.config = validateConfig(meta.config, `${file}: config`);
  return meta;
}

export function loadCheckpoint(file: string, o: LoadOptions = {}): LoadedCheckpoint {
  const st = readSafetensorsChecked(file, o.purpose);
  const meta = checkpointMetaOf(st, file);
  if (!meta)
    throw new FormatError(file, '', `is not a sparse-rnn checkpoint (no "${CHECKPOINT_KEY}" metadata); convert PyTorch weights with \`sparse-rnn import ${file} -o model.ckpt\``);
  if (o.task) checkTask(file, meta, o.task, o.purpose);
  return { file, meta, tensors: st.tensors as LoadedCheckpoint['tensors'] };
}

/** The task a checkpoint was trained for (checkpoints without one are character LMs). */
export function taskOf(meta: CheckpointMeta): TaskKind {
  return meta.task ?? (meta.config.vocabSize ? 'charlm' : 'speech');
}

export function checkTask(file: string, meta: CheckpointMeta, task: TaskKind, purpose?: string): void {
  const t = taskOf(meta);
  if (t === task) return;
  const hint = t === 'speech' ? 'use `sparse-rnn transcribe` for speech models' : 'use `sparse-rnn sample` or `eval` for character-LM models';
  throw new FormatError(file, 'task', `is a ${TASK_NAMES[t]} checkpoint, not a ${TASK_NAMES[task]} model${purpose ? ` as ${purpose} needs` : ''}; ${hint}`);
}

// ---------------------------------------------------------------------------------------------
// Weights

/** The tensor of a parameter, checked against its spec (present, shape, float, finite). */
/** A parameter's tensor as stored (unmasked), validated: shape, float, finite. */
export function paramTensor(ck: LoadedCheckpoint, name: string, shape: readonly number[]): ArrayLike<number> {
  const t = ck.tensors.get(name);
  if (!t) throw new FormatError(ck.file, name, `missing (expected shape [${shape}]); the checkpoint is incomplete`);
  if (t.shape.join(',') !== shape.join(',')) throw new FormatError(ck.file, name, `has shape [${t.shape}], expected [${shape}]`);
  if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) throw new FormatError(ck.file, name, `is ${t.dtype ?? 'not float'}, expected a float tensor`);
  checkFinite(name, t.data, ck.file, t.shape);
  return t.data;
}

function maskOf(ck: LoadedCheckpoint, name: string, size: number): ArrayLike<number> | null {
  const m = ck.tensors.get(`${name}_mask`);
  if (!m) return null;
  if (m.data.length !== size) throw new FormatError(ck.file, `${name}_mask`, `has ${m.data.length} values, expected ${size}`);
  return m.data;
}

/** The weights of a checkpoint with its masks applied (w·mask), by PyTorch name, validated. */
export function maskedWeights(ck: LoadedCheckpoint): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(ck.meta.config)) {
    const w = Float32Array.from(paramTensor(ck, s.name, s.shape));
    const m = maskOf(ck, s.name, w.length);
    if (m) for (let i = 0; i < w.length; i++) if (!m[i]) w[i] = 0;
    weights.set(s.name, w);
  }
  return weights;
}

/**
 * The checkpoint of a run with --ema as its last weights: the model tensors replaced by the weights being trained
 * (`optim.<name>.train`) instead of their average; masks, metadata and the rest as they are.
 */
export function trainedWeightsOf(ck: LoadedCheckpoint, whatToDo = 'drop --weights trained'): LoadedCheckpoint {
  const tensors = new Map(ck.tensors);
  for (const s of paramSpecs(ck.meta.config)) {
    const key = trainedTensorName(s.name), t = ck.tensors.get(key);
    if (!t) throw new FormatError(ck.file, key, `missing: the checkpoint holds no trained weights beside an average (it was not trained with --ema); ${whatToDo}`);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) throw new FormatError(ck.file, key, `has ${t.data.length} values, expected ${size} (shape [${s.shape}])`);
    tensors.set(s.name, { shape: s.shape, data: t.data, dtype: t.dtype });
  }
  return { ...ck, tensors };
}

/** Copy weights (and masks) from a checkpoint into a model built from its config. */
export function applyCheckpoint(model: RNNModel, ck: LoadedCheckpoint): void {
  for (const p of model.params) {
    p.data.set(paramTensor(ck, p.name, p.shape));
    const m = maskOf(ck, p.name, p.size);
    if (m) {
      p.ensureMask();
      const md = p.maskData!;
      for (let i = 0; i < p.size; i++) md[i] = m[i] ? 1 : 0;
      p.applyMask();
    }
  }
}

/** The layer type of every float tensor: from the checkpoint's config, else from PyTorch names. */
export function weightsByKind(file: string): { weights: Map<string, Float32Array>; kinds: Map<string, ParamKind>; shapes: Map<string, number[]> } {
  const st = readSafetensorsChecked(file, 'a schedule dry run');
  const specKinds = new Map<string, ParamKind>();
  const meta = checkpointMetaOf(st, file);
  if (meta) for (const sp of paramSpecs(meta.config)) specKinds.set(sp.name, sp.kind);
  const weights = new Map<string, Float32Array>();
  const kinds = new Map<string, ParamKind>();
  const shapes = new Map<string, number[]>();
  for (const [name, t] of st.tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const k = specKinds.get(name) ?? kindFromName(name, t.shape);
    if (k === null || k === 'bias') continue;
    weights.set(name, t.data);
    kinds.set(name, k);
    shapes.set(name, [...t.shape]);
  }
  return { weights, kinds, shapes };
}

/** The layer type of a tensor from its PyTorch-style name (a state dict without a sparse-rnn config). */
export function kindFromName(name: string, shape: readonly number[]): ParamKind | null {
  if (/_mask$|^optim\.|^state\./.test(name)) return null;
  if (/bias/.test(name) || shape.length < 2) return 'bias';
  if (/weight_hh/.test(name)) return 'recurrent';
  if (/weight_ih/.test(name)) return 'input';
  if (/embed|encoder/.test(name)) return 'embedding';
  return 'linear';
}

// ---------------------------------------------------------------------------------------------
// Runtime models

/** Meta keys of a checkpoint that are training state, not needed to run the model. */
const TRAINING_ONLY = new Set(['config', 'train', 'prune', 'format', 'version', 'createdAt']);

/** What a runtime model (.srnn `extra`, ONNX metadata) carries from its checkpoint: vocab, task, features, … */
export function runtimeMeta(ck: LoadedCheckpoint): Record<string, unknown> {
  const extra: Record<string, unknown> = { source: basename(ck.file) };
  for (const [k, v] of Object.entries(ck.meta)) if (!TRAINING_ONLY.has(k) && v !== undefined) extra[k] = v;
  return extra;
}

const isShape = (b: unknown): b is [number, number] => Array.isArray(b) && b.length === 2 && b.every((x) => Number.isInteger(x) && x >= 1);

/** A recipe's block shape(s) as export options (the recipe was validated when training started): one [R, C], or one per layer type. */
function recipeBlock(recipe: unknown): Pick<ExportOptions, 'block' | 'blockByKind'> {
  const b = (recipe as { block?: unknown } | undefined)?.block;
  if (isShape(b)) return { block: [b[0], b[1]] };
  if (b && typeof b === 'object') {
    const byKind: Record<string, [number, number]> = {};
    for (const [k, v] of Object.entries(b)) if (isShape(v)) byKind[k] = [v[0], v[1]];
    return { blockByKind: byKind };
  }
  return {};
}

/** The .srnn bytes of a checkpoint (masks applied; storage per matrix by density unless told). */
export function checkpointToSrnn(ck: LoadedCheckpoint | string, opts: Partial<ExportOptions> = {}):
  { bytes: Uint8Array; tensors: ExportedTensorInfo[]; weights: Map<string, Float32Array>; config: ModelConfig } {
  const c = typeof ck === 'string' ? loadCheckpoint(ck) : ck;
  const weights = maskedWeights(c);
  // Block-pruned checkpoints export their aligned matrices as BSR (the recipe's block; opts.block overrides).
  const masks = new Map<string, ArrayLike<number>>();
  for (const s of paramSpecs(c.meta.config)) {
    const m = maskOf(c, s.name, weights.get(s.name)!.length);
    if (m) masks.set(s.name, m);
  }
  // An explicit opts.block / blockByKind replaces the recipe's shape(s).
  const fromRecipe = opts.block || opts.blockByKind ? {} : recipeBlock(c.meta.prune?.recipe);
  const { bytes, tensors } = exportModelWithInfo(c.meta.config, weights,
    { values: 'fp32', ...fromRecipe, masks, ...opts, extra: { ...runtimeMeta(c), ...opts.extra } });
  return { bytes, tensors, weights, config: c.meta.config };
}

// ---------------------------------------------------------------------------------------------
// Dense models

/** A dense training model built from a checkpoint, with its weights and masks. */
export function modelOf(ck: LoadedCheckpoint, kernels: Kernels): RNNModel {
  const model = new RNNModel(ck.meta.config, kernels);
  applyCheckpoint(model, ck);
  return model;
}

/** loadCheckpoint + modelOf. */
export function loadModel(file: string, kernels: Kernels, o: LoadOptions = {}): { model: RNNModel; ck: LoadedCheckpoint } {
  const ck = loadCheckpoint(file, o);
  return { model: modelOf(ck, kernels), ck };
}

export function loadCarriedState(model: RNNModel, ck: LoadedCheckpoint, s: RecurrentState): void {
  for (const [key, dst] of [['state.h', s.h], ['state.c', s.c]] as const) {
    const t = ck.tensors.get(key);
    if (dst < 0) continue;
    if (!t) throw new FormatError(ck.file, key, 'missing (needed to resume mid-epoch); start again without --resume');
    model.heap.f32.set(t.data, dst);
  }
}

/** Optimizer state tensors from a checkpoint, as Float32Arrays by name. */
export function optimizerTensors(ck: LoadedCheckpoint): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of ck.tensors) if (k.startsWith('optim.')) out.set(k, Float32Array.from(v.data));
  return out;
}

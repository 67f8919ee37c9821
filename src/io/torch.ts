// PyTorch → sparse-rnn: a state dict (saved as safetensors) or a torch.onnx export becomes a
// sparse-rnn architecture, PyTorch-named weights and pruning masks. Browser-safe: bytes in.
//
// State dicts: the architecture is inferred from names and shapes: layers from `weight_ih_l{k}`,
// bidirectional from `_reverse`, hidden size from weight_hh, input size from weight_ih_l0, the cell
// from `cell` or from the gate multiple (3·H GRU, 4·H LSTM; 1·H is ambiguous between the RNN
// activations and needs `cell`). An embedding (`embedding|emb|embed|encoder.weight`) and a Linear
// head (`fc|out|decoder|linear|head.weight/.bias`) are picked up when present.
//
// Masks, in both namings PyTorch users have:
//  - `<name>_mask` beside `<name>` (sparse-rnn's checkpoints and sparse_rnn_torch's masked_state_dict);
//  - torch.nn.utils.prune's `<name>_orig` (the raw parameter) + `<name>_mask` (a buffer); the
//    effective weight is `<name>_orig · <name>_mask`, as PyTorch computes it in its forward pre-hook.
// A mask holds only 0 and 1 (bool, integer or float), has its tensor's shape, and is applied (w·mask)
// on import; the masks travel into the checkpoint, so `export` writes exactly those zeros.

import { FormatError } from './errors.js';
import { importOnnx, parseOnnx } from './onnx.js';
import { parseSafetensors, type ParsedSafetensors, type Tensor } from './safetensors.js';
import { checkFinite } from './util.js';
import { gateCount, type CellType, type ModelConfig } from '../nn/config.js';

export interface ImportedModel {
  config: ModelConfig;
  /** Canonical sparse-rnn (PyTorch) names → values, masks applied. */
  weights: Map<string, Float32Array>;
  /** Canonical names → 0/1 masks, for the tensors that had one. */
  masks: Map<string, Uint8Array>;
  vocab?: string[];
  /** What was recognised, for the user (one line each). */
  notes: string[];
}

export interface ImportOptions {
  cell?: CellType;
  /** Name prefix of the recurrent module's tensors (e.g. "rnn."); auto-detected when unique. */
  prefix?: string;
}

/** The metadata key of a sparse-rnn checkpoint (src/train/checkpoint.ts), which import refuses. */
const CHECKPOINT_KEY = 'sparse-rnn';
const EMBEDDING_NAMES = ['embedding', 'emb', 'embed', 'embeddings', 'encoder', 'embedding_layer'];
const HEAD_NAMES = ['fc', 'out', 'decoder', 'linear', 'head', 'output', 'classifier'];

interface StateTensor {
  shape: number[];
  data: Tensor['data'];
  dtype: Tensor['dtype'];
}

/**
 * Folds the masks of a state dict: `<name>_orig` + `<name>_mask` → `<name>` = orig·mask, and
 * `<name>_mask` beside `<name>` → a mask of `<name>`. A `<name>_mask` with neither `<name>` nor
 * `<name>_orig` is not a pruning mask (e.g. an attention mask buffer) and stays a plain tensor.
 */
export function foldMasks(st: ParsedSafetensors, file: string): { tensors: Map<string, StateTensor>; masks: Map<string, Uint8Array> } {
  const fail: (msg: string) => never = (msg) => {
    throw new Error(`${file}: ${msg}`);
  };
  const src = st.tensors;
  const tensors = new Map<string, StateTensor>();
  const masks = new Map<string, Uint8Array>();
  const isMaskOf = (k: string): string | null => {
    if (!k.endsWith('_mask')) return null;
    const base = k.slice(0, -5);
    return src.has(base) || src.has(`${base}_orig`) ? base : null;
  };
  for (const [k, t] of src) {
    if (k.endsWith('_orig')) {
      const base = k.slice(0, -5);
      if (!src.has(`${base}_mask`))
        fail(`${k} has no ${base}_mask beside it (torch.nn.utils.prune saves both: save the whole state_dict(), or call prune.remove() before saving)`);
      if (src.has(base)) fail(`both ${base} and ${k} are present; keep one (${k} + ${base}_mask is torch.nn.utils.prune's form)`);
    }
    const base = isMaskOf(k);
    if (base === null) continue;
    const w = src.get(base) ?? src.get(`${base}_orig`)!;
    const wname = src.has(base) ? base : `${base}_orig`;
    if (t.shape.join(',') !== w.shape.join(',')) fail(`${k} has shape [${t.shape}], but ${wname} has shape [${w.shape}]; a mask has its tensor's shape`);
    const m = new Uint8Array(t.data.length);
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i]!;
      if (v !== 0 && v !== 1) fail(`${k}[${i}] is ${v}; a mask holds only 0 and 1 (bool, integer or float)`);
      m[i] = v;
    }
    masks.set(base, m);
  }
  for (const [k, t] of src) {
    if (isMaskOf(k) !== null) continue;
    const name = k.endsWith('_orig') ? k.slice(0, -5) : k;
    const m = masks.get(name);
    if (m && t.data instanceof Float32Array) {
      const d = Float32Array.from(t.data);
      for (let i = 0; i < d.length; i++) if (!m[i]) d[i] = 0;
      tensors.set(name, { shape: t.shape, dtype: t.dtype, data: d });
    } else tensors.set(name, { shape: t.shape, dtype: t.dtype, data: t.data });
  }
  return { tensors, masks };
}

/** Infer the model, weights and masks from a PyTorch state dict (already parsed). */
export function importStateDict(st: ParsedSafetensors, file: string, o: ImportOptions = {}): ImportedModel {
  const fail: (msg: string) => never = (msg) => {
    throw new Error(`${file}: ${msg}`);
  };
  if (st.metadata[CHECKPOINT_KEY] !== undefined)
    fail('is already a sparse-rnn checkpoint; use it directly (import is for PyTorch state dicts and ONNX models)');
  const { tensors: sd, masks: sdMasks } = foldMasks(st, file);
  const re = /^(.*)weight_ih_l(\d+)(_reverse)?$/;
  const prefixes = new Set<string>();
  for (const k of sd.keys()) {
    const m = re.exec(k);
    if (m && m[2] === '0' && !m[3]) prefixes.add(m[1]!);
  }
  let prefix = o.prefix;
  if (prefix === undefined) {
    if (prefixes.size === 0)
      fail(`no recurrent weights found (no tensor named "…weight_ih_l0"; found: ${[...sd.keys()].slice(0, 8).join(', ')}${sd.size > 8 ? ', …' : ''})`);
    if (prefixes.size > 1) fail(`several recurrent modules (${[...prefixes].map((p) => JSON.stringify(p)).join(', ')}): choose one with --prefix`);
    prefix = [...prefixes][0]!;
  } else if (!sd.has(`${prefix}weight_ih_l0`))
    fail(`no tensor ${JSON.stringify(`${prefix}weight_ih_l0`)} (check --prefix; candidates: ${[...prefixes].map((p) => JSON.stringify(p)).join(', ') || 'none'})`);
  const notes: string[] = [];
  const used = new Set<string>();
  const weights = new Map<string, Float32Array>();
  const masks = new Map<string, Uint8Array>();
  const tensor = (name: string) => {
    const t = sd.get(name);
    if (!t) return undefined;
    if (!(t.data instanceof Float32Array)) fail(`${name} is ${t.dtype}, expected a float tensor`);
    checkFinite(name, t.data, file, t.shape);
    used.add(name);
    return { shape: t.shape, data: t.data as Float32Array };
  };
  /** Stores a tensor under its canonical name, with its mask when it has one. */
  const put = (canonical: string, from: string, data: Float32Array): void => {
    weights.set(canonical, Float32Array.from(data));
    const m = sdMasks.get(from);
    if (m) masks.set(canonical, m);
  };
  let L = 0, D = 1;
  for (const k of sd.keys()) {
    if (!k.startsWith(prefix)) continue;
    const m = re.exec(k);
    if (!m || m[1] !== prefix) continue;
    L = Math.max(L, Number(m[2]) + 1);
    if (m[3]) D = 2;
  }
  for (const k of sd.keys())
    if (k.startsWith(prefix) && /weight_hr_l\d+/.test(k.slice(prefix.length)))
      fail(`${k}: LSTM projections (proj_size) are not supported`);
  const whh0 = tensor(`${prefix}weight_hh_l0`);
  if (!whh0) fail(`missing ${prefix}weight_hh_l0`);
  if (whh0!.shape.length !== 2) fail(`${prefix}weight_hh_l0 has shape [${whh0!.shape}], expected [gates·hidden, hidden]`);
  const H = whh0!.shape[1]!;
  const G = whh0!.shape[0]! / H;
  let cell: CellType;
  if (o.cell) {
    if (gateCount(o.cell) !== G)
      fail(`${prefix}weight_hh_l0 has shape [${whh0!.shape}] (${G}·hidden), but --cell ${o.cell} needs ${gateCount(o.cell)}·hidden`);
    cell = o.cell;
  } else if (G === 3) cell = 'gru';
  else if (G === 4) cell = 'lstm';
  else if (G === 1) fail('1·hidden gate rows: a vanilla RNN; its activation is not stored in the weights: pass --cell rnn_tanh, rnn_relu or rnn_clipped');
  else fail(`${prefix}weight_hh_l0 has shape [${whh0!.shape}]: ${whh0!.shape[0]} rows is not 1, 3 or 4 × hidden ${H}`);
  const wih0 = tensor(`${prefix}weight_ih_l0`)!;
  if (wih0.shape.length !== 2 || wih0.shape[0] !== G * H) fail(`${prefix}weight_ih_l0 has shape [${wih0.shape}], expected [${G * H}, input]`);
  const inputSize = wih0.shape[1]!;

  let missingBias = false;
  for (let l = 0; l < L; l++)
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      const I = l === 0 ? inputSize : D * H;
      const want: [string, number[], boolean][] = [
        [`weight_ih${sfx}`, [G * H, I], true], [`weight_hh${sfx}`, [G * H, H], true],
        [`bias_ih${sfx}`, [G * H], false], [`bias_hh${sfx}`, [G * H], false],
      ];
      for (const [n, shape, required] of want) {
        const t = tensor(prefix + n);
        if (!t) {
          if (required) fail(`missing ${prefix}${n} (expected shape [${shape}]; layers 0..${L - 1}${D === 2 ? ', bidirectional' : ''} inferred from the names)`);
          missingBias = true;
          weights.set(`rnn.${n}`, new Float32Array(shape.reduce((a, b) => a * b, 1)));
          continue;
        }
        if (t.shape.join(',') !== shape.join(',')) fail(`${prefix}${n} has shape [${t.shape}], expected [${shape}]`);
        put(`rnn.${n}`, prefix + n, t.data);
      }
    }
  if (missingBias) notes.push('recurrent biases absent (bias=False): zeros');
  notes.push(`${L} ${cell!} layer(s) from ${JSON.stringify(prefix)}, input ${inputSize}, hidden ${H}${D === 2 ? ', bidirectional' : ''}`);

  // Embedding and head, at the root of the state dict or next to the recurrent module.
  const roots = [...new Set([prefix.replace(/[^.]*\.?$/, ''), ''])];
  let vocabSize: number | undefined;
  for (const r of roots) {
    const name = EMBEDDING_NAMES.map((n) => `${r}${n}.weight`).find((n) => sd.has(n) && sd.get(n)!.shape.length === 2);
    if (!name) continue;
    const t = tensor(name)!;
    if (t.shape[1] !== inputSize) fail(`${name} has shape [${t.shape}], but the first recurrent layer takes ${inputSize} features`);
    vocabSize = t.shape[0];
    put('embedding.weight', name, t.data);
    notes.push(`embedding ${name} [${t.shape}]`);
    break;
  }
  let outputSize = 0;
  for (const r of roots) {
    const name = HEAD_NAMES.map((n) => `${r}${n}.weight`).find((n) => sd.has(n) && sd.get(n)!.shape.length === 2);
    if (!name) continue;
    const t = tensor(name)!;
    if (t.shape[1] !== D * H) fail(`${name} has shape [${t.shape}], expected [outputs, ${D * H}] (the recurrent stack's output)`);
    outputSize = t.shape[0]!;
    put('fc.weight', name, t.data);
    const bn = name.replace(/weight$/, 'bias');
    const b = tensor(bn);
    if (b && b.shape.join(',') !== `${outputSize}`) fail(`${bn} has shape [${b.shape}], expected [${outputSize}]`);
    if (b) put('fc.bias', bn, b.data);
    else weights.set('fc.bias', new Float32Array(outputSize));
    notes.push(`head ${name} [${t.shape}]${b ? '' : ' (no bias: zeros)'}`);
    break;
  }
  const unusedMasks = [...sdMasks.keys()].filter((k) => !used.has(k));
  if (unusedMasks.length) notes.push(`ignored the masks of ${unusedMasks.length} tensor(s) not imported: ${unusedMasks.slice(0, 6).join(', ')}${unusedMasks.length > 6 ? ', …' : ''}`);
  if (masks.size) {
    let zeros = 0, n = 0;
    for (const m of masks.values()) {
      n += m.length;
      for (let i = 0; i < m.length; i++) zeros += 1 - m[i]!;
    }
    notes.push(`masks of ${masks.size} tensor(s): ${[...masks.keys()].join(', ')} (${((100 * zeros) / n).toFixed(2)}% pruned)`);
  }
  const ignored = [...sd.keys()].filter((k) => !used.has(k));
  if (ignored.length) notes.push(`ignored ${ignored.length} tensor(s): ${ignored.slice(0, 6).join(', ')}${ignored.length > 6 ? ', …' : ''}`);
  const config: ModelConfig = {
    cell: cell!, inputSize, hiddenSize: H, numLayers: L, bidirectional: D === 2, outputSize, ...(vocabSize ? { vocabSize } : {}),
  };
  return { config, weights, masks, notes };
}

/** A vocabulary file's text: a JSON array of strings, or one symbol per line (escapes \n \t \r \\ \s for space). */
export function parseVocabText(text: string, path: string): string[] {
  if (text.length === 0) throw new Error(`${path}: the vocabulary file is empty`);
  if (text.trimStart().startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`${path}: expected a JSON array of strings`);
    return v as string[];
  }
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  return lines.map((l, i) => {
    const s = l.replace(/\\(.)/g, (_m, c: string) => {
      const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', s: ' ', '\\': '\\' };
      if (!(c in map)) throw new Error(`${path}:${i + 1}: unknown escape \\${c} (use \\n \\t \\r \\s \\\\)`);
      return map[c]!;
    });
    if (s === '') throw new Error(`${path}:${i + 1}: empty symbol`);
    return s;
  });
}

/**
 * A PyTorch model file's bytes → ImportedModel: a state dict as safetensors (`.safetensors`), or a
 * torch.onnx export (`.onnx`; any other name is tried as safetensors, then ONNX). Pickle files
 * (`.pt`, `.pth`, `.bin`, or their magic bytes) are refused: loading them can run code.
 */
export function importModelBytes(bytes: Uint8Array, file: string, o: ImportOptions = {}): ImportedModel {
  const ext = /\.[^./\\]*$/.exec(file)?.[0]?.toLowerCase() ?? '';
  if (ext === '.pt' || ext === '.pth' || ext === '.bin' || (bytes[0] === 0x80 && bytes[1] === 0x02) || (bytes[0] === 0x50 && bytes[1] === 0x4b))
    throw new Error(`${file}: PyTorch pickle/zip files are not read (they can run code); save the state dict as safetensors ` +
      `(sparse_rnn_torch.save_file(model.state_dict(), "w.safetensors"), or safetensors.torch.save_file) or export ONNX (torch.onnx.export)`);
  let onnx = ext === '.onnx';
  if (!onnx && ext !== '.safetensors' && ext !== '.ckpt') {
    // Unknown extension: safetensors if it parses as such, otherwise ONNX.
    try {
      parseSafetensors(bytes, file);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      onnx = true;
    }
  }
  if (!onnx) return importStateDict(parseSafetensors(bytes, file), file, o);
  const r = importOnnx(parseOnnx(bytes, file), file);
  if (o.cell && o.cell !== r.config.cell) throw new Error(`${file}: the ONNX graph holds a ${r.config.cell} model, not --cell ${o.cell}`);
  if (o.prefix !== undefined) r.notes.push('--prefix is ignored for ONNX models');
  return { ...r, masks: new Map() };
}

/** Checks a vocabulary against the model's embedding and head (`src` names where it came from). */
export function checkVocab(vocab: string[], config: ModelConfig, src: string): void {
  const n = vocab.length;
  if (new Set(vocab).size !== n) throw new Error(`${src}: the vocabulary has duplicate symbols`);
  if (config.vocabSize !== undefined && config.vocabSize !== n) throw new Error(`${src}: ${n} symbols, the embedding has ${config.vocabSize} rows`);
  if (config.outputSize && config.outputSize !== n) throw new Error(`${src}: ${n} symbols, the head has ${config.outputSize} outputs`);
}

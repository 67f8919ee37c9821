// `sparse-rnn import WEIGHTS(.safetensors|.onnx) -o model.ckpt [--cell C] [--prefix P] [--vocab-file F]`:
// PyTorch weights (a state dict saved as safetensors) or an ONNX model → a sparse-rnn checkpoint,
// which `eval`, `sample`, `export`, `export-onnx` and (for fine-tuning and pruning) `train` read.
//
// safetensors: the architecture is inferred from names and shapes: layers from `weight_ih_l{k}`,
// bidirectional from `_reverse`, hidden size from weight_hh, input size from weight_ih_l0, the cell
// from --cell or from the gate multiple (3·H GRU, 4·H LSTM; 1·H is ambiguous between the RNN
// activations and needs --cell). An embedding (`embedding|emb|embed|encoder.weight`) and a Linear
// head (`fc|out|decoder|linear|head.weight/.bias`) are picked up when present.
// ONNX: see src/io/onnx.ts (importOnnx).

import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { readFileBytes } from '../../io/fs.js';
import { FormatError } from '../../io/errors.js';
import { parseSafetensors, type ParsedSafetensors } from '../../io/safetensors.js';
import { checkFinite } from '../../io/util.js';
import { importOnnx, parseOnnx } from '../../io/onnx.js';
import { Heap } from '../../kernels/heap.js';
import { createKernels } from '../../kernels/index.js';
import { CELL_TYPES, gateCount, paramSpecs, type CellType, type ModelConfig } from '../../nn/config.js';
import { RNNModel } from '../../nn/model.js';
import { CHECKPOINT_KEY, saveCheckpoint } from '../../train/checkpoint.js';
import { action } from '../main.js';

export interface ImportOptions {
  output: string;
  cell?: CellType;
  /** Name prefix of the recurrent module's tensors (e.g. "rnn."); auto-detected when unique. */
  prefix?: string;
  vocabFile?: string;
}

export interface ImportedModel {
  config: ModelConfig;
  /** Canonical sparse-rnn (PyTorch) names → values. */
  weights: Map<string, Float32Array>;
  vocab?: string[];
  notes: string[];
}

const EMBEDDING_NAMES = ['embedding', 'emb', 'embed', 'embeddings', 'encoder', 'embedding_layer'];
const HEAD_NAMES = ['fc', 'out', 'decoder', 'linear', 'head', 'output', 'classifier'];

/** Infer the model from a PyTorch state dict (already parsed). */
export function importStateDict(st: ParsedSafetensors, file: string, o: { cell?: CellType; prefix?: string } = {}): ImportedModel {
  const fail: (msg: string) => never = (msg) => {
    throw new Error(`${file}: ${msg}`);
  };
  if (st.metadata[CHECKPOINT_KEY] !== undefined)
    fail('is already a sparse-rnn checkpoint; use it directly (import is for PyTorch state dicts and ONNX models)');
  const re = /^(.*)weight_ih_l(\d+)(_reverse)?$/;
  const prefixes = new Set<string>();
  for (const k of st.tensors.keys()) {
    const m = re.exec(k);
    if (m && m[2] === '0' && !m[3]) prefixes.add(m[1]!);
  }
  let prefix = o.prefix;
  if (prefix === undefined) {
    if (prefixes.size === 0)
      fail(`no recurrent weights found (no tensor named "…weight_ih_l0"; found: ${[...st.tensors.keys()].slice(0, 8).join(', ')}${st.tensors.size > 8 ? ', …' : ''})`);
    if (prefixes.size > 1) fail(`several recurrent modules (${[...prefixes].map((p) => JSON.stringify(p)).join(', ')}): choose one with --prefix`);
    prefix = [...prefixes][0]!;
  } else if (!st.tensors.has(`${prefix}weight_ih_l0`))
    fail(`no tensor ${JSON.stringify(`${prefix}weight_ih_l0`)} (check --prefix; candidates: ${[...prefixes].map((p) => JSON.stringify(p)).join(', ') || 'none'})`);
  const notes: string[] = [];
  const used = new Set<string>();
  const tensor = (name: string) => {
    const t = st.tensors.get(name);
    if (!t) return undefined;
    if (!(t.data instanceof Float32Array)) fail(`${name} is ${t.dtype}, expected a float tensor`);
    checkFinite(name, t.data, file, t.shape);
    used.add(name);
    return { shape: t.shape, data: t.data as Float32Array };
  };
  let L = 0, D = 1;
  for (const k of st.tensors.keys()) {
    if (!k.startsWith(prefix)) continue;
    const m = re.exec(k);
    if (!m || m[1] !== prefix) continue;
    L = Math.max(L, Number(m[2]) + 1);
    if (m[3]) D = 2;
  }
  for (const k of st.tensors.keys())
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

  const weights = new Map<string, Float32Array>();
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
        weights.set(`rnn.${n}`, Float32Array.from(t.data));
      }
    }
  if (missingBias) notes.push('recurrent biases absent (bias=False): zeros');
  notes.push(`${L} ${cell!} layer(s) from ${JSON.stringify(prefix)}, input ${inputSize}, hidden ${H}${D === 2 ? ', bidirectional' : ''}`);

  // Embedding and head, at the root of the state dict or next to the recurrent module.
  const roots = [...new Set([prefix.replace(/[^.]*\.?$/, ''), ''])];
  let vocabSize: number | undefined;
  for (const r of roots) {
    const name = EMBEDDING_NAMES.map((n) => `${r}${n}.weight`).find((n) => st.tensors.has(n) && st.tensors.get(n)!.shape.length === 2);
    if (!name) continue;
    const t = tensor(name)!;
    if (t.shape[1] !== inputSize) fail(`${name} has shape [${t.shape}], but the first recurrent layer takes ${inputSize} features`);
    vocabSize = t.shape[0];
    weights.set('embedding.weight', Float32Array.from(t.data));
    notes.push(`embedding ${name} [${t.shape}]`);
    break;
  }
  let outputSize = 0;
  for (const r of roots) {
    const name = HEAD_NAMES.map((n) => `${r}${n}.weight`).find((n) => st.tensors.has(n) && st.tensors.get(n)!.shape.length === 2);
    if (!name) continue;
    const t = tensor(name)!;
    if (t.shape[1] !== D * H) fail(`${name} has shape [${t.shape}], expected [outputs, ${D * H}] (the recurrent stack's output)`);
    outputSize = t.shape[0]!;
    weights.set('fc.weight', Float32Array.from(t.data));
    const bn = name.replace(/weight$/, 'bias');
    const b = tensor(bn);
    if (b && b.shape.join(',') !== `${outputSize}`) fail(`${bn} has shape [${b.shape}], expected [${outputSize}]`);
    weights.set('fc.bias', b ? Float32Array.from(b.data) : new Float32Array(outputSize));
    notes.push(`head ${name} [${t.shape}]${b ? '' : ' (no bias: zeros)'}`);
    break;
  }
  const ignored = [...st.tensors.keys()].filter((k) => !used.has(k));
  if (ignored.length) notes.push(`ignored ${ignored.length} tensor(s): ${ignored.slice(0, 6).join(', ')}${ignored.length > 6 ? ', …' : ''}`);
  const config: ModelConfig = {
    cell: cell!, inputSize, hiddenSize: H, numLayers: L, bidirectional: D === 2, outputSize, ...(vocabSize ? { vocabSize } : {}),
  };
  return { config, weights, notes };
}

/** A vocabulary file: a JSON array of strings, or one symbol per line (escapes \n \t \r \\ \s for space). */
export function readVocabFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read the vocabulary file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
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

export async function importCommand(weightsFile: string, o: ImportOptions): Promise<ImportedModel> {
  const bytes = await readFileBytes(weightsFile);
  const ext = extname(weightsFile).toLowerCase();
  let imp: ImportedModel;
  if (ext === '.pt' || ext === '.pth' || ext === '.bin' || (bytes[0] === 0x80 && bytes[1] === 0x02) || (bytes[0] === 0x50 && bytes[1] === 0x4b))
    throw new Error(`${weightsFile}: PyTorch pickle/zip files are not read (they can run code); save the state dict as safetensors ` +
      `(safetensors.torch.save_file(model.state_dict(), "w.safetensors")) or export ONNX (torch.onnx.export)`);
  let onnx = ext === '.onnx';
  if (!onnx && ext !== '.safetensors' && ext !== '.ckpt') {
    // Unknown extension: safetensors if it parses as such, otherwise ONNX.
    try {
      parseSafetensors(bytes, weightsFile);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      onnx = true;
    }
  }
  if (onnx) {
    const r = importOnnx(parseOnnx(bytes, weightsFile), weightsFile);
    if (o.cell && o.cell !== r.config.cell) throw new Error(`${weightsFile}: the ONNX graph holds a ${r.config.cell} model, not --cell ${o.cell}`);
    if (o.prefix !== undefined) r.notes.push('--prefix is ignored for ONNX models');
    imp = r;
  } else imp = importStateDict(parseSafetensors(bytes, weightsFile), weightsFile, o);
  if (o.vocabFile) imp.vocab = readVocabFile(o.vocabFile);
  const c = imp.config;
  if (imp.vocab) {
    const n = imp.vocab.length;
    const src = o.vocabFile ?? 'the ONNX metadata';
    if (new Set(imp.vocab).size !== n) throw new Error(`${src}: the vocabulary has duplicate symbols`);
    if (c.vocabSize !== undefined && c.vocabSize !== n) throw new Error(`${src}: ${n} symbols, the embedding has ${c.vocabSize} rows`);
    if (c.outputSize && c.outputSize !== n) throw new Error(`${src}: ${n} symbols, the head has ${c.outputSize} outputs`);
  }
  const model = new RNNModel(c, createKernels(new Heap(), 'ts'));
  for (const s of paramSpecs(c)) {
    const w = imp.weights.get(s.name);
    if (!w) throw new Error(`${weightsFile}: internal: no weights for ${s.name}`);
    model.byName.get(s.name)!.data.set(w);
  }
  const charlm = !!(c.vocabSize && c.outputSize && c.vocabSize === c.outputSize);
  await saveCheckpoint(o.output, model, { ...(imp.vocab ? { vocab: imp.vocab } : {}), ...(charlm ? { task: 'charlm' as const } : {}) });
  return imp;
}

export function registerImport(program: Command): void {
  program.command('import')
    .description('PyTorch weights (state dict as .safetensors) or an ONNX model → a sparse-rnn checkpoint')
    .argument('<weights>', '.safetensors (PyTorch names: rnn.weight_ih_l0, …) or .onnx (GRU/LSTM/RNN nodes)')
    .requiredOption('-o, --output <model.ckpt>', 'checkpoint to write')
    .addOption(new Option('--cell <cell>', 'cell type (needed for vanilla RNNs; inferred for GRU/LSTM)').choices(CELL_TYPES as unknown as string[]))
    .option('--prefix <p>', 'name prefix of the recurrent tensors, e.g. "rnn." (auto-detected when unique)')
    .option('--vocab-file <file>', 'vocabulary: JSON array of strings, or one symbol per line (\\n \\t \\s escapes)')
    .action(action(async (weights: string, o: ImportOptions) => {
      const imp = await importCommand(weights, o);
      const c = imp.config;
      for (const n of imp.notes) process.stdout.write(`  ${n}\n`);
      process.stdout.write(`config: ${JSON.stringify(c)}\n`);
      if (c.vocabSize && !imp.vocab) process.stdout.write('note: no vocabulary (--vocab-file): eval/sample/train need one for a character LM\n');
      process.stdout.write(`wrote ${o.output}\n`);
    }));
}

// `sparse-rnn import WEIGHTS(.safetensors|.onnx) -o model.ckpt [--cell C] [--prefix P] [--vocab-file F]`:
// PyTorch weights (a state dict saved as safetensors, masks included) or an ONNX model → a sparse-rnn
// checkpoint, which `eval`, `sample`, `export`, `export-onnx` and (for fine-tuning and pruning) `train`
// read. The reading is src/io/torch.ts (state dicts, masks) and src/io/onnx.ts (ONNX graphs).

import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { readFileBytes } from '../../io/fs.js';
import { checkVocab, importModelBytes, parseVocabText, type ImportedModel } from '../../io/torch.js';
import { Heap } from '../../kernels/heap.js';
import { createKernels } from '../../kernels/index.js';
import { CELL_TYPES, paramSpecs, type CellType } from '../../nn/config.js';
import { RNNModel } from '../../nn/model.js';
import { fileKindOf, saveCheckpoint, wrongKind } from '../../train/checkpoint.js';
import { action, outOption, refuseOverwrite } from '../common.js';

export { importStateDict, type ImportedModel } from '../../io/torch.js';

export interface ImportOptions {
  out: string;
  force?: boolean;
  cell?: CellType;
  /** Name prefix of the recurrent module's tensors (e.g. "rnn."); auto-detected when unique. */
  prefix?: string;
  vocabFile?: string;
}

/** A vocabulary file: a JSON array of strings, or one symbol per line (escapes \n \t \r \\ \s for space). */
export function readVocabFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read the vocabulary file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseVocabText(text, path);
}

export async function importCommand(weightsFile: string, o: ImportOptions): Promise<ImportedModel> {
  refuseOverwrite(o.out, o);
  const bytes = await readFileBytes(weightsFile);
  const kind = fileKindOf(bytes), pickle = (bytes[0] === 0x80 && bytes[1] === 0x02) || (bytes[0] === 0x50 && bytes[1] === 0x4b);
  const want = 'PyTorch weights (a state dict as .safetensors) or an ONNX model';
  if (kind === 'srnn') throw wrongKind(weightsFile, kind, want, 'it is already a deployable model: run it with `sparse-rnn infer` or `serve`');
  if (kind === 'npy' || (kind === 'unknown' && !pickle)) throw wrongKind(weightsFile, kind, want, 'check the file name');
  const imp = importModelBytes(bytes, weightsFile, o);
  if (o.vocabFile) imp.vocab = readVocabFile(o.vocabFile);
  const c = imp.config;
  if (imp.vocab) checkVocab(imp.vocab, c, o.vocabFile ?? 'the ONNX metadata');
  const model = new RNNModel(c, createKernels(new Heap(), 'ts'));
  for (const s of paramSpecs(c)) {
    const w = imp.weights.get(s.name);
    if (!w) throw new Error(`${weightsFile}: internal: no weights for ${s.name}`);
    const p = model.byName.get(s.name)!;
    p.data.set(w);
    const m = imp.masks.get(s.name);
    if (m) {
      p.ensureMask();
      p.maskData!.set(m);
      p.applyMask();
    }
  }
  const charlm = !!(c.vocabSize && c.outputSize && c.vocabSize === c.outputSize);
  await saveCheckpoint(o.out, model, { ...(imp.vocab ? { vocab: imp.vocab } : {}), ...(charlm ? { task: 'charlm' as const } : {}) });
  return imp;
}

export function registerImport(program: Command): void {
  program.command('import')
    .description('PyTorch weights (state dict as .safetensors, with masks) or an ONNX model → a sparse-rnn checkpoint')
    .argument('<weights>', '.safetensors (PyTorch names: rnn.weight_ih_l0, …; masks as <name>_mask, or torch prune\'s <name>_orig + <name>_mask) or .onnx')
    .addOption(outOption('checkpoint to write').makeOptionMandatory())
    .option('--force', 'replace an existing --out checkpoint', false)
    .addOption(new Option('--cell <cell>', 'cell type (needed for vanilla RNNs; inferred for GRU/LSTM)').choices(CELL_TYPES as unknown as string[]))
    .option('--prefix <p>', 'name prefix of the recurrent tensors, e.g. "rnn." (auto-detected when unique)')
    .option('--vocab-file <file>', 'vocabulary: JSON array of strings, or one symbol per line (\\n \\t \\s escapes)')
    .action(action(async (weights: string, o: ImportOptions) => {
      const imp = await importCommand(weights, o);
      const c = imp.config;
      for (const n of imp.notes) process.stdout.write(`  ${n}\n`);
      process.stdout.write(`config: ${JSON.stringify(c)}\n`);
      if (c.vocabSize && !imp.vocab) process.stdout.write('note: no vocabulary (--vocab-file): eval/sample/train need one for a character LM\n');
      process.stdout.write(`wrote ${o.out}\n`);
    }));
}

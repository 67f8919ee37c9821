// `sparse-rnn export CHECKPOINT -o model.srnn [--values fp32|fp16]`: a training checkpoint
// (safetensors; `__metadata__["sparse-rnn"]` = JSON { config, ... }) → a pruned .srnn model.
// Masks (`<name>_mask`) are applied (w·mask); optimizer state (`optim.*`) and other tensors are ignored.

import { Command, Option } from 'commander';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileBytes, writeFileAtomic } from '../../io/fs.js';
import { parseSafetensors } from '../../io/safetensors.js';
import { paramSpecs, validateConfig, type ModelConfig } from '../../nn/config.js';
import { exportModelWithInfo, formatSizeReport, sizeReport, type ExportedTensorInfo, type SizeReport } from '../../sparse/export.js';
import { action } from '../main.js';

export interface ExportCommandOptions {
  output: string;
  values: 'fp32' | 'fp16';
  storage: 'auto' | 'csr' | 'dense';
}

/** Meta keys of a checkpoint that are training state, not needed to run the model. */
const TRAINING_ONLY = new Set(['config', 'train', 'prune', 'format', 'version']);

export async function exportCommand(checkpoint: string, o: ExportCommandOptions):
  Promise<{ report: SizeReport; tensors: ExportedTensorInfo[]; config: ModelConfig }> {
  const st = parseSafetensors(await readFileBytes(checkpoint), checkpoint);
  const raw = st.metadata['sparse-rnn'];
  if (raw === undefined) throw new Error(`${checkpoint}: not a sparse-rnn checkpoint (no "sparse-rnn" key in __metadata__)`);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error(`${checkpoint}: __metadata__["sparse-rnn"] is not valid JSON`);
  }
  if (typeof meta !== 'object' || meta === null) throw new Error(`${checkpoint}: __metadata__["sparse-rnn"] is not a JSON object`);
  const config = validateConfig(meta.config, `${checkpoint}: config`);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const t = st.tensors.get(s.name);
    if (!t) throw new Error(`${checkpoint}: missing tensor ${s.name} (expected shape [${s.shape}])`);
    if (t.shape.join(',') !== s.shape.join(',')) throw new Error(`${checkpoint}: ${s.name} has shape [${t.shape}], expected [${s.shape}]`);
    if (!(t.data instanceof Float32Array)) throw new Error(`${checkpoint}: ${s.name} is ${t.dtype}, expected a float tensor`);
    const w = Float32Array.from(t.data);
    const m = st.tensors.get(`${s.name}_mask`);
    if (m) {
      if (m.data.length !== w.length) throw new Error(`${checkpoint}: ${s.name}_mask has ${m.data.length} values, expected ${w.length}`);
      for (let i = 0; i < w.length; i++) if (!m.data[i]) w[i] = 0;
    }
    weights.set(s.name, w);
  }
  const extra: Record<string, unknown> = { source: basename(checkpoint) };
  for (const [k, v] of Object.entries(meta)) if (!TRAINING_ONLY.has(k)) extra[k] = v;
  const { bytes, tensors } = exportModelWithInfo(config, weights, { values: o.values, extra, storage: o.storage });
  await writeFileAtomic(o.output, bytes);
  const report = await sizeReport(config, weights, bytes, { gzip: (b) => gzipSync(b) });
  return { report, tensors, config };
}

export function registerExport(program: Command): void {
  program.command('export')
    .description('export a pruned checkpoint (safetensors) to a sparse .srnn model and print its size report')
    .argument('<checkpoint>', 'checkpoint .safetensors written by `sparse-rnn train`')
    .requiredOption('-o, --output <model.srnn>', 'where to write the model')
    .addOption(new Option('--values <precision>', 'weight values precision').choices(['fp32', 'fp16']).default('fp32'))
    .addOption(new Option('--storage <format>', 'weight matrix storage: auto (CSR when sparse enough), csr, dense')
      .choices(['auto', 'csr', 'dense']).default('auto'))
    .action(action(async (checkpoint: string, o: ExportCommandOptions) => {
      const { report, tensors } = await exportCommand(checkpoint, o);
      for (const t of tensors)
        if (t.shape.length === 2)
          process.stdout.write(`  ${t.name.padEnd(28)} [${t.shape.join('x')}] ${t.format}${t.index ? ` (${t.index})` : ''}, ` +
            `density ${(100 * t.density).toFixed(1)}%\n`);
      process.stdout.write(`${formatSizeReport(report)}\nwrote ${o.output}\n`);
    }));
}

// `sparse-rnn export-onnx CHECKPOINT -o model.onnx [--state] [--sparse-initializers D]`: a training
// checkpoint → an ONNX model (opset 14) that onnxruntime and other ONNX runtimes run. Masks are
// applied (w·mask). See docs/onnx.md for the graph, its inputs/outputs and the decisions.

import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../io/fs.js';
import { checkFinite } from '../../io/util.js';
import { exportOnnx, type OnnxExportInfo } from '../../io/onnx.js';
import { paramSpecs, type ModelConfig } from '../../nn/config.js';
import { loadCheckpoint } from '../../train/checkpoint.js';
import { action, num } from '../main.js';

export interface ExportOnnxOptions {
  output: string;
  /** Graph inputs h0/c0 and outputs hn/cn (streaming across calls). */
  state?: boolean;
  /** Write weight matrices with density ≤ this as sparse_initializer (0 = all dense). */
  sparseInitializers?: number;
}

/** The masked weights of a checkpoint, by PyTorch name, and its config/vocab. */
export function checkpointWeights(file: string): { config: ModelConfig; weights: Map<string, Float32Array>; vocab?: string[] } {
  const ck = loadCheckpoint(file);
  const config = ck.meta.config;
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const t = ck.tensors.get(s.name);
    if (!t) throw new Error(`${file}: missing tensor ${s.name} (expected shape [${s.shape}])`);
    if (t.shape.join(',') !== s.shape.join(',')) throw new Error(`${file}: ${s.name} has shape [${t.shape}], expected [${s.shape}]`);
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: ${s.name} is not a float tensor`);
    checkFinite(s.name, t.data, file, t.shape);
    const w = Float32Array.from(t.data);
    const m = ck.tensors.get(`${s.name}_mask`);
    if (m) {
      if (m.data.length !== w.length) throw new Error(`${file}: ${s.name}_mask has ${m.data.length} values, expected ${w.length}`);
      for (let i = 0; i < w.length; i++) if (!m.data[i]) w[i] = 0;
    }
    weights.set(s.name, w);
  }
  return { config, weights, vocab: ck.meta.vocab };
}

export async function exportOnnxCommand(checkpoint: string, o: ExportOnnxOptions): Promise<{ bytes: number; info: OnnxExportInfo; config: ModelConfig }> {
  const { config, weights, vocab } = checkpointWeights(checkpoint);
  let version: string | undefined;
  try {
    version = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    version = undefined;
  }
  const { bytes, info } = exportOnnx(config, weights, {
    state: !!o.state,
    sparseMaxDensity: o.sparseInitializers ?? 0,
    meta: vocab ? { vocab } : {},
    producerVersion: version,
  });
  await writeFileAtomic(o.output, bytes);
  return { bytes: bytes.length, info, config };
}

export function registerExportOnnx(program: Command): void {
  program.command('export-onnx')
    .description('export a checkpoint to ONNX (opset 14: Gather → GRU/LSTM/RNN → MatMul+Add), masks applied')
    .argument('<checkpoint>', 'checkpoint written by `sparse-rnn train` or `sparse-rnn import`')
    .requiredOption('-o, --output <model.onnx>', 'where to write the ONNX model')
    .option('--state', 'add inputs h0 [,c0] and outputs hn [,cn] ([layers·dirs, B, hidden]) for streaming', false)
    .addOption(new Option('--sparse-initializers <density>',
      'store weight matrices with at most this density as ONNX sparse_initializer (COO); smaller files, same results')
      .argParser(num('--sparse-initializers', 0, 1)))
    .action(action(async (checkpoint: string, o: ExportOnnxOptions) => {
      const { bytes, info, config } = await exportOnnxCommand(checkpoint, o);
      process.stdout.write(`${config.numLayers}-layer ${config.bidirectional ? 'bidirectional ' : ''}${config.cell} → ONNX opset 14\n` +
        `  inputs:  ${info.inputs.join(', ')}\n  outputs: ${info.outputs.join(', ')}\n` +
        (info.sparse.size ? `  sparse initializers: ${[...info.sparse].map(([n, d]) => `${n} (${(100 * d).toFixed(1)}%)`).join(', ')}\n` : '') +
        `wrote ${o.output} (${bytes} bytes)\n`);
    }));
}

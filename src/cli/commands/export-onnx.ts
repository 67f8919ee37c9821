// `sparse-rnn export-onnx CHECKPOINT -o model.onnx [--state] [--sparse-initializers D]`: a training
// checkpoint → an ONNX model (opset 14) that onnxruntime and other ONNX runtimes run. Masks are
// applied (w·mask). See docs/onnx.md for the graph, its inputs/outputs and the decisions.

import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../io/fs.js';
import { exportOnnx, type OnnxExportInfo } from '../../io/onnx.js';
import type { ModelConfig } from '../../nn/config.js';
import { loadCheckpoint, maskedWeights } from '../../train/checkpoint.js';
import { action, num, outOption, refuseOverwrite } from '../common.js';

export interface ExportOnnxOptions {
  output: string;
  /** Graph inputs h0/c0 and outputs hn/cn (streaming across calls). */
  state?: boolean;
  /** Write weight matrices with density ≤ this as sparse_initializer (0 = all dense). */
  sparseInitializers?: number;
}

export async function exportOnnxCommand(checkpoint: string, o: ExportOnnxOptions): Promise<{ bytes: number; info: OnnxExportInfo; config: ModelConfig }> {
  const ck = loadCheckpoint(checkpoint, { purpose: 'export-onnx' });
  const config = ck.meta.config, vocab = ck.meta.vocab;
  let version: string | undefined;
  try {
    version = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    version = undefined;
  }
  const { bytes, info } = exportOnnx(config, maskedWeights(ck), {
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
    .addOption(outOption('where to write the ONNX model').makeOptionMandatory())
    .option('--force', 'replace an existing --out model', false)
    .option('--state', 'add inputs h0 [,c0] and outputs hn [,cn] ([layers·dirs, B, hidden]) for streaming', false)
    .addOption(new Option('--sparse-initializers <density>',
      'store weight matrices with at most this density as ONNX sparse_initializer (COO); smaller files, same results')
      .argParser(num('--sparse-initializers', 0, 1)))
    .action(action(async (checkpoint: string, o: Omit<ExportOnnxOptions, 'output'> & { out: string; force: boolean }) => {
      refuseOverwrite(o.out, o, 'model', false);
      const { bytes, info, config } = await exportOnnxCommand(checkpoint, { ...o, output: o.out });
      process.stdout.write(`${config.numLayers}-layer ${config.bidirectional ? 'bidirectional ' : ''}${config.cell} → ONNX opset 14\n` +
        `  inputs:  ${info.inputs.join(', ')}\n  outputs: ${info.outputs.join(', ')}\n` +
        (info.sparse.size ? `  sparse initializers: ${[...info.sparse].map(([n, d]) => `${n} (${(100 * d).toFixed(1)}%)`).join(', ')}\n` : '') +
        `wrote ${o.out} (${bytes} bytes)\n`);
    }));
}

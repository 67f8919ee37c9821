// `sparse-rnn export CHECKPOINT -o model.srnn [--values fp32|fp16]`: a training checkpoint → a
// pruned .srnn model (masks applied; optimizer state and other training state left out).

import { Command, Option } from 'commander';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../../io/fs.js';
import type { ModelConfig } from '../../nn/config.js';
import { formatSizeReport, sizeReport, type ExportedTensorInfo, type SizeReport } from '../../sparse/export.js';
import { checkpointToSrnn, loadCheckpoint } from '../../train/checkpoint.js';
import type { BlockSpec } from '../../prune/index.js';
import { UsageError, action, blockSpec, outOption, refuseOverwrite } from '../common.js';

export interface ExportCommandOptions {
  output: string;
  values: 'fp32' | 'fp16';
  storage: 'auto' | 'csr' | 'dense';
  /**
   * Store every sparse matrix as BSR with this block, or per layer type ({ recurrent: [4, 4] }: the other
   * types CSR); an error where a pattern is not aligned; shapes the block does not tile stay CSR.
   */
  block?: BlockSpec;
}

export async function exportCommand(checkpoint: string, o: ExportCommandOptions):
  Promise<{ report: SizeReport; tensors: ExportedTensorInfo[]; config: ModelConfig }> {
  const block = o.block;
  if (block !== undefined) {
    if (o.storage !== 'auto') throw new UsageError(`--block stores the sparse matrices as BSR; it conflicts with --storage ${o.storage} (drop one)`);
  }
  const ck = loadCheckpoint(checkpoint, { purpose: 'export' });
  const { bytes, tensors, weights, config } = checkpointToSrnn(ck, {
    values: o.values, storage: o.storage,
    ...(!block ? {} : Array.isArray(block) ? { block: block as [number, number], requireBlock: true } : { blockByKind: block, requireBlock: true }),
  });
  await writeFileAtomic(o.output, bytes);
  const report = await sizeReport(config, weights, bytes, { gzip: (b) => gzipSync(b) });
  return { report, tensors, config };
}

export function registerExport(program: Command): void {
  program.command('export')
    .description('export a pruned checkpoint (safetensors) to a sparse .srnn model and print its size report')
    .argument('<checkpoint>', 'checkpoint written by `sparse-rnn train` or `sparse-rnn import`')
    .addOption(outOption('where to write the model (.srnn)').makeOptionMandatory())
    .addOption(new Option('--values <precision>', 'weight values precision').choices(['fp32', 'fp16']).default('fp32'))
    .addOption(new Option('--storage <format>', 'weight matrix storage: auto (CSR when sparse enough), csr, dense')
      .choices(['auto', 'csr', 'dense']).default('auto'))
    .option('--force', 'replace an existing --out model', false)
    .option('--block <RxC>', 'store the sparse matrices block-sparse (BSR) with RxC blocks, e.g. 1x4, or per layer type as type=RxC[,type=RxC] (the other types CSR); a matrix whose shape the block does not tile stays CSR (default: the block(s) of the checkpoint\'s pruning recipe, where a matrix is aligned)', blockSpec('--block'))
    .action(action(async (checkpoint: string, o: Omit<ExportCommandOptions, 'output'> & { out: string; force: boolean }) => {
      refuseOverwrite(o.out, o, 'model', false);
      const { report, tensors } = await exportCommand(checkpoint, { ...o, output: o.out });
      for (const t of tensors)
        if (t.shape.length === 2)
          process.stdout.write(`  ${t.name.padEnd(28)} [${t.shape.join('x')}] ${t.format}${t.index ? ` (${t.index})` : ''}${t.block ? ` ${t.block.join('x')}` : ''}, ` +
            `density ${(100 * t.density).toFixed(1)}%\n`);
      process.stdout.write(`${formatSizeReport(report)}\nwrote ${o.out}\n`);
    }));
}

// `sparse-rnn forward`: run a PyTorch nn.GRU / nn.LSTM / nn.RNN stack from its state-dict
// (safetensors) on X [T, B, input] (.npy) and write the output sequence [T, B, dirs·hidden].

import { Command, Option } from 'commander';
import { loadNpyFile, saveNpyFile } from '../../io/fs.js';
import { checkFinite } from '../../io/safetensors.js';
import { createEngine, type Engine, type KernelChoice } from '../../kernels/engine.js';
import { CELL_TYPES, gateCount, paramSpecs, type CellType, type ModelConfig } from '../../nn/config.js';
import { RNNModel } from '../../nn/model.js';
import { readSafetensorsChecked } from '../../train/checkpoint.js';
import { action, addEngineOptions, commandEngine, int, outOption, refuseOverwrite } from '../common.js';

export interface ForwardOptions {
  weights: string;
  cell: CellType;
  layers: number;
  bidirectional: boolean;
  prefix: string;
  input: string;
  output: string;
  /** Initial states [layers·dirs, B, hidden] (.npy), as PyTorch's module(x, h0) / (h0, c0). */
  h0?: string;
  c0?: string;
  kernels: KernelChoice;
}

export async function forwardCommand(o: ForwardOptions, engine?: () => Promise<Engine>): Promise<{ shape: number[] }> {
  const st = readSafetensorsChecked(o.weights, 'forward');
  const name = (n: string): string => `${o.prefix}${n}`;
  const get = (n: string) => {
    const t = st.tensors.get(name(n));
    if (!t) {
      const have = [...st.tensors.keys()].slice(0, 8).join(', ');
      throw new Error(`${o.weights}: missing tensor ${name(n)} (found: ${have}${st.tensors.size > 8 ? ', …' : ''}; check --prefix and --layers)`);
    }
    return t;
  };
  const wih = get('weight_ih_l0'), whh = get('weight_hh_l0');
  const G = gateCount(o.cell);
  if (whh.shape.length !== 2 || whh.shape[0] !== G * whh.shape[1])
    throw new Error(`${o.weights}: ${name('weight_hh_l0')} has shape [${whh.shape}], expected [${G}·hidden, hidden] for --cell ${o.cell}`);
  const H = whh.shape[1];
  if (wih.shape.length !== 2 || wih.shape[0] !== G * H)
    throw new Error(`${o.weights}: ${name('weight_ih_l0')} has shape [${wih.shape}], expected [${G * H}, input]`);
  const config: ModelConfig = { cell: o.cell, inputSize: wih.shape[1], hiddenSize: H, numLayers: o.layers, bidirectional: o.bidirectional, outputSize: 0 };
  const model = new RNNModel(config, (await (engine ?? (() => createEngine({ kernels: o.kernels, threads: 1 })))()).kernels);
  // The state dict's names are the canonical ones (paramSpecs) under --prefix instead of "rnn.".
  const specs = paramSpecs(config, o.prefix);
  model.params.forEach((p, i) => {
    const t = get(specs[i].name.slice(o.prefix.length));
    if (t.shape.join(',') !== p.shape.join(','))
      throw new Error(`${o.weights}: ${specs[i].name} has shape [${t.shape}], expected [${p.shape}]`);
    if (!(t.data instanceof Float32Array)) throw new Error(`${o.weights}: ${specs[i].name} is ${t.dtype}, expected a float tensor`);
    checkFinite(specs[i].name, t.data, o.weights, t.shape);
    p.data.set(t.data);
  });
  const x = await loadNpyFile(o.input);
  if (x.shape.length !== 3 || x.shape[2] !== config.inputSize)
    throw new Error(`${o.input}: shape [${x.shape}], expected [T, B, ${config.inputSize}] (time-major, as PyTorch's default)`);
  if (!(x.data instanceof Float32Array || x.data instanceof Float64Array))
    throw new Error(`${o.input}: dtype ${x.dtype}, expected float32 (or float64)`);
  checkFinite('input', x.data, o.input, x.shape);
  const [T, B] = x.shape;
  model.heap.f32.set(x.data, model.inputBuffer(T, B));
  const state = model.createState(B);
  const nState = config.numLayers * model.D * B * H;
  for (const [opt, file, dst] of [['--h0', o.h0, state.h], ['--c0', o.c0, state.c]] as const) {
    if (!file) continue;
    if (dst < 0) throw new Error(`${opt} is only for --cell lstm`);
    const a = await loadNpyFile(file);
    const want = [config.numLayers * model.D, B, H];
    if (a.shape.join(',') !== want.join(',')) throw new Error(`${file}: shape [${a.shape}], expected [${want}] (layers·directions, batch, hidden)`);
    if (!(a.data instanceof Float32Array || a.data instanceof Float64Array)) throw new Error(`${file}: dtype ${a.dtype}, expected float32`);
    checkFinite(opt.slice(2), a.data, file, a.shape);
    model.heap.f32.set(a.data.subarray(0, nState), dst);
  }
  const y = model.forward(T, B, { state });
  const shape = [T, B, model.stackOut];
  await saveNpyFile(o.output, Float32Array.from(model.heap.view(y, T * B * model.stackOut)), shape);
  return { shape };
}

export function registerForward(program: Command): void {
  addEngineOptions(program.command('forward'))
    .description('run a PyTorch RNN/GRU/LSTM state-dict (safetensors) on X.npy [T,B,input] → Y.npy [T,B,dirs·hidden]')
    .requiredOption('--weights <file>', 'safetensors with weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}[_reverse]')
    .addOption(new Option('--cell <cell>', 'cell type').choices(CELL_TYPES as unknown as string[]).makeOptionMandatory())
    .option('--layers <n>', 'stacked layers', int('--layers', 1), 1)
    .option('--bidirectional', 'bidirectional stack', false)
    .option('--prefix <p>', 'name prefix of the tensors (e.g. "rnn.")', '')
    .requiredOption('--input <X.npy>', 'input [T, B, input], float32')
    .addOption(outOption('where to write the outputs Y.npy').makeOptionMandatory())
    .option('--h0 <H0.npy>', 'initial hidden state [layers·dirs, B, hidden] (default zeros)')
    .option('--c0 <C0.npy>', 'initial LSTM cell state (default zeros)')
    .option('--force', 'replace an existing --out file', false)
    .option('--quiet', 'print nothing but errors', false)
    .action(action(async (o: Omit<ForwardOptions, 'output'> & { out: string; threads?: number; quiet: boolean; force: boolean }) => {
      refuseOverwrite(o.out, o, 'file', false);
      const { shape } = await forwardCommand({ ...o, output: o.out }, () => commandEngine(o));
      if (!o.quiet) process.stderr.write(`wrote ${o.out} [${shape}]\n`);
    }));
}

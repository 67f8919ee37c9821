// The architecture of a model, as a plain JSON-serialisable object, and the PyTorch names of its
// parameters. Checkpoints, the .srnn file, the pruner and the sparse runtime all agree through this.

export type CellType = 'gru' | 'lstm' | 'rnn_tanh' | 'rnn_relu' | 'rnn_clipped';
export const CELL_TYPES: readonly CellType[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu', 'rnn_clipped'];

export interface ModelConfig {
  cell: CellType;
  /** Features per timestep into the first recurrent layer (the embedding size when vocabSize is set). */
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  /** When set, `embedding.weight` [vocabSize, inputSize] maps token ids to the inputs. */
  vocabSize?: number;
  /** Size of the Linear head `fc` (dirs·hiddenSize → outputSize); 0 means no head. */
  outputSize: number;
  /** Dropout probability between stacked recurrent layers (training only). */
  dropout?: number;
}

/** Number of gate blocks stacked in weight_ih / weight_hh: GRU r,z,n; LSTM i,f,g,o; RNN 1. */
export function gateCount(cell: CellType): number {
  return cell === 'gru' ? 3 : cell === 'lstm' ? 4 : 1;
}

export function directions(c: ModelConfig): number {
  return c.bidirectional ? 2 : 1;
}

/** What the pruner calls a "layer type" (the paper keeps one threshold schedule per type). */
export type ParamKind = 'recurrent' | 'input' | 'linear' | 'embedding' | 'bias';

export interface ParamSpec {
  name: string;
  kind: ParamKind;
  shape: number[];
}

/** Parameter names and shapes, exactly as PyTorch's nn.Embedding / nn.GRU|LSTM|RNN / nn.Linear name them. */
export function paramSpecs(c: ModelConfig, prefix = 'rnn.'): ParamSpec[] {
  const out: ParamSpec[] = [];
  if (c.vocabSize) out.push({ name: 'embedding.weight', kind: 'embedding', shape: [c.vocabSize, c.inputSize] });
  const G = gateCount(c.cell) * c.hiddenSize;
  const D = directions(c);
  for (let l = 0; l < c.numLayers; l++) {
    const inSize = l === 0 ? c.inputSize : D * c.hiddenSize;
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
      out.push({ name: `${prefix}weight_ih${sfx}`, kind: 'input', shape: [G, inSize] });
      out.push({ name: `${prefix}weight_hh${sfx}`, kind: 'recurrent', shape: [G, c.hiddenSize] });
      out.push({ name: `${prefix}bias_ih${sfx}`, kind: 'bias', shape: [G] });
      out.push({ name: `${prefix}bias_hh${sfx}`, kind: 'bias', shape: [G] });
    }
  }
  if (c.outputSize > 0) {
    out.push({ name: 'fc.weight', kind: 'linear', shape: [c.outputSize, D * c.hiddenSize] });
    out.push({ name: 'fc.bias', kind: 'bias', shape: [c.outputSize] });
  }
  return out;
}

/** Validate a config read from a file or the command line; throws with the offending field. */
export function validateConfig(c: unknown, where = 'config'): ModelConfig {
  if (typeof c !== 'object' || c === null) throw new Error(`${where}: expected an object`);
  const o = c as Record<string, unknown>;
  const int = (k: string, min: number, optional = false): void => {
    const v = o[k];
    if (v === undefined && optional) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 1 << 20)
      throw new Error(`${where}.${k}: expected an integer in [${min}, ${1 << 20}], found ${JSON.stringify(v)}`);
  };
  if (!CELL_TYPES.includes(o.cell as CellType))
    throw new Error(`${where}.cell: expected one of ${CELL_TYPES.join(', ')}, found ${JSON.stringify(o.cell)}`);
  int('inputSize', 1);
  int('hiddenSize', 1);
  int('numLayers', 1);
  int('outputSize', 0);
  int('vocabSize', 1, true);
  if (typeof o.bidirectional !== 'boolean') throw new Error(`${where}.bidirectional: expected true or false`);
  if (o.dropout !== undefined && (typeof o.dropout !== 'number' || !(o.dropout >= 0 && o.dropout < 1)))
    throw new Error(`${where}.dropout: expected a number in [0, 1)`);
  return o as unknown as ModelConfig;
}

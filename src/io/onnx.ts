// ONNX export and import of sparse-rnn models, with a hand-written protobuf encoding (./protobuf.ts).
// Browser-safe: bytes in, bytes out. Field numbers are those of onnx/onnx.proto (IR version 7).
//
// Export: [Embedding → Gather] → per layer one ONNX GRU / LSTM / RNN node (PyTorch's gate blocks
// reordered to ONNX's: GRU r,z,n → z,r,h; LSTM i,f,g,o → i,o,f,c), its output Y [T, dirs, B, H]
// transposed/reshaped to [T, B, dirs·H] → [Linear head → MatMul + Add]. PyTorch's GRU is ONNX's
// GRU with linear_before_reset = 1. The clipped ReLU min(max(x, 0), 20) is exactly ONNX's RNN with
// activations Relu and clip = 20 (clip bounds the *input* of the activation to [−20, 20]).
// Import: decode the protobuf, find the recurrent nodes, their initializers and the embedding /
// head around them, and undo the gate reorder. See docs/onnx.md.

import { FormatError } from './errors.js';
import { PbReader, PbWriter, type PbField } from './protobuf.js';
import { checkShape, halfToFloat, bf16ToFloat } from './util.js';
import { gateCount, type CellType, type ModelConfig } from '../nn/config.js';

// ---------------------------------------------------------------------------------------------
// onnx.proto constants

export const ONNX_DTYPE = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

export const ONNX_ATTR = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

/** The opset and IR version the exporter writes. */
export const ONNX_OPSET = 14;
export const ONNX_IR_VERSION = 7;
/** ModelProto.metadata_props key holding the sparse-rnn description (config, vocab). */
export const ONNX_META_KEY = 'sparse-rnn';

/** ONNX gate block j holds PyTorch block PERM[j]. */
export function onnxGatePerm(cell: CellType): number[] {
  return cell === 'gru' ? [1, 0, 2] : cell === 'lstm' ? [0, 3, 1, 2] : [0];
}

// ---------------------------------------------------------------------------------------------
// Decoded model

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Floats (FLOAT/DOUBLE/FLOAT16/BFLOAT16) as Float32Array, integer types as Float64Array; null when not decoded. */
  data: Float32Array | Float64Array | null;
  /** Why `data` is null (external data, strings, an unsupported type). */
  undecoded?: string;
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  strings?: string[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** Dimensions: numbers, symbolic names, or null when unknown; null shape when absent. */
  shape: (number | string | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  graph: OnnxGraph;
}

// ---------------------------------------------------------------------------------------------
// Writer

const enc = new TextEncoder();

function f32Bytes(a: Float32Array): Uint8Array {
  const b = new Uint8Array(a.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true);
  return b;
}

function i64Bytes(a: readonly number[]): Uint8Array {
  const b = new Uint8Array(a.length * 8);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < a.length; i++) dv.setBigInt64(8 * i, BigInt(a[i]!), true);
  return b;
}

function tensorProto(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): PbWriter {
  const w = new PbWriter();
  for (const d of dims) w.int(1, d); // dims (unpacked is always valid)
  w.int(2, dataType);
  w.string(8, name);
  w.bytes(9, raw);
  return w;
}

type AttrValue = number | string | number[] | string[] | { float: number } | { floats: number[] };

function attribute(name: string, v: AttrValue): PbWriter {
  const w = new PbWriter().string(1, name);
  if (typeof v === 'number') w.int(20, ONNX_ATTR.INT).int(3, v);
  else if (typeof v === 'string') w.int(20, ONNX_ATTR.STRING).bytes(4, enc.encode(v));
  else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) {
      w.int(20, ONNX_ATTR.STRINGS);
      for (const s of v as string[]) w.bytes(9, enc.encode(s));
    } else {
      w.int(20, ONNX_ATTR.INTS);
      for (const x of v as number[]) w.int(8, x);
    }
  } else if ('float' in v) w.int(20, ONNX_ATTR.FLOAT).float(2, v.float);
  else {
    w.int(20, ONNX_ATTR.FLOATS);
    for (const x of v.floats) w.float(7, x);
  }
  return w;
}

function nodeProto(op: string, name: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): PbWriter {
  const w = new PbWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, name);
  w.string(4, op);
  for (const [k, v] of Object.entries(attrs)) w.message(5, attribute(k, v));
  return w;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): PbWriter {
  const shape = new PbWriter();
  for (const d of dims) {
    const dim = new PbWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new PbWriter().int(1, elemType).message(2, shape);
  const type = new PbWriter().message(1, tensorType);
  return new PbWriter().string(1, name).message(2, type);
}

export interface OnnxExportOptions {
  /** Add graph inputs h0 (and c0 for LSTM) [layers·dirs, B, H] and outputs hn (cn), PyTorch's layout. */
  state?: boolean;
  /**
   * Store weight matrices with at most this density as sparse_initializer (COO, int64 linear
   * indices) instead of dense initializers; 0 (default) keeps everything dense.
   */
  sparseMaxDensity?: number;
  /** Extra entries in the sparse-rnn metadata (e.g. vocab). */
  meta?: Record<string, unknown>;
  producerVersion?: string;
  docString?: string;
}

export interface OnnxExportInfo {
  inputs: string[];
  outputs: string[];
  /** Initializers written sparse (name → density). */
  sparse: Map<string, number>;
}

/**
 * Build the ONNX model of a sparse-rnn model. `weights` maps PyTorch parameter names
 * (paramSpecs(config)) to values, masks already applied.
 */
export function exportOnnx(config: ModelConfig, weights: Map<string, Float32Array>, opts: OnnxExportOptions = {}):
  { bytes: Uint8Array<ArrayBuffer>; info: OnnxExportInfo } {
  const c = config;
  const D = c.bidirectional ? 2 : 1, H = c.hiddenSize, G = gateCount(c.cell), L = c.numLayers;
  const W = D * H;
  const get = (n: string, size: number): Float32Array => {
    const t = weights.get(n);
    if (!t) throw new Error(`exportOnnx: missing weight ${n}`);
    if (t.length !== size) throw new Error(`exportOnnx: ${n} has ${t.length} values, expected ${size}`);
    return t;
  };
  const graph = new PbWriter();
  const nodes: PbWriter[] = [];
  const inits: PbWriter[] = [];
  const sparseInits: PbWriter[] = [];
  const info: OnnxExportInfo = { inputs: [], outputs: [], sparse: new Map() };
  const maxDensity = opts.sparseMaxDensity ?? 0;

  const floatInit = (name: string, dims: number[], data: Float32Array, allowSparse = false): void => {
    if (allowSparse && maxDensity > 0 && data.length > 0) {
      let nnz = 0;
      for (let i = 0; i < data.length; i++) if (data[i] !== 0) nnz++;
      const density = nnz / data.length;
      if (density <= maxDensity) {
        const vals = new Float32Array(nnz), idx: number[] = new Array<number>(nnz);
        for (let i = 0, k = 0; i < data.length; i++) if (data[i] !== 0) { vals[k] = data[i]!; idx[k++] = i; }
        const sp = new PbWriter()
          .message(1, tensorProto(name, ONNX_DTYPE.FLOAT, [nnz], f32Bytes(vals)))
          .message(2, tensorProto(`${name}.indices`, ONNX_DTYPE.INT64, [nnz], i64Bytes(idx)));
        for (const d of dims) sp.int(3, d);
        sparseInits.push(sp);
        info.sparse.set(name, density);
        return;
      }
    }
    inits.push(tensorProto(name, ONNX_DTYPE.FLOAT, dims, f32Bytes(data)));
  };
  const intInit = (name: string, vals: number[]): void => {
    inits.push(tensorProto(name, ONNX_DTYPE.INT64, [vals.length], i64Bytes(vals)));
  };
  let nodeNo = 0;
  const node = (op: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>): void => {
    nodes.push(nodeProto(op, `${op}_${nodeNo++}`, inputs, outputs, attrs));
  };

  // Inputs.
  const inputsVI: PbWriter[] = [];
  let x: string;
  if (c.vocabSize) {
    inputsVI.push(valueInfo('ids', ONNX_DTYPE.INT64, ['T', 'B']));
    info.inputs.push('ids');
    floatInit('embedding.weight', [c.vocabSize, c.inputSize], get('embedding.weight', c.vocabSize * c.inputSize), true);
    node('Gather', ['embedding.weight', 'ids'], ['embedded'], { axis: 0 });
    x = 'embedded';
  } else {
    inputsVI.push(valueInfo('x', ONNX_DTYPE.FLOAT, ['T', 'B', c.inputSize]));
    info.inputs.push('x');
    x = 'x';
  }
  const lstm = c.cell === 'lstm';
  if (opts.state) {
    inputsVI.push(valueInfo('h0', ONNX_DTYPE.FLOAT, [L * D, 'B', H]));
    info.inputs.push('h0');
    if (lstm) {
      inputsVI.push(valueInfo('c0', ONNX_DTYPE.FLOAT, [L * D, 'B', H]));
      info.inputs.push('c0');
    }
    if (L > 1) intInit('state.axes', [0]);
  }

  // Recurrent layers.
  const op = c.cell === 'gru' ? 'GRU' : lstm ? 'LSTM' : 'RNN';
  const perm = onnxGatePerm(c.cell);
  const hn: string[] = [], cn: string[] = [];
  intInit('stack.shape', [0, 0, -1]);
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? c.inputSize : W;
    const Wt = new Float32Array(D * G * H * I), Rt = new Float32Array(D * G * H * H), Bt = new Float32Array(D * 2 * G * H);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      const wih = get(`rnn.weight_ih${sfx}`, G * H * I), whh = get(`rnn.weight_hh${sfx}`, G * H * H);
      const bih = get(`rnn.bias_ih${sfx}`, G * H), bhh = get(`rnn.bias_hh${sfx}`, G * H);
      for (let j = 0; j < G; j++) {
        const s = perm[j]!;
        Wt.set(wih.subarray(s * H * I, (s + 1) * H * I), (d * G + j) * H * I);
        Rt.set(whh.subarray(s * H * H, (s + 1) * H * H), (d * G + j) * H * H);
        Bt.set(bih.subarray(s * H, (s + 1) * H), d * 2 * G * H + j * H);
        Bt.set(bhh.subarray(s * H, (s + 1) * H), d * 2 * G * H + (G + j) * H);
      }
    }
    const p = `rnn.l${l}`;
    floatInit(`${p}.W`, [D, G * H, I], Wt, true);
    floatInit(`${p}.R`, [D, G * H, H], Rt, true);
    floatInit(`${p}.B`, [D, 2 * G * H], Bt);
    const ins = [x, `${p}.W`, `${p}.R`, `${p}.B`];
    if (opts.state) {
      let h0 = 'h0', c0 = 'c0';
      if (L > 1) {
        intInit(`${p}.state.starts`, [l * D]);
        intInit(`${p}.state.ends`, [(l + 1) * D]);
        h0 = `${p}.h0`;
        node('Slice', ['h0', `${p}.state.starts`, `${p}.state.ends`, 'state.axes'], [h0]);
        if (lstm) {
          c0 = `${p}.c0`;
          node('Slice', ['c0', `${p}.state.starts`, `${p}.state.ends`, 'state.axes'], [c0]);
        }
      }
      ins.push('', h0);
      if (lstm) ins.push(c0);
    }
    const outs = [`${p}.Y`];
    if (opts.state) {
      const yh = L === 1 ? 'hn' : `${p}.Y_h`;
      outs.push(yh);
      hn.push(yh);
      if (lstm) {
        const yc = L === 1 ? 'cn' : `${p}.Y_c`;
        outs.push(yc);
        cn.push(yc);
      }
    }
    const attrs: Record<string, AttrValue> = { hidden_size: H };
    if (D === 2) attrs.direction = 'bidirectional';
    if (c.cell === 'gru') attrs.linear_before_reset = 1;
    if (c.cell === 'rnn_tanh') attrs.activations = Array<string>(D).fill('Tanh');
    if (c.cell === 'rnn_relu' || c.cell === 'rnn_clipped') attrs.activations = Array<string>(D).fill('Relu');
    if (c.cell === 'rnn_clipped') attrs.clip = { float: 20 };
    node(op, ins, outs, attrs);
    const last = l === L - 1 && !c.outputSize;
    node('Transpose', [`${p}.Y`], [`${p}.Yt`], { perm: [0, 2, 1, 3] });
    node('Reshape', [`${p}.Yt`, 'stack.shape'], [last ? 'y' : `${p}.out`]);
    x = `${p}.out`;
  }
  if (opts.state && L > 1) {
    node('Concat', hn, ['hn'], { axis: 0 });
    if (lstm) node('Concat', cn, ['cn'], { axis: 0 });
  }

  // Head.
  const outputsVI: PbWriter[] = [];
  if (c.outputSize) {
    const O = c.outputSize, fw = get('fc.weight', O * W), fb = get('fc.bias', O);
    const wt = new Float32Array(W * O);
    for (let o = 0; o < O; o++) for (let i = 0; i < W; i++) wt[i * O + o] = fw[o * W + i]!;
    floatInit('fc.weight_T', [W, O], wt, true);
    floatInit('fc.bias', [O], fb);
    node('MatMul', [x, 'fc.weight_T'], ['fc.out']);
    node('Add', ['fc.out', 'fc.bias'], ['logits']);
    outputsVI.push(valueInfo('logits', ONNX_DTYPE.FLOAT, ['T', 'B', O]));
    info.outputs.push('logits');
  } else {
    outputsVI.push(valueInfo('y', ONNX_DTYPE.FLOAT, ['T', 'B', W]));
    info.outputs.push('y');
  }
  if (opts.state) {
    outputsVI.push(valueInfo('hn', ONNX_DTYPE.FLOAT, [L * D, 'B', H]));
    info.outputs.push('hn');
    if (lstm) {
      outputsVI.push(valueInfo('cn', ONNX_DTYPE.FLOAT, [L * D, 'B', H]));
      info.outputs.push('cn');
    }
  }

  for (const n of nodes) graph.message(1, n);
  graph.string(2, 'sparse-rnn');
  for (const t of inits) graph.message(5, t);
  if (opts.docString) graph.string(10, opts.docString);
  for (const v of inputsVI) graph.message(11, v);
  for (const v of outputsVI) graph.message(12, v);
  for (const s of sparseInits) graph.message(15, s);

  const model = new PbWriter();
  model.int(1, ONNX_IR_VERSION);
  model.string(2, 'sparse-rnn');
  if (opts.producerVersion) model.string(3, opts.producerVersion);
  model.message(7, graph);
  model.message(8, new PbWriter().string(1, '').int(2, ONNX_OPSET));
  const meta = { format: 'sparse-rnn-onnx', version: 1, config, inputs: info.inputs, outputs: info.outputs, ...opts.meta };
  model.message(14, new PbWriter().string(1, ONNX_META_KEY).string(2, JSON.stringify(meta)));
  return { bytes: model.finish(), info };
}

// ---------------------------------------------------------------------------------------------
// Reader

const DTYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k]));
export function onnxDtypeName(t: number): string {
  return DTYPE_NAMES[t] ?? `data type ${t}`;
}

/** Decode an ONNX ModelProto. Throws FormatError naming the message path on malformed input. */
export function parseOnnx(bytes: Uint8Array, file = '<bytes>'): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new FormatError(file, '', 'expected a Uint8Array');
  if (bytes.length === 0) throw new FormatError(file, '', 'empty file');
  const r = new PbReader(bytes, file);
  const m: OnnxModel = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], metadata: {}, graph: null as unknown as OnnxGraph };
  let haveGraph = false;
  for (const f of r.fields(0, bytes.length, 'ModelProto')) {
    switch (f.no) {
      case 1: m.irVersion = r.int(f, 'ModelProto.ir_version'); break;
      case 2: m.producerName = r.string(f, 'ModelProto.producer_name'); break;
      case 3: m.producerVersion = r.string(f, 'ModelProto.producer_version'); break;
      case 7:
        r.expectWire(f, 2, 'ModelProto.graph');
        if (haveGraph) r.fail('ModelProto.graph', 'appears twice');
        m.graph = parseGraph(r, f, 'graph');
        haveGraph = true;
        break;
      case 8: {
        r.expectWire(f, 2, 'ModelProto.opset_import');
        const o = { domain: '', version: 0 };
        for (const g of r.fields(f.start, f.end, 'opset_import')) {
          if (g.no === 1) o.domain = r.string(g, 'opset_import.domain');
          else if (g.no === 2) o.version = r.int(g, 'opset_import.version');
        }
        m.opsets.push(o);
        break;
      }
      case 14: {
        r.expectWire(f, 2, 'ModelProto.metadata_props');
        let k = '', v = '';
        for (const g of r.fields(f.start, f.end, 'metadata_props')) {
          if (g.no === 1) k = r.string(g, 'metadata_props.key');
          else if (g.no === 2) v = r.string(g, 'metadata_props.value');
        }
        m.metadata[k] = v;
        break;
      }
      default:
        break; // doc_string, domain, model_version, training_info, functions: not needed
    }
  }
  if (!haveGraph) r.fail('ModelProto', 'no graph (field 7): not an ONNX model');
  return m;
}

function parseGraph(r: PbReader, f: PbField, where: string): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  const addInit = (t: OnnxTensor, w: string): void => {
    if (g.initializers.has(t.name)) r.fail(w, `initializer ${JSON.stringify(t.name)} appears twice`);
    g.initializers.set(t.name, t);
  };
  for (const h of r.fields(f.start, f.end, where)) {
    const w = `${where}.${h.no}`;
    switch (h.no) {
      case 1: r.expectWire(h, 2, w); g.nodes.push(parseNode(r, h, `${where}.node[${g.nodes.length}]`)); break;
      case 2: g.name = r.string(h, `${where}.name`); break;
      case 5: r.expectWire(h, 2, w); addInit(parseTensor(r, h, `${where}.initializer[${g.initializers.size}]`), w); break;
      case 11: r.expectWire(h, 2, w); g.inputs.push(parseValueInfo(r, h, `${where}.input[${g.inputs.length}]`)); break;
      case 12: r.expectWire(h, 2, w); g.outputs.push(parseValueInfo(r, h, `${where}.output[${g.outputs.length}]`)); break;
      case 15: r.expectWire(h, 2, w); addInit(parseSparseTensor(r, h, `${where}.sparse_initializer`), w); break;
      default: break;
    }
  }
  return g;
}

function parseNode(r: PbReader, f: PbField, where: string): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  for (const h of r.fields(f.start, f.end, where)) {
    switch (h.no) {
      case 1: n.inputs.push(r.string(h, `${where}.input`)); break;
      case 2: n.outputs.push(r.string(h, `${where}.output`)); break;
      case 3: n.name = r.string(h, `${where}.name`); break;
      case 4: n.opType = r.string(h, `${where}.op_type`); break;
      case 7: n.domain = r.string(h, `${where}.domain`); break;
      case 5: {
        r.expectWire(h, 2, `${where}.attribute`);
        const a = parseAttribute(r, h, `${where}.attribute`);
        n.attributes.set(a.name, a);
        break;
      }
      default: break;
    }
  }
  return n;
}

function parseAttribute(r: PbReader, f: PbField, where: string): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0 };
  for (const h of r.fields(f.start, f.end, where)) {
    const w = `${where}.${h.no}`;
    switch (h.no) {
      case 1: a.name = r.string(h, `${where}.name`); break;
      case 20: a.type = r.int(h, `${where}.type`); break;
      case 2: a.f = r.float32(h, w); break;
      case 3: a.i = r.int(h, w); break;
      case 4: a.s = r.string(h, w); break;
      case 5: r.expectWire(h, 2, w); a.t = parseTensor(r, h, `${where}.t`); break;
      case 7: r.floats(h, w, (a.floats ??= [])); break;
      case 8: r.ints(h, w, (a.ints ??= [])); break;
      case 9: (a.strings ??= []).push(r.string(h, w)); break;
      default: break; // graphs, sparse tensors, type protos: not needed by the importer
    }
  }
  return a;
}

function parseValueInfo(r: PbReader, f: PbField, where: string): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0, shape: null };
  for (const h of r.fields(f.start, f.end, where)) {
    if (h.no === 1) v.name = r.string(h, `${where}.name`);
    else if (h.no === 2) {
      r.expectWire(h, 2, `${where}.type`);
      for (const t of r.fields(h.start, h.end, `${where}.type`)) {
        if (t.no !== 1) continue; // sequence/map/optional types: not used here
        r.expectWire(t, 2, `${where}.type.tensor_type`);
        for (const u of r.fields(t.start, t.end, `${where}.type.tensor_type`)) {
          if (u.no === 1) v.elemType = r.int(u, `${where}.elem_type`);
          else if (u.no === 2) {
            r.expectWire(u, 2, `${where}.shape`);
            v.shape = [];
            for (const d of r.fields(u.start, u.end, `${where}.shape`)) {
              if (d.no !== 1) continue;
              r.expectWire(d, 2, `${where}.shape.dim`);
              let dim: number | string | null = null;
              for (const e of r.fields(d.start, d.end, `${where}.shape.dim`)) {
                if (e.no === 1) dim = r.int(e, `${where}.shape.dim_value`);
                else if (e.no === 2) dim = r.string(e, `${where}.shape.dim_param`);
              }
              v.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return v;
}

function parseTensor(r: PbReader, f: PbField, where: string): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0, name = '', raw: PbField | null = null, external = false;
  const floatData: number[] = [], intData: number[] = [], doubleData: number[] = [];
  let haveFloat = false, haveInt32 = false, haveInt64 = false, haveDouble = false, haveString = false, haveUint64 = false;
  for (const h of r.fields(f.start, f.end, where)) {
    const w = `${where}.${h.no}`;
    switch (h.no) {
      case 1: r.ints(h, `${where}.dims`, dims); break;
      case 2: dataType = r.int(h, `${where}.data_type`); break;
      case 3: r.fail(`${where}.segment`, 'segmented tensors are not supported'); break;
      case 4: haveFloat = true; r.floats(h, w, floatData); break;
      case 5: haveInt32 = true; r.ints(h, w, intData); break;
      case 6: haveString = true; break;
      case 7: haveInt64 = true; r.ints(h, w, intData); break;
      case 8: name = r.string(h, `${where}.name`); break;
      case 9: r.expectWire(h, 2, `${where}.raw_data`); raw = h; break;
      case 10: haveDouble = true; r.doubles(h, w, doubleData); break;
      case 11: haveUint64 = true; r.ints(h, w, intData); break;
      case 14: external = r.int(h, `${where}.data_location`) === 1; break;
      default: break;
    }
  }
  const at = name ? `${where} ${JSON.stringify(name)}` : where;
  const count = checkShape(dims, r.file, at);
  const t: OnnxTensor = { name, dataType, dims, data: null };
  if (external) {
    t.undecoded = 'stored as external data (not inside the .onnx file)';
    return t;
  }
  const size: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };
  const bytesPer = size[dataType];
  if (bytesPer === undefined) {
    t.undecoded = `${onnxDtypeName(dataType)} tensors are not supported`;
    if (haveString && dataType !== ONNX_DTYPE.STRING) r.fail(at, 'string_data in a non-string tensor');
    return t;
  }
  if (raw) {
    const n = raw.end - raw.start;
    if (n !== count * bytesPer) r.fail(at, `raw_data is ${n} bytes, shape [${dims}] of ${onnxDtypeName(dataType)} needs ${count * bytesPer}`);
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset + raw.start, n);
    const isFloat = dataType === 1 || dataType === 10 || dataType === 11 || dataType === 16;
    const out = isFloat ? new Float32Array(count) : new Float64Array(count);
    for (let i = 0; i < count; i++) {
      switch (dataType) {
        case 1: out[i] = dv.getFloat32(4 * i, true); break;
        case 11: out[i] = dv.getFloat64(8 * i, true); break;
        case 10: out[i] = halfToFloat(dv.getUint16(2 * i, true)); break;
        case 16: out[i] = bf16ToFloat(dv.getUint16(2 * i, true)); break;
        case 2: case 9: out[i] = dv.getUint8(i); break;
        case 3: out[i] = dv.getInt8(i); break;
        case 4: out[i] = dv.getUint16(2 * i, true); break;
        case 5: out[i] = dv.getInt16(2 * i, true); break;
        case 6: out[i] = dv.getInt32(4 * i, true); break;
        case 12: out[i] = dv.getUint32(4 * i, true); break;
        case 7: case 13: {
          const v = dataType === 7 ? dv.getBigInt64(8 * i, true) : dv.getBigUint64(8 * i, true);
          if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
            r.fail(at, `integer ${v} at index ${i} is out of the supported range (±2^53)`);
          out[i] = Number(v);
          break;
        }
      }
    }
    t.data = out;
    return t;
  }
  // Typed fields: which one holds the data depends on the type (onnx.proto's comments).
  let src: number[] | null = null, ok = false;
  if (dataType === 1) { src = floatData; ok = haveFloat || count === 0; }
  else if (dataType === 11) { src = doubleData; ok = haveDouble || count === 0; }
  else if (dataType === 7) { src = intData; ok = haveInt64 || count === 0; }
  else if (dataType === 12 || dataType === 13) { src = intData; ok = haveUint64 || count === 0; }
  else { src = intData; ok = haveInt32 || count === 0; } // int32, int16, int8, uint16, uint8, bool, float16, bfloat16
  if (!ok) r.fail(at, `${onnxDtypeName(dataType)} tensor of shape [${dims}] has no data`);
  if (src.length !== count) r.fail(at, `has ${src.length} values, shape [${dims}] needs ${count}`);
  if (dataType === 1 || dataType === 11) t.data = Float32Array.from(src);
  else if (dataType === 10) t.data = Float32Array.from(src, (v) => halfToFloat(v & 0xffff));
  else if (dataType === 16) t.data = Float32Array.from(src, (v) => bf16ToFloat(v & 0xffff));
  else t.data = Float64Array.from(src);
  return t;
}

function parseSparseTensor(r: PbReader, f: PbField, where: string): OnnxTensor {
  let values: OnnxTensor | null = null, indices: OnnxTensor | null = null;
  const dims: number[] = [];
  for (const h of r.fields(f.start, f.end, where)) {
    if (h.no === 1) { r.expectWire(h, 2, `${where}.values`); values = parseTensor(r, h, `${where}.values`); }
    else if (h.no === 2) { r.expectWire(h, 2, `${where}.indices`); indices = parseTensor(r, h, `${where}.indices`); }
    else if (h.no === 3) r.ints(h, `${where}.dims`, dims);
  }
  if (!values || !indices) r.fail(where, 'missing values or indices');
  const at = `${where} ${JSON.stringify(values.name)}`;
  const count = checkShape(dims, r.file, at);
  if (!values.data || !indices.data) r.fail(at, `values/indices not decodable (${values.undecoded ?? indices.undecoded})`);
  if (values.dims.length !== 1) r.fail(at, `values must be 1-D, found shape [${values.dims}]`);
  const nnz = values.dims[0]!;
  if (!(values.data instanceof Float32Array)) r.fail(at, `values are ${onnxDtypeName(values.dataType)}, only float sparse tensors are supported`);
  const linear = indices.dims.length === 1;
  if (!(linear ? indices.dims[0] === nnz : indices.dims.length === 2 && indices.dims[0] === nnz && indices.dims[1] === dims.length))
    r.fail(at, `indices shape [${indices.dims}] does not fit ${nnz} values of a rank-${dims.length} tensor`);
  if (count > 2 ** 28) r.fail(at, `dense size ${count} is too large to expand`);
  const out = new Float32Array(count);
  const idx = indices.data;
  for (let k = 0; k < nnz; k++) {
    let p = 0;
    if (linear) p = idx[k]!;
    else for (let j = 0; j < dims.length; j++) {
      const v = idx[k * dims.length + j]!;
      if (!(v >= 0 && v < dims[j]!)) r.fail(at, `index ${v} of value ${k} is outside dimension ${j} (size ${dims[j]})`);
      p = p * dims[j]! + v;
    }
    if (!(p >= 0 && p < count)) r.fail(at, `index ${p} of value ${k} is outside the tensor (${count} elements)`);
    out[p] = values.data[k]!;
  }
  return { name: values.name, dataType: ONNX_DTYPE.FLOAT, dims, data: out };
}

// ---------------------------------------------------------------------------------------------
// Import: an ONNX model → sparse-rnn config + PyTorch-named weights

export interface OnnxImport {
  config: ModelConfig;
  /** PyTorch names (paramSpecs(config)) → values. */
  weights: Map<string, Float32Array>;
  /** From the sparse-rnn metadata, when the file was written by sparse-rnn. */
  vocab?: string[];
  /** What was recognised, for the user (one line each). */
  notes: string[];
}

const RECURRENT_OPS = new Set(['GRU', 'LSTM', 'RNN']);

/**
 * Recognise [Gather] → GRU/LSTM/RNN layers → [MatMul + Add | Gemm] in a decoded ONNX model and
 * return the sparse-rnn architecture and weights. Throws Error with the node / tensor named when
 * the model uses something sparse-rnn does not implement.
 */
export function importOnnx(m: OnnxModel, file = '<onnx>'): OnnxImport {
  const g = m.graph;
  const notes: string[] = [];
  const fail: (msg: string) => never = (msg) => {
    throw new Error(`${file}: ${msg}`);
  };
  // Constants: initializers, Constant nodes, and Identity of either.
  const consts = new Map(g.initializers);
  for (const n of g.nodes) {
    if (n.opType === 'Constant' && n.outputs[0] && n.attributes.get('value')?.t) {
      const t = n.attributes.get('value')!.t!;
      consts.set(n.outputs[0], { ...t, name: n.outputs[0] });
    } else if (n.opType === 'Identity' && n.inputs[0] && n.outputs[0] && consts.has(n.inputs[0])) {
      consts.set(n.outputs[0], consts.get(n.inputs[0])!);
    }
  }
  const tensor = (name: string | undefined, what: string, node: OnnxNode): OnnxTensor | null => {
    if (!name) return null;
    const t = consts.get(name);
    if (!t) fail(`${what} of ${node.opType} node ${JSON.stringify(node.name)} (${JSON.stringify(name)}) is not an initializer or Constant; computed weights are not supported`);
    if (!t.data) fail(`tensor ${JSON.stringify(name)}: ${t.undecoded}`);
    return t;
  };
  const floats = (t: OnnxTensor): Float32Array => {
    if (!(t.data instanceof Float32Array)) fail(`tensor ${JSON.stringify(t.name)} is ${onnxDtypeName(t.dataType)}, expected floats`);
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i])) fail(`tensor ${JSON.stringify(t.name)}: expected finite values, found ${t.data[i]} at index ${i}`);
    return t.data as Float32Array;
  };
  const shapeIs = (t: OnnxTensor, want: number[], what: string): void => {
    if (t.dims.join(',') !== want.join(',')) fail(`${what} ${JSON.stringify(t.name)} has shape [${t.dims}], expected [${want}]`);
  };

  const rec = g.nodes.filter((n) => RECURRENT_OPS.has(n.opType) && (n.domain === '' || n.domain === 'ai.onnx'));
  if (!rec.length) {
    const ops = [...new Set(g.nodes.map((n) => n.opType))].join(', ');
    fail(`no GRU, LSTM or RNN node in the graph (ops: ${ops || 'none'}); sparse-rnn imports ONNX recurrent operators only (a Loop/Scan-unrolled graph cannot be mapped)`);
  }
  const op = rec[0]!.opType;
  const bad = rec.find((n) => n.opType !== op);
  if (bad) fail(`mixes ${op} and ${bad.opType} layers; a sparse-rnn model has one cell type`);

  let cell: CellType | null = null, H = 0, D = 0, inputSize = 0;
  const weights = new Map<string, Float32Array>();
  rec.forEach((n, l) => {
    const where = `${n.opType} node ${JSON.stringify(n.name || `#${l}`)}`;
    const attr = (k: string) => n.attributes.get(k);
    for (const k of n.attributes.keys())
      if (!['hidden_size', 'direction', 'activations', 'clip', 'linear_before_reset', 'input_forget', 'layout', 'activation_alpha', 'activation_beta'].includes(k))
        fail(`${where}: unknown attribute ${JSON.stringify(k)}`);
    if ((attr('layout')?.i ?? 0) !== 0) fail(`${where}: layout=1 (batch-major) is not supported; export with layout 0`);
    if (attr('activation_alpha') || attr('activation_beta')) fail(`${where}: activation_alpha/beta are not supported`);
    const dir = attr('direction')?.s ?? 'forward';
    if (dir !== 'forward' && dir !== 'bidirectional') fail(`${where}: direction ${JSON.stringify(dir)} is not supported (forward or bidirectional)`);
    const d = dir === 'bidirectional' ? 2 : 1;
    const acts = attr('activations')?.strings?.map((s) => s.toLowerCase());
    const clip = attr('clip')?.f;
    const actsAre = (per: string[]): boolean =>
      !acts || ((acts.length === per.length * d || acts.length === per.length) && acts.every((a, i) => a === per[i % per.length]));
    let c: CellType;
    if (n.opType === 'GRU') {
      if ((attr('linear_before_reset')?.i ?? 0) !== 1)
        fail(`${where}: linear_before_reset=0 (the ONNX default, as Keras/TensorFlow export) is a different GRU from PyTorch's; sparse-rnn implements the PyTorch/cuDNN form (linear_before_reset=1)`);
      if (!actsAre(['sigmoid', 'tanh'])) fail(`${where}: activations ${JSON.stringify(acts)} are not supported (Sigmoid, Tanh)`);
      if (clip !== undefined) fail(`${where}: clip is not supported for GRU`);
      c = 'gru';
    } else if (n.opType === 'LSTM') {
      if (!actsAre(['sigmoid', 'tanh', 'tanh'])) fail(`${where}: activations ${JSON.stringify(acts)} are not supported (Sigmoid, Tanh, Tanh)`);
      if (clip !== undefined) fail(`${where}: clip is not supported for LSTM`);
      if ((attr('input_forget')?.i ?? 0) !== 0) fail(`${where}: input_forget=1 (coupled gates) is not supported`);
      c = 'lstm';
    } else {
      if (actsAre(['tanh'])) {
        if (clip !== undefined) fail(`${where}: clip with Tanh is not supported`);
        c = 'rnn_tanh';
      } else if (actsAre(['relu'])) {
        if (clip === undefined) c = 'rnn_relu';
        else if (clip === 20) c = 'rnn_clipped';
        else fail(`${where}: Relu with clip=${clip} is not supported (only clip=20, sparse-rnn's clipped ReLU)`);
      } else fail(`${where}: activations ${JSON.stringify(acts)} are not supported (Tanh or Relu)`);
    }
    const G = gateCount(c);
    const Wt = tensor(n.inputs[1], 'W', n)!, Rt = tensor(n.inputs[2], 'R', n);
    if (!Rt) fail(`${where}: missing input R`);
    const Bt = tensor(n.inputs[3], 'B', n);
    if (n.inputs[4]) fail(`${where}: sequence_lens is not supported (variable-length batches)`);
    for (const [k, what] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
      const s = consts.get(n.inputs[k] ?? '');
      if (s?.data?.some((v) => v !== 0)) notes.push(`${where}: constant non-zero ${what} ignored (a checkpoint holds weights only; pass states at run time)`);
    }
    if (n.opType === 'LSTM' && n.inputs[7]) {
      const P = floats(tensor(n.inputs[7], 'P', n)!);
      if (P.some((v) => v !== 0)) fail(`${where}: peephole weights P are not supported`);
    }
    if (Wt.dims.length !== 3 || Rt!.dims.length !== 3) fail(`${where}: W/R must be 3-D, found [${Wt.dims}] and [${Rt!.dims}]`);
    const h = Rt!.dims[2]!;
    const hs = attr('hidden_size')?.i;
    if (hs !== undefined && hs !== h) fail(`${where}: hidden_size=${hs} but R has shape [${Rt!.dims}]`);
    const I = Wt.dims[2]!;
    shapeIs(Wt, [d, G * h, I], `${where}: W`);
    shapeIs(Rt!, [d, G * h, h], `${where}: R`);
    if (Bt) shapeIs(Bt, [d, 2 * G * h], `${where}: B`);
    if (l === 0) {
      cell = c; H = h; D = d; inputSize = I;
    } else {
      if (c !== cell) fail(`${where}: layer ${l} is ${c}, layer 0 is ${cell}`);
      if (h !== H || d !== D) fail(`${where}: layer ${l} has hidden ${h} × ${d} directions, layer 0 ${H} × ${D}`);
      if (I !== D * H) fail(`${where}: layer ${l} input size ${I}, expected ${D * H} (the previous layer's output)`);
    }
    const W = floats(Wt), R = floats(Rt!), B = Bt ? floats(Bt) : new Float32Array(d * 2 * G * h);
    const perm = onnxGatePerm(c);
    for (let k = 0; k < d; k++) {
      const wih = new Float32Array(G * h * I), whh = new Float32Array(G * h * h), bih = new Float32Array(G * h), bhh = new Float32Array(G * h);
      for (let j = 0; j < G; j++) {
        const s = perm[j]!;
        wih.set(W.subarray((k * G + j) * h * I, (k * G + j + 1) * h * I), s * h * I);
        whh.set(R.subarray((k * G + j) * h * h, (k * G + j + 1) * h * h), s * h * h);
        bih.set(B.subarray(k * 2 * G * h + j * h, k * 2 * G * h + (j + 1) * h), s * h);
        bhh.set(B.subarray(k * 2 * G * h + (G + j) * h, k * 2 * G * h + (G + j + 1) * h), s * h);
      }
      const sfx = `_l${l}${k ? '_reverse' : ''}`;
      weights.set(`rnn.weight_ih${sfx}`, wih);
      weights.set(`rnn.weight_hh${sfx}`, whh);
      weights.set(`rnn.bias_ih${sfx}`, bih);
      weights.set(`rnn.bias_hh${sfx}`, bhh);
    }
  });
  notes.push(`${rec.length} ${op} layer(s), hidden ${H}, ${D === 2 ? 'bidirectional' : 'forward'}, cell ${cell}`);

  // Embedding: a Gather on axis 0 from a 2-D float constant, before the first recurrent layer.
  const firstRec = g.nodes.indexOf(rec[0]!), lastRec = g.nodes.indexOf(rec[rec.length - 1]!);
  let vocabSize: number | undefined;
  for (const n of g.nodes.slice(0, firstRec)) {
    if (n.opType !== 'Gather' || (n.attributes.get('axis')?.i ?? 0) !== 0) continue;
    const t = consts.get(n.inputs[0] ?? '');
    if (t?.dims.length !== 2 || !(t.data instanceof Float32Array)) continue;
    if (t.dims[1] !== inputSize) fail(`embedding ${JSON.stringify(t.name)} has shape [${t.dims}], the first layer expects ${inputSize} features`);
    vocabSize = t.dims[0]!;
    weights.set('embedding.weight', floats(t));
    notes.push(`embedding ${JSON.stringify(t.name)} [${t.dims}] (Gather)`);
    break;
  }
  // Head: MatMul(·, [D·H, O]) [+ Add(bias [O])], or Gemm, after the last recurrent layer.
  let outputSize = 0;
  const after = g.nodes.slice(lastRec + 1);
  for (const n of after) {
    if (n.opType === 'MatMul') {
      const t = consts.get(n.inputs[1] ?? '');
      if (t?.dims.length !== 2 || t.dims[0] !== D * H || !(t.data instanceof Float32Array)) continue;
      const O = t.dims[1]!, wt = floats(t), fw = new Float32Array(O * D * H);
      for (let i = 0; i < D * H; i++) for (let o = 0; o < O; o++) fw[o * D * H + i] = wt[i * O + o]!;
      let bias = new Float32Array(O), biasName = '';
      const add = after.find((a) => a.opType === 'Add' && a.inputs.includes(n.outputs[0]!));
      if (add) {
        const b = consts.get(add.inputs.find((x) => x !== n.outputs[0]) ?? '');
        if (b && b.data instanceof Float32Array && b.data.length === O) { bias = Float32Array.from(floats(b)); biasName = b.name; }
      }
      weights.set('fc.weight', fw);
      weights.set('fc.bias', bias);
      outputSize = O;
      notes.push(`head MatMul ${JSON.stringify(t.name)} [${t.dims}]${biasName ? ` + Add ${JSON.stringify(biasName)}` : ' (no bias)'}`);
      break;
    }
    if (n.opType === 'Gemm') {
      const t = consts.get(n.inputs[1] ?? '');
      if (t?.dims.length !== 2 || !(t.data instanceof Float32Array)) continue;
      const a = (k: string, dflt: number) => n.attributes.get(k)?.i ?? n.attributes.get(k)?.f ?? dflt;
      if (a('transA', 0) !== 0 || a('alpha', 1) !== 1 || a('beta', 1) !== 1) fail(`Gemm node ${JSON.stringify(n.name)}: only transA=0, alpha=beta=1 are supported`);
      const transB = a('transB', 0) === 1;
      const O = transB ? t.dims[0]! : t.dims[1]!, K = transB ? t.dims[1]! : t.dims[0]!;
      if (K !== D * H) continue;
      const wt = floats(t);
      let fw: Float32Array;
      if (transB) fw = Float32Array.from(wt);
      else {
        fw = new Float32Array(O * K);
        for (let i = 0; i < K; i++) for (let o = 0; o < O; o++) fw[o * K + i] = wt[i * O + o]!;
      }
      const b = n.inputs[2] ? consts.get(n.inputs[2]) : undefined;
      const bias = b && b.data instanceof Float32Array && b.data.length === O ? floats(b) : new Float32Array(O);
      weights.set('fc.weight', fw);
      weights.set('fc.bias', bias);
      outputSize = O;
      notes.push(`head Gemm ${JSON.stringify(t.name)} [${t.dims}]`);
      break;
    }
  }

  const config: ModelConfig = {
    cell: cell!, inputSize, hiddenSize: H, numLayers: rec.length, bidirectional: D === 2, outputSize,
    ...(vocabSize ? { vocabSize } : {}),
  };
  let vocab: string[] | undefined;
  const raw = m.metadata[ONNX_META_KEY];
  if (raw !== undefined) {
    try {
      const meta = JSON.parse(raw) as { config?: Partial<ModelConfig>; vocab?: unknown };
      if (Array.isArray(meta.vocab) && meta.vocab.every((s) => typeof s === 'string')) vocab = meta.vocab as string[];
      if (meta.config?.dropout !== undefined && typeof meta.config.dropout === 'number') config.dropout = meta.config.dropout;
      notes.push('sparse-rnn metadata found' + (vocab ? ` (vocabulary of ${vocab.length})` : ''));
    } catch {
      notes.push(`metadata ${JSON.stringify(ONNX_META_KEY)} is not valid JSON; ignored`);
    }
  }
  return { config, weights, vocab, notes };
}

// Robustness: seeded fuzzing of the .srnn reader, the WAV decoder and the ONNX reader/importer
// (every mutated input either loads or throws the reader's typed error, never anything else);
// training that diverges fails clearly and leaves the last good checkpoint intact; Ctrl-C during
// `sparse-rnn train` exits 130 with a checkpoint that --resume completes; recipe and CLI option
// errors name the key; a checkpoint with NaN weights is refused by `eval`, naming the tensor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../src/io/errors.js';
import { exportOnnx, importOnnx, parseOnnx } from '../src/io/onnx.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import type { ModelConfig } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import { readSrnn } from '../src/sparse/format.js';
import { SrnnFormatError } from '../src/sparse/errors.js';
import { exportModel } from '../src/sparse/export.js';
import { decodeWav, encodeWav16 } from '../src/data/speech/wav.js';
import { parseRecipe } from '../src/prune/recipe.js';
import { runCharLM, type CharLMRunOptions } from '../src/train/charlm.js';
import { applyCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { Rng, mulberry32 } from '../src/util/rng.js';
import { wordCorpus } from './corpus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-robust-'));

// ---------------------------------------------------------------------------------------------
// Fuzzing

interface FuzzStats { cases: number; accepted: number; ms: number }

/**
 * Mutate the bases `n` times (bit flips, byte sets, truncations, insertions; mostly in the first
 * `headBytes`, where the parsers do their work) and call `load`. `expected(e)` says whether an
 * error is the reader's typed one; anything else fails with the seed, case and mutation log.
 */
function fuzz(what: string, bases: Uint8Array[], n: number, seed: number, headBytes: (b: Uint8Array) => number,
  load: (b: Uint8Array, c: number) => void, expected: (e: unknown) => boolean): FuzzStats {
  const rnd = mulberry32(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const interesting = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x08, 0x0a, 0x12, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30];
  const t0 = process.cpuUsage();
  let accepted = 0;
  for (let c = 0; c < n; c++) {
    const base = bases[c % bases.length]!;
    let b = base.slice();
    const log: string[] = [];
    const steps = 1 + pick(3);
    for (let s = 0; s < steps && b.length; s++) {
      const pos = rnd() < 0.6 ? pick(Math.min(b.length, headBytes(base))) : pick(b.length);
      const op = pick(5);
      if (op === 0) { b[pos] = b[pos]! ^ (1 << pick(8)); log.push(`flip@${pos}`); }
      else if (op === 1) { b[pos] = rnd() < 0.5 ? interesting[pick(interesting.length)]! : pick(256); log.push(`set@${pos}=${b[pos]}`); }
      else if (op === 2) { b = b.slice(0, pick(b.length + 1)); log.push(`trunc@${b.length}`); }
      else if (op === 3) {
        const ins = new Uint8Array(b.length + 1);
        ins.set(b.subarray(0, pos));
        ins[pos] = interesting[pick(interesting.length)]!;
        ins.set(b.subarray(pos), pos + 1);
        b = ins;
        log.push(`insert@${pos}=${ins[pos]}`);
      } else {
        const del = new Uint8Array(b.length - 1);
        del.set(b.subarray(0, pos));
        del.set(b.subarray(pos + 1), pos);
        b = del;
        log.push(`delete@${pos}`);
      }
    }
    try {
      load(b, c);
      accepted++;
    } catch (e) {
      if (!expected(e))
        assert.fail(`${what} fuzz (seed ${seed}) case ${c}, base ${c % bases.length}, mutations [${log.join(' ')}]: ` +
          `${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack?.split('\n').slice(1, 4).join('\n')}`);
    }
  }
  const u = process.cpuUsage(t0);
  return { cases: n, accepted, ms: Math.round((u.user + u.system) / 1000) };
}

function randomModel(cfg: ModelConfig, seed: number, sparsity = 0): Map<string, Float32Array> {
  const m = new RNNModel(cfg, createKernels(new Heap(), 'ts'));
  m.init(seed);
  const rng = new Rng(seed + 1);
  const w = new Map<string, Float32Array>();
  for (const p of m.params) {
    const d = Float32Array.from(p.data);
    if (p.kind !== 'bias') for (let i = 0; i < d.length; i++) if (rng.next() < sparsity) d[i] = 0;
    w.set(p.name, d);
  }
  return w;
}

test('fuzz: .srnn reader (readSrnn) — bit flips and truncations end in success or SrnnFormatError', { timeout: 60_000 }, () => {
  const gru: ModelConfig = { cell: 'gru', inputSize: 6, hiddenSize: 12, numLayers: 2, bidirectional: true, vocabSize: 9, outputSize: 9 };
  const lstm: ModelConfig = { cell: 'lstm', inputSize: 5, hiddenSize: 40, numLayers: 1, bidirectional: false, outputSize: 0 };
  const bases = [
    exportModel(gru, randomModel(gru, 1, 0.9), { values: 'fp32', extra: { vocab: 'abcdefghi'.split('') } }),
    exportModel(gru, randomModel(gru, 2, 0.5), { values: 'fp16', storage: 'csr' }),
    exportModel(lstm, randomModel(lstm, 3, 0.95), { values: 'fp32' }),
    exportModel(gru, randomModel(gru, 4), { values: 'fp32', storage: 'dense' }),
  ];
  for (const b of bases) readSrnn(b); // the bases are valid
  const head = (b: Uint8Array) => 16 + new DataView(b.buffer, b.byteOffset).getUint32(8, true);
  const isSrnn = (e: unknown) => e instanceof SrnnFormatError;
  // With the CRC on, nearly every mutation is caught there; without it the header and the CSR
  // validation are exercised too.
  const a = fuzz('readSrnn', bases, 2000, 101, head, (b) => void readSrnn(b), isSrnn);
  const b = fuzz('readSrnn (verifyCrc: false)', bases, 4000, 202, head, (x) => void readSrnn(x, { verifyCrc: false }), isSrnn);
  console.log(`.srnn fuzz: ${a.cases} cases with CRC (${a.accepted} accepted, ${a.ms} ms CPU), ` +
    `${b.cases} without (${b.accepted} accepted, ${b.ms} ms CPU)`);
  assert.ok(b.accepted > 20 && b.accepted < b.cases - 500, `a mix of accepted and rejected inputs (${b.accepted})`);
});

function wavFloatStereo(n: number, rate: number): Uint8Array {
  const data = 8 * n, out = new Uint8Array(44 + data + 12), dv = new DataView(out.buffer);
  const s = (o: number, t: string) => { for (let i = 0; i < 4; i++) out[o + i] = t.charCodeAt(i); };
  s(0, 'RIFF'); dv.setUint32(4, out.length - 8, true); s(8, 'WAVE');
  s(12, 'fmt '); dv.setUint32(16, 16, true); dv.setUint16(20, 3, true); dv.setUint16(22, 2, true);
  dv.setUint32(24, rate, true); dv.setUint32(28, rate * 8, true); dv.setUint16(32, 8, true); dv.setUint16(34, 32, true);
  s(36, 'data'); dv.setUint32(40, data, true);
  for (let i = 0; i < 2 * n; i++) dv.setFloat32(44 + 4 * i, Math.sin(i / 7) * 0.5, true);
  s(44 + data, 'LIST'); dv.setUint32(48 + data, 4, true); s(52 + data, 'INFO');
  return out;
}

test('fuzz: WAV decoder (decodeWav) — success or FormatError', { timeout: 60_000 }, () => {
  const bases = [
    encodeWav16(Float32Array.from({ length: 400 }, (_, i) => Math.sin(i / 5)), 16000),
    wavFloatStereo(200, 22050),
  ];
  for (const b of bases) decodeWav(b);
  const st = fuzz('decodeWav', bases, 4000, 303, () => 60, (b) => {
    const w = decodeWav(b, 'fuzz.wav');
    assert.ok(w.samples instanceof Float32Array && w.sampleRate > 0, 'decoded WAV has samples and a rate');
  }, (e) => e instanceof FormatError);
  console.log(`WAV fuzz: ${st.cases} cases, ${st.accepted} accepted, ${st.ms} ms CPU`);
  assert.ok(st.accepted > 20 && st.accepted < st.cases - 200, `a mix of accepted and rejected inputs (${st.accepted})`);
});

test('fuzz: ONNX reader (parseOnnx) and importer — FormatError from the reader, a clear Error from the importer', { timeout: 60_000 }, () => {
  const lstm: ModelConfig = { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, vocabSize: 5, outputSize: 5 };
  const rnn: ModelConfig = { cell: 'rnn_clipped', inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, outputSize: 0 };
  const gru: ModelConfig = { cell: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, outputSize: 2 };
  const bases = [
    exportOnnx(lstm, randomModel(lstm, 1), { state: true }).bytes,
    exportOnnx(rnn, randomModel(rnn, 2)).bytes,
    exportOnnx(gru, randomModel(gru, 3, 0.8), { sparseMaxDensity: 0.5, meta: { vocab: ['a', 'b'] } }).bytes,
    new Uint8Array(readFileSync(join(root, 'test/fixtures/onnx/lstm_feat.onnx'))),
  ];
  for (const b of bases) importOnnx(parseOnnx(b));
  let imported = 0;
  const st = fuzz('parseOnnx/importOnnx', bases, 4000, 404, (b) => b.length, (b) => {
    const m = parseOnnx(b, 'fuzz.onnx');
    try {
      importOnnx(m, 'fuzz.onnx');
      imported++;
    } catch (e) {
      // The importer's refusals are plain Errors that name the file; a TypeError/RangeError is a bug.
      if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('fuzz.onnx: ')) throw e;
    }
  }, (e) => e instanceof FormatError || (e instanceof Error && e.constructor === Error && e.message.startsWith('fuzz.onnx: ')));
  console.log(`ONNX fuzz: ${st.cases} cases, ${st.accepted} parsed, ${imported} imported, ${st.ms} ms CPU`);
  assert.ok(imported > 20 && st.accepted < st.cases - 200, `a mix of accepted and rejected inputs (${st.accepted} parsed, ${imported} imported)`);
});

// ---------------------------------------------------------------------------------------------
// Training failures and interruption

const corpusFile = (): string => wordCorpus(tmp, { markov: false });

function options(name: string, over: Partial<CharLMRunOptions> = {}): CharLMRunOptions {
  return {
    corpus: corpusFile(), cell: 'gru', layers: 1, hidden: 16, embed: 8, dropout: 0,
    train: { epochs: 3, batch: 4, seqLen: 16, clip: 5, lrDecay: 1, seed: 3, maxStepsPerEpoch: 12, evalChars: 500, optimizer: { kind: 'adam', lr: 5e-3 } },
    checkpoint: join(tmp, name, 'model.ckpt'), resume: false, prune: null, kernels: 'auto',
    ...over,
  };
}

test('training: a NaN weight mid-run fails clearly; the last good checkpoint stays intact', async () => {
  const o = options('nan', {
    onStep: (e, t) => {
      if (e.itr === 17) t.model.params.find((p) => p.name === 'rnn.weight_hh_l0')!.data[3] = NaN; // during epoch 2
    },
  });
  await assert.rejects(runCharLM(o), /training diverged at iteration 18: loss NaN.*lower --lr/);
  const ck = loadCheckpoint(o.checkpoint);
  assert.equal((ck.meta.train!.state as { epoch: number }).epoch, 1, 'the epoch-1 checkpoint');
  applyCheckpoint(new RNNModel(ck.meta.config, createKernels(new Heap(), 'ts')), ck); // finite, loads
  // and training resumes from it.
  const r = await runCharLM({ ...options('nan'), resume: true });
  assert.ok(r.completed);
});

test('training: an exploding learning rate (SGD, lr 1e6, no clipping) is detected as divergence', async () => {
  const o = options('lr', { train: { ...options('lr').train, clip: 0, optimizer: { kind: 'sgd', lr: 1e6, momentum: 0.9 } } });
  await assert.rejects(runCharLM(o), /training diverged at iteration \d+: loss (NaN|Infinity|-?Infinity|[\d.e+]+), gradient norm/);
});

function cliPath(): string {
  return join(root, 'bin/sparse-rnn.js');
}
function cli(...args: string[]) {
  return spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('SIGINT during `sparse-rnn train` → exit 130, a checkpoint, and --resume completes', { timeout: 120_000 }, async () => {
  const out = join(tmp, 'sigint', 'm.ckpt');
  mkdirSync(join(tmp, 'sigint'), { recursive: true });
  const args = ['train', '--corpus', corpusFile(), '--hidden', '16', '--embed', '8', '--epochs', '2',
    '--batch', '4', '--seq-len', '16', '--eval-chars', '300', '-o', out];
  const child = spawn(process.execPath, [cliPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no progress line within 60 s; stderr: ${stderr}`)); }, 60_000);
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (!sent && /epoch 1\/2 \d+\/\d+ .*loss/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  assert.equal(code, 130, `exit code (stderr: ${stderr.slice(-500)})`);
  assert.match(stderr, /interrupted: checkpoint saved to .*m\.ckpt at iteration (\d+); continue with --resume/);
  const itr = Number(/at iteration (\d+)/.exec(stderr)![1]);
  assert.ok(itr > 0, `stopped after some steps (iteration ${itr})`);
  const ck = loadCheckpoint(out);
  assert.equal((ck.meta.train!.state as { itr: number }).itr, itr);
  const r = cli(...args, '--resume', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`resumed .*m\\.ckpt at epoch \\d, step \\d+ \\(iteration ${itr}\\)`));
  assert.match(r.stderr, /epoch 2(\/2)?: train [\d.]+ bpc, valid [\d.]+ bpc/);
});

// ---------------------------------------------------------------------------------------------
// Configuration errors

test('recipe errors name the key; unknown CLI options exit non-zero', () => {
  assert.throws(() => parseRecipe({ method: 'narang', bogus: 1 }, 'r.json'), /r\.json.*"?bogus"?/);
  assert.throws(() => parseRecipe({ method: 'narang', schedules: { recurrent: { qq: 0.1 } } }, 'r.json'), /r\.json\.schedules\.recurrent.*qq/);
  assert.throws(() => parseRecipe({ method: 'narang', schedules: { default: { freq: 'often' } } }, 'r.json'), /r\.json\.schedules\.default\.freq: expected an integer/);
  assert.throws(() => parseRecipe({ method: 'pruneit' }, 'r.json'), /r\.json\.method: expected one of/);
  assert.throws(() => parseRecipe('{"method": "narang",}', 'r.json'), /r\.json: not valid JSON/);
  const recipe = join(tmp, 'bad-recipe.json');
  writeFileSync(recipe, JSON.stringify({ method: 'narang', targetSparsity: 0.9, schedules: { recurent: { q: 0.1 } } }));
  let r = cli('train', '--corpus', corpusFile(), '--prune-config', recipe, '-o', join(tmp, 'x', 'm.ckpt'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /recurent/);
  for (const cmd of [['train', '--hiden', '3'], ['export-onnx', 'm.ckpt', '-o', 'x.onnx', '--bogus'], ['import', 'w.safetensors', '-o', 'x.ckpt', '--celll', 'gru'], ['eval', 'm.ckpt', '--splitt', 'valid']]) {
    r = cli(...cmd);
    assert.notEqual(r.status, 0, cmd.join(' '));
    assert.match(r.stderr, /unknown option/, cmd.join(' '));
  }
  r = cli('import', 'w.safetensors', '-o', 'x.ckpt', '--cell', 'transformer');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--cell.*transformer.*(gru|choices)/s);
});

test('eval refuses a checkpoint with NaN weights, naming the tensor and the index', async () => {
  const cfg: ModelConfig = { cell: 'gru', inputSize: 4, hiddenSize: 5, numLayers: 1, bidirectional: false, vocabSize: 6, outputSize: 6 };
  const m = new RNNModel(cfg, createKernels(new Heap(), 'ts'));
  m.init(1);
  m.byName.get('rnn.weight_hh_l0')!.data[7] = NaN;
  const file = join(tmp, 'nan.ckpt');
  await saveCheckpoint(file, m, { vocab: ['a', 'b', 'c', ' ', '.', '\n'], task: 'charlm', corpus: corpusFile() });
  // (sanity: the file itself is valid safetensors; only the values are bad)
  parseSafetensors(readFileSync(file));
  const r = cli('eval', file);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /nan\.ckpt: rnn\.weight_hh_l0: expected finite values, found NaN at index 7 \[1, 2\]/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  // export-onnx refuses it too.
  const r2 = cli('export-onnx', file, '-o', join(tmp, 'nan.onnx'));
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /rnn\.weight_hh_l0: expected finite values, found NaN/);
  void serializeSafetensors;
});

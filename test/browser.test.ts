// End to end in a real browser: `sparse-rnn serve` on an ephemeral port, Debian's Chromium driven
// headless by playwright-core. A small random ~90%-sparse char LM is generated here; the page's
// text must equal the Node runtime's for the same model, prompt, temperature and seed (WASM SIMD
// and TypeScript kernels, main thread and Web Worker), and bad files must show a visible error.
// A small random speech model and a WAV of tones made here: the transcript the page shows for the
// uploaded WAV must equal transcribeWav's in Node, and a bad WAV must show a visible error.
// Screenshots go to test-artifacts/browser-demo.png and browser-speech.png.
//
// Skips (with the reason) when Chromium or playwright-core is missing; never downloads a browser.
// CHROMIUM_PATH overrides /usr/bin/chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { exportModel } from '../src/sparse/export.js';
import { readSrnn } from '../src/sparse/format.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { StreamingTranscriber } from '../src/sparse/stream.js';
import { lexiconOf } from '../src/sparse/transcribe.js';
import { charVocab, generate } from '../src/sparse/generate.js';
import { denseTwin } from '../src/web/model-tools.js';
import { serializeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { Rng } from '../src/util/rng.js';
import { checkpointToSrnn, ensureWebBuilt, startServer } from '../src/cli/commands/serve.js';
import {
  resolveFeatureSettings, featureWidth, speechModelInfo, transcribeWav, transcribeSamples, wavToModelFeatures, greedyTranscript,
} from '../src/sparse/transcribe.js';
import { decodeWav, encodeWav16 } from '../src/data/speech/wav.js';
import { featureStats, logMelSpectrogram, stackFrames } from '../src/data/speech/features.js';
import { wavFeatures, VOCAB as SPEECH_VOCAB } from '../src/data/speech/dataset.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(root, 'test-artifacts');

// --- playwright-core, typed by the little this test uses (it is an optional devDependency) ---
interface PWLocator {
  textContent(): Promise<string | null>;
  isVisible(): Promise<boolean>;
  count(): Promise<number>;
  click(): Promise<void>;
  setChecked(checked: boolean): Promise<void>;
  setInputFiles(f: { name: string; mimeType: string; buffer: Buffer }): Promise<void>;
}
interface PWPage {
  goto(url: string): Promise<unknown>;
  locator(sel: string): PWLocator;
  waitForSelector(sel: string, o?: { timeout?: number; state?: string }): Promise<unknown>;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  on(ev: 'pageerror', f: (e: Error) => void): void;
  on(ev: 'console', f: (m: { type(): string; text(): string }) => void): void;
  evaluate<T>(f: () => T): Promise<T>;
  evaluate<T, A>(f: (a: A) => T | Promise<T>, arg: A): Promise<T>;
  addInitScript(script: string): Promise<void>;
  close(): Promise<void>;
}
interface PWContext { newPage(): Promise<PWPage>; close(): Promise<void> }
interface PW {
  chromium: {
    launchPersistentContext(dir: string, o: { executablePath: string; headless: boolean; args: string[]; timeout?: number }): Promise<PWContext>;
  };
}

async function importOptional<T>(name: string): Promise<T | null> {
  try {
    return (await import(name)) as T;
  } catch {
    return null;
  }
}

const pw = await importOptional<PW>('playwright-core');
let skip: string | false = false;
if (!pw) skip = 'playwright-core is not installed (a devDependency: npm install)';
else if (!existsSync(CHROMIUM)) skip = `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
else if (!(await importOptional('esbuild')) && !existsSync(join(root, 'dist/web/demo.js'))) skip = 'esbuild is not installed and dist/web is not built';
if (skip) process.stderr.write(`browser.test: skipped: ${skip}\n`);

// --- a small random char LM, ~90% of every weight matrix zero ---
const VOCAB = ['<unk>', '\n', ' ', ...'abcdefghijklmnopqrstuvwxyz.,', 'É', '🐋'];
const PROMPT = 'the whale 🐋 ';

/** With `block1x4`, the recurrent matrices are block-pruned (1x4): exported as BSR, the others CSR. */
function randomModel(seed: number, cell: ModelConfig['cell'], density: number, block1x4 = false): { config: ModelConfig; weights: Map<string, Float32Array> } {
  const V = VOCAB.length;
  const config: ModelConfig = { cell, inputSize: 12, hiddenSize: 48, numLayers: 2, bidirectional: false, vocabSize: V, outputSize: V };
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const keep = s.kind === 'bias' ? 1 : density;
    const w = Float32Array.from({ length: n }, () => (rng.next() < keep ? rng.uniform(-1.5, 1.5) : 0));
    if (block1x4 && s.kind === 'recurrent') for (let i = 0; i < n; i += 4) if (w[i] === 0) w.fill(0, i, i + 4); else for (let j = i; j < i + 4; j++) w[j] ||= 0.5;
    weights.set(s.name, w);
  }
  return { config, weights };
}

// --- a small random speech model (as `train --task speech` exports it) and a WAV of tones ---
const SPEECH_FEATURES = resolveFeatureSettings({ nMels: 20, stack: 2, stride: 2 });

function randomSpeechModel(seed: number): { config: ModelConfig; weights: Map<string, Float32Array>; bytes: Uint8Array } {
  const config: ModelConfig = { cell: 'gru', inputSize: featureWidth(SPEECH_FEATURES), hiddenSize: 48, numLayers: 2, bidirectional: true, outputSize: SPEECH_VOCAB.length };
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const keep = s.kind === 'bias' ? 1 : 0.1;
    const scale = s.name.startsWith('fc.') ? 4 : 1.5; // large output weights: some non-blank labels win frames
    weights.set(s.name, Float32Array.from({ length: n }, () => (rng.next() < keep ? rng.uniform(-scale, scale) : 0)));
  }
  const bytes = exportModel(config, weights, { values: 'fp32', extra: { task: 'speech', vocab: [...SPEECH_VOCAB], features: SPEECH_FEATURES } });
  return { config, weights, bytes };
}

/** A few tones of different pitch with silences between and a little noise, at `rate` Hz. */
function tonesWav(rate: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const x: number[] = [];
  for (const [f, sec] of [[220, 0.25], [0, 0.1], [880, 0.2], [440, 0.3], [0, 0.1], [1760, 0.15], [330, 0.25]]) {
    const n = Math.round(sec * rate);
    for (let i = 0; i < n; i++) x.push((f ? 0.4 * Math.sin((2 * Math.PI * f * i) / rate) : 0) + 0.01 * rng.normal());
  }
  return encodeWav16(x, rate);
}

// --- without a browser: the shared sampling loop and the server ---

test('generate: greedy is the argmax of run() logits, sampling is seeded, <unk> never emitted, vocabulary checks', () => {
  const sp = randomModel(5, 'lstm', 0.1);
  const bytes = exportModel(sp.config, sp.weights, { values: 'fp16', extra: { vocab: VOCAB } });
  const m = SparseModel.load(bytes, { backend: 'ts' });
  const vocab = charVocab(m);
  assert.deepEqual(vocab, VOCAB);
  const greedy = generate(m, vocab, { prompt: PROMPT, length: 40 });
  // Reference: run() over prompt + generated text; each next character is the argmax (skipping <unk>).
  const ids = Array.from(PROMPT + greedy, (ch) => Math.max(0, VOCAB.indexOf(ch)));
  const y = m.run(Int32Array.from(ids));
  const V = VOCAB.length, P = Array.from(PROMPT).length;
  for (let t = P - 1; t < ids.length - 1; t++) {
    let best = 1;
    for (let j = 2; j < V; j++) if (y[t * V + j] > y[t * V + best]) best = j;
    assert.equal(ids[t + 1], best, `step ${t}`);
  }
  const a = generate(m, vocab, { prompt: PROMPT, length: 200, temperature: 1.5, seed: 11 });
  assert.equal(generate(m, vocab, { prompt: PROMPT, length: 200, temperature: 1.5, seed: 11 }), a, 'same seed, same text');
  assert.notEqual(generate(m, vocab, { prompt: PROMPT, length: 200, temperature: 1.5, seed: 12 }), a);
  assert.ok(!a.includes('<unk>'));
  // A model loaded with softmax samples the same text (log-probabilities = logits + const).
  const ms = SparseModel.load(bytes, { backend: 'ts', softmax: true });
  assert.equal(generate(ms, vocab, { prompt: PROMPT, length: 40 }), greedy);
  assert.equal(generate(m, vocab, { prompt: '', length: 0 }), '');
  assert.throws(() => generate(m, vocab, { prompt: 'x', length: 3, temperature: -1 }), /temperature/);
  assert.throws(() => charVocab(SparseModel.load(exportModel(sp.config, sp.weights, { values: 'fp32' }))), /no vocabulary/);
  assert.throws(() => charVocab(SparseModel.load(exportModel(sp.config, sp.weights, { values: 'fp32', extra: { vocab: VOCAB.slice(1) } }))), /does not match/);
});

test('serve: model listing, checkpoints exported on the fly, static files, no path escapes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-serve-'));
  const web = mkdtempSync(join(tmpdir(), 'srnn-web-'));
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(web, 'demo.js'), 'export {};');
  const server = await startServer({ port: 0, dir, webDir: web, log: () => undefined });
  try {
    const get = (p: string): Promise<Response> => fetch(`${server.url}${p}`);
    let list = await (await get('api/models')).json() as Record<string, unknown>;
    assert.equal(list.charlm, null);
    assert.equal((await get('models/charlm.srnn')).status, 404);
    // A pruned checkpoint (masks applied by the export) under sparse/, as `sparse-rnn demo` writes it.
    const sp = randomModel(3, 'gru', 1);
    const t = new Map<string, TensorInput>();
    for (const s of paramSpecs(sp.config)) {
      t.set(s.name, { dtype: 'F32', shape: s.shape, data: sp.weights.get(s.name)! });
      if (s.kind !== 'bias') t.set(`${s.name}_mask`, { dtype: 'U8', shape: s.shape, data: Uint8Array.from(sp.weights.get(s.name)!, (_, i) => (i % 10 === 0 ? 1 : 0)) });
    }
    mkdirSync(join(dir, 'sparse'));
    writeFileSync(join(dir, 'sparse', 'model.ckpt'), serializeSafetensors(t, {
      'sparse-rnn': JSON.stringify({ format: 'sparse-rnn-checkpoint', version: 1, config: sp.config, vocab: VOCAB }),
    }));
    list = await (await get('api/models')).json() as Record<string, unknown>;
    assert.deepEqual(list.charlm, { url: '/models/charlm.srnn', source: join(dir, 'sparse', 'model.ckpt') });
    const r = await get('models/charlm.srnn');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const f = readSrnn(new Uint8Array(await r.arrayBuffer()));
    assert.deepEqual(f.header.extra?.vocab, VOCAB);
    for (const [name, tt] of f.tensors) if (name.includes('weight')) assert.equal(tt.format, 'csr', `${name}: 90% masked → CSR`);
    // A broken checkpoint: a 500 whose text says what is wrong.
    writeFileSync(join(dir, 'sparse', 'model.ckpt'), 'garbage');
    const bad = await get('models/charlm.srnn');
    assert.equal(bad.status, 500);
    assert.match(await bad.text(), /model\.ckpt/);
    assert.equal((await get('')).status, 200);
    assert.match((await get('demo.js')).headers.get('content-type') ?? '', /javascript/);
    for (const p of ['..%2fpackage.json', '%2e%2e/%2e%2e/etc/passwd', 'models/x.srnn', 'api/other', 'nope.js'])
      assert.equal((await get(p)).status, 404, p);
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(web, { recursive: true, force: true });
  }
});

test('transcribeWav: the training front end, greedy CTC, clear errors; the server exports a speech checkpoint with its features', async () => {
  const sp = randomSpeechModel(4);
  const m = SparseModel.load(sp.bytes, { backend: 'ts' });
  const info = speechModelInfo(m, 'speech.srnn');
  assert.deepEqual(info.features, SPEECH_FEATURES);
  const wav = tonesWav(22050, 1); // resampled to 16 kHz by the front end
  // The features are the training pipeline's (dataset.ts wavFeatures, then stackFrames), bit for bit.
  const f = wavToModelFeatures(wav, 'tones.wav', SPEECH_FEATURES);
  const raw = wavFeatures(wav, 'tones.wav', { nMels: 20 });
  const st = stackFrames(raw.feats, raw.T, raw.F, 2, 2);
  assert.equal(f.T, st.T);
  assert.deepEqual(f.feats, st.data);
  const r = transcribeWav(m, wav, { label: 'tones.wav' });
  assert.equal(r.frames, f.T);
  assert.ok(Math.abs(r.seconds - 1.35) < 1e-3, `${r.seconds} s`);
  assert.equal(r.text, greedyTranscript(m.run(f.feats, { softmax: false }), f.T, SPEECH_VOCAB));
  assert.ok(r.text.length >= 3, `the random model should emit some characters, got "${r.text}"`);
  const w = decodeWav(wav);
  assert.equal(transcribeSamples(m, w.samples, w.sampleRate).text, r.text, 'samples and WAV bytes: one path');
  assert.throws(() => transcribeWav(m, new TextEncoder().encode('not a wav file at all'), { label: 'bad.wav' }), /bad\.wav: RIFF header: .*not a WAV file/);
  assert.throws(() => transcribeWav(m, wav.subarray(0, 30), { label: 'cut.wav' }), /cut\.wav/);
  const noFeatures = SparseModel.load(exportModel(sp.config, sp.weights, { values: 'fp32', extra: { vocab: [...SPEECH_VOCAB] } }));
  assert.throws(() => transcribeWav(noFeatures, wav), /not a speech model/);
  // A speech checkpoint served on the fly keeps its feature settings.
  const dir = mkdtempSync(join(tmpdir(), 'srnn-serve-speech-'));
  try {
    const t = new Map<string, TensorInput>();
    for (const s of paramSpecs(sp.config)) t.set(s.name, { dtype: 'F32', shape: s.shape, data: sp.weights.get(s.name)! });
    const ck = join(dir, 'model.ckpt');
    writeFileSync(ck, serializeSafetensors(t, {
      'sparse-rnn': JSON.stringify({ format: 'sparse-rnn-checkpoint', version: 1, config: sp.config, task: 'speech', vocab: [...SPEECH_VOCAB], features: SPEECH_FEATURES }),
    }));
    const served = SparseModel.load(checkpointToSrnn(ck), { backend: 'ts' });
    assert.deepEqual(speechModelInfo(served).features, SPEECH_FEATURES);
    assert.equal(transcribeWav(served, wav).text, r.text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Scenario {
  name: string; query: string; backend: 'wasm' | 'ts'; temperature: number; seed: number; length: number; denseTwin: boolean;
  /** Make the page's WebAssembly SIMD probe fail, as in a browser without SIMD (main thread only). */
  noSimd?: boolean;
}

// Run before the page's scripts: WebAssembly.validate rejects modules with SIMD opcodes (0xfd prefix).
const NO_SIMD = `{ const v = WebAssembly.validate; WebAssembly.validate = (b) => { const u = b instanceof Uint8Array ? b : new Uint8Array(b.buffer || b); return u.includes(0xfd) ? false : v(b); }; }`;

test('browser demo page: generation equals Node, sparsity maps, worker, clear errors for bad files', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-browser-'));
  const profile = mkdtempSync(join(tmpdir(), 'srnn-chromium-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  ensureWebBuilt();
  // The sparse model (model.srnn) and a dense-trained one (a checkpoint, exported by the server).
  const sp = randomModel(1, 'gru', 0.1, true);
  const bytes = exportModel(sp.config, sp.weights, { values: 'fp32', extra: { vocab: VOCAB }, block: [1, 2] });
  writeFileSync(join(dir, 'model.srnn'), bytes);
  const file = readSrnn(bytes);
  assert.ok([...file.tensors.values()].some((t) => t.format === 'csr'), 'the test model is stored sparse');
  assert.ok([...file.tensors.values()].some((t) => t.format === 'bsr' && t.R === 1 && t.C === 2), 'its recurrent matrices in 1×2 blocks (BSR; the shape within 2% of unstructured accuracy)');
  const dn = randomModel(2, 'gru', 1);
  const ck = new Map<string, TensorInput>();
  for (const [k, v] of dn.weights) ck.set(k, { dtype: 'F32', shape: paramSpecs(dn.config).find((s) => s.name === k)!.shape, data: v });
  mkdirSync(join(dir, 'dense'));
  writeFileSync(join(dir, 'dense', 'model.ckpt'), serializeSafetensors(ck, {
    'sparse-rnn': JSON.stringify({ format: 'sparse-rnn-checkpoint', version: 1, config: dn.config, vocab: VOCAB }),
  }));
  const denseBytes = checkpointToSrnn(join(dir, 'dense', 'model.ckpt'));
  assert.ok([...readSrnn(denseBytes).tensors.values()].every((t) => t.format === 'dense'), 'the dense model is stored dense');

  const server = await startServer({ port: 0, dir, log: () => undefined });
  const ctx = await pw!.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  try {
    // The server: listing, static files, no path escapes.
    const list = await (await fetch(`${server.url}api/models`)).json() as { charlm: { url: string } | null; dense: unknown; speech: unknown };
    assert.equal(list.charlm?.url, '/models/charlm.srnn');
    assert.ok(list.dense);
    assert.equal(list.speech, null);
    assert.deepEqual(new Uint8Array(await (await fetch(`${server.url}models/charlm.srnn`)).arrayBuffer()), bytes);
    for (const bad of ['..%2fpackage.json', '%2e%2e/package.json', 'models/../../package.json', '.hidden.js'])
      assert.equal((await fetch(`${server.url}${bad}`)).status, 404, bad);

    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    const waitState = async (states: string[], timeout = 60_000): Promise<string> => {
      await page.waitForSelector(states.map((s) => `body[data-state="${s}"]`).join(', '), { timeout });
      return (await page.evaluate(() => document.body.dataset.state)) ?? '';
    };
    const errorText = async (): Promise<string> => ((await page.locator('#error').isVisible()) ? (await page.locator('#error').textContent()) ?? '' : '');

    const scenarios: Scenario[] = [
      // worker=0: the main thread (Web Worker mode is the default in this cross-origin isolated page).
      { name: 'wasm, sampled, dense-trained comparison', query: 'backend=wasm&worker=0', backend: 'wasm', temperature: 0.8, seed: 42, length: 150, denseTwin: false },
      { name: 'TypeScript kernels, greedy, dense twin', query: 'backend=ts&dense=twin&worker=0', backend: 'ts', temperature: 0, seed: 0, length: 80, denseTwin: true },
      { name: 'Web Worker, wasm, sampled', query: 'backend=wasm&worker=1', backend: 'wasm', temperature: 1, seed: 7, length: 120, denseTwin: false },
      { name: 'no WebAssembly SIMD: auto falls back to TypeScript', query: 'backend=auto&worker=0', backend: 'ts', temperature: 0.5, seed: 3, length: 60, denseTwin: false, noSimd: true },
    ];
    for (const s of scenarios) {
      if (s.noSimd) await page.addInitScript(NO_SIMD); // the last scenario: stays for the rest of the test
      const q = `${s.query}&fast=1&temperature=${s.temperature}&seed=${s.seed}&length=${s.length}&prompt=${encodeURIComponent(PROMPT)}`;
      await page.goto(`${server.url}?${q}`);
      const st = await waitState(['ready', 'error']);
      assert.equal(st, 'ready', `${s.name}: page did not load: ${await errorText()}`);
      const info = (await page.locator('#model-info').textContent()) ?? '';
      assert.match(info, s.backend === 'wasm' ? /wasm\/wasm/ : /ts\/ts/, `${s.name}: kernels: ${info}`);
      if (s.query.includes('worker=1')) assert.match(info, /Web Worker/);
      assert.match((await page.locator('#status').textContent()) ?? '', s.noSimd ? /SIMD: no/ : /SIMD: yes/);
      await page.locator('#generate').click();
      assert.equal(await waitState(['done', 'error']), 'done', `${s.name}: ${await errorText()}`);
      const got = (await page.locator('#out-sparse .gen').textContent()) ?? '';
      const gotDense = (await page.locator('#out-dense .gen').textContent()) ?? '';
      const o = { prompt: PROMPT, length: s.length, temperature: s.temperature, seed: s.seed };
      const node = SparseModel.load(bytes, { backend: s.backend });
      const want = generate(node, charVocab(node), o);
      assert.equal(Array.from(want).length, s.length);
      assert.equal(got, want, `${s.name}: the page's text differs from Node's`);
      const dm = SparseModel.load(s.denseTwin ? denseTwin(file) : denseBytes, { backend: s.backend });
      assert.equal(gotDense, generate(dm, VOCAB, o), `${s.name}: the dense pane differs from Node's`);
      assert.match((await page.locator('#lat-sparse').textContent()) ?? '', new RegExp(`step ${s.length}: .*median`));
      assert.match((await page.locator('#lat-summary').textContent()) ?? '', /Mean per-step latency over \d+ steps: sparse .* dense .* sparse is/);
    }
    // Sparsity pictures: one per weight matrix, and the size table.
    const matrices = paramSpecs(sp.config).filter((p) => p.kind !== 'bias').length;
    assert.equal(await page.locator('#maps canvas').count(), matrices);
    assert.equal(await page.locator('#layers tbody tr').count(), matrices);
    assert.match((await page.locator('#layers tfoot').textContent()) ?? '', /smaller/);
    assert.equal(await page.locator('#speech').isVisible(), false, 'no speech model: no speech section');
    await page.screenshot({ path: join(ARTIFACTS, 'browser-demo.png'), fullPage: true });

    // Bad files through the file picker: a visible, specific message, never a blank page.
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 5] ^= 0xff;
    const noVocab = exportModel(sp.config, sp.weights, { values: 'fp32' });
    const speechLike = exportModel({ ...sp.config, vocabSize: undefined, inputSize: 12 },
      new Map([...sp.weights].filter(([k]) => k !== 'embedding.weight')), { values: 'fp16' });
    const bad: [string, Buffer, RegExp][] = [
      ['corrupt.srnn', corrupt, /corrupt\.srnn is not a valid \.srnn model: .*crc/i],
      ['notes.txt.srnn', Buffer.from('hello, not a model'), /not a valid \.srnn model/],
      ['empty.srnn', Buffer.alloc(0), /empty/],
      ['novocab.srnn', Buffer.from(noVocab), /cannot be used as a character language model: .*no vocabulary/],
    ];
    for (const [name, buf, re] of bad) {
      await page.locator('#model-file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: buf });
      assert.equal(await waitState(['error', 'ready']), 'error', `${name}: expected an error`);
      const msg = await errorText();
      assert.match(msg, re, `${name}: message "${msg}"`);
      assert.equal(await page.locator('#charlm').isVisible(), false, `${name}: no stale generator`);
      if (name === 'corrupt.srnn') await page.screenshot({ path: join(ARTIFACTS, 'browser-demo-error.png') });
    }
    // A model over features (speech-like) goes to the speech section; its timing runs.
    await page.locator('#model-file').setInputFiles({ name: 'speech.srnn', mimeType: 'application/octet-stream', buffer: Buffer.from(speechLike) });
    assert.equal(await waitState(['ready', 'error']), 'ready', await errorText());
    assert.equal(await page.locator('#speech').isVisible(), true);
    await page.locator('#speech-run').click();
    await page.waitForSelector('#speech-result:not(:empty)', { timeout: 30_000 });
    assert.match((await page.locator('#speech-result').textContent()) ?? '', /sparse: .* per frame.*dense: /);
    // And the server's model comes back.
    await page.locator('#reload-server').click();
    assert.equal(await waitState(['ready', 'error']), 'ready', await errorText());
    assert.equal(await page.locator('#charlm').isVisible(), true);
    assert.deepEqual(pageErrors.filter((e) => !/not a valid|cannot be used|empty|Failed to load resource/.test(e)), [], 'uncaught page errors');
    await page.close();
  } finally {
    await ctx.close().catch(() => undefined);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
});

test('browser demo page: speech transcript of an uploaded WAV equals Node\'s transcribeWav; clear errors', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-browser-speech-'));
  const profile = mkdtempSync(join(tmpdir(), 'srnn-chromium-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  ensureWebBuilt();
  const sp = randomSpeechModel(4);
  mkdirSync(join(dir, 'speech'));
  writeFileSync(join(dir, 'speech', 'model.srnn'), sp.bytes);
  const wavs: [string, Uint8Array][] = [['tones-22k.wav', tonesWav(22050, 1)], ['tones-16k.wav', tonesWav(16000, 2)]];
  const server = await startServer({ port: 0, dir, log: () => undefined });
  const ctx = await pw!.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  try {
    const list = await (await fetch(`${server.url}api/models`)).json() as { charlm: unknown; speech: { url: string } | null };
    assert.equal(list.charlm, null);
    assert.equal(list.speech?.url, '/models/speech.srnn');
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    const waitState = async (states: string[], timeout = 60_000): Promise<string> => {
      await page.waitForSelector(states.map((s) => `body[data-state="${s}"]`).join(', '), { timeout });
      return (await page.evaluate(() => document.body.dataset.state)) ?? '';
    };
    const errorText = async (): Promise<string> => ((await page.locator('#error').isVisible()) ? (await page.locator('#error').textContent()) ?? '' : '');
    const upload = (sel: string, name: string, buf: Uint8Array, mimeType = 'audio/wav'): Promise<void> =>
      page.locator(sel).setInputFiles({ name, mimeType, buffer: Buffer.from(buf) });

    for (const backend of ['wasm', 'ts'] as const) {
      await page.goto(`${server.url}?backend=${backend}`);
      assert.equal(await waitState(['ready', 'error']), 'ready', `${backend}: page did not load: ${await errorText()}`);
      assert.equal(await page.locator('#speech').isVisible(), true);
      assert.equal(await page.locator('#charlm').isVisible(), false);
      assert.equal(await page.locator('#speech-unavailable').isVisible(), false);
      assert.match((await page.locator('#speech-info').textContent()) ?? '', new RegExp(`20 log-mel bands at 16 kHz.*kernels ${backend}/${backend}`));
      const node = SparseModel.load(sp.bytes, { backend });
      for (const [name, wav] of wavs) {
        await upload('#speech-wav', name, wav);
        assert.equal(await waitState(['done', 'error']), 'done', `${backend} ${name}: ${await errorText()}`);
        const want = transcribeWav(node, wav).text;
        assert.ok(want.length > 0, 'the random model emits some characters');
        assert.equal((await page.locator('#speech-transcript').textContent()) ?? '', want, `${backend} ${name}: the page's transcript differs from Node's`);
        assert.match((await page.locator('#speech-timing').textContent()) ?? '',
          new RegExp(`${name.replace('.', '\\.')}: 1\\.35 s of audio, \\d+ model frames · sparse model .* dense form .* sparse is`));
      }
    }
    await page.screenshot({ path: join(ARTIFACTS, 'browser-speech.png'), fullPage: true });
    // A bad WAV: a visible error naming the file and what is wrong; the transcript is cleared.
    const bad: [string, Uint8Array, RegExp][] = [
      ['notes.wav', new TextEncoder().encode('these are not audio samples'), /Could not transcribe notes\.wav:\s+notes\.wav: RIFF header: .*not a WAV file/],
      ['cut.wav', wavs[0][1].subarray(0, 30), /Could not transcribe cut\.wav:\s+cut\.wav: /],
    ];
    for (const [name, buf, re] of bad) {
      await upload('#speech-wav', name, buf);
      assert.equal(await waitState(['error', 'done']), 'error', `${name}: expected an error`);
      assert.match(await errorText(), re);
      assert.equal((await page.locator('#speech-transcript').textContent()) ?? '', '');
    }
    // A good upload afterwards clears the error.
    await upload('#speech-wav', wavs[1][0], wavs[1][1]);
    assert.equal(await waitState(['done', 'error']), 'done', await errorText());
    assert.equal(await page.locator('#error').isVisible(), false);
    // "digits only": the page decodes within the digit words, as Node's transcribeWav with that lexicon.
    await page.locator('#speech-digits').setChecked(true);
    await upload('#speech-wav', wavs[1][0], wavs[1][1]);
    assert.equal(await waitState(['done', 'error']), 'done', await errorText());
    const DIGITS = 'zero one two three four five six seven eight nine oh';
    const digits = transcribeWav(SparseModel.load(sp.bytes, { backend: 'ts' }), wavs[1][1], { decode: { lexicon: lexiconOf(DIGITS).constraint } }).text;
    assert.equal((await page.locator('#speech-transcript').textContent()) ?? '', digits);
    assert.ok(digits.trim().length > 0 && digits.trim().split(' ').every((w) => DIGITS.split(' ').includes(w)), digits);
    await page.locator('#speech-digits').setChecked(false);
    // A model over features without speech settings: the section says why transcription is off.
    const noFeatures = exportModel(sp.config, sp.weights, { values: 'fp32', extra: { vocab: [...SPEECH_VOCAB] } });
    await upload('#model-file', 'features-only.srnn', noFeatures, 'application/octet-stream');
    assert.equal(await waitState(['ready', 'error']), 'ready', await errorText());
    assert.equal(await page.locator('#speech-unavailable').isVisible(), true);
    assert.match((await page.locator('#speech-unavailable').textContent()) ?? '', /features-only\.srnn: not a speech model/);
    assert.equal(await page.evaluate(() => (document.getElementById('speech-wav') as HTMLInputElement).disabled), true);
    // A speech .srnn of your own through the model picker (it has extra.vocab, but no embedding): transcribes.
    await upload('#model-file', 'my-speech.srnn', sp.bytes, 'application/octet-stream');
    assert.equal(await waitState(['ready', 'error']), 'ready', await errorText());
    assert.equal(await page.locator('#speech-unavailable').isVisible(), false);
    assert.match((await page.locator('#model-info').textContent()) ?? '', /my-speech\.srnn: .*not a character model; see the speech section/);
    await upload('#speech-wav', wavs[0][0], wavs[0][1]);
    assert.equal(await waitState(['done', 'error']), 'done', await errorText());
    assert.equal((await page.locator('#speech-transcript').textContent()) ?? '', transcribeWav(SparseModel.load(sp.bytes), wavs[0][1]).text);
    assert.deepEqual(pageErrors.filter((e) => !/not a WAV|truncated|Could not transcribe|Failed to load resource/.test(e)), [], 'uncaught page errors');
    await page.close();
  } finally {
    await ctx.close().catch(() => undefined);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
});

test('browser demo page: the microphone transcribes while recording (streaming in the worker), then the whole recording', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-browser-mic-'));
  const profile = mkdtempSync(join(tmpdir(), 'srnn-chromium-'));
  ensureWebBuilt();
  // A forward GRU speech model with fixed ('global') normalisation: it can stream.
  const mel = logMelSpectrogram(decodeWav(tonesWav(16000, 5)).samples, { nMels: 20 });
  const features = resolveFeatureSettings({ nMels: 20, stack: 2, stride: 2, normalize: 'global', ...featureStats([{ feats: mel.data, T: mel.T }], 20) });
  const config: ModelConfig = { cell: 'gru', inputSize: featureWidth(features), hiddenSize: 48, numLayers: 2, bidirectional: false, outputSize: SPEECH_VOCAB.length };
  const rng = new Rng(4);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1), scale = s.name.startsWith('fc.') ? 4 : 1.5;
    weights.set(s.name, Float32Array.from({ length: n }, () => (s.kind === 'bias' || rng.next() < 0.2 ? rng.uniform(-scale, scale) : 0)));
  }
  mkdirSync(join(dir, 'speech'));
  writeFileSync(join(dir, 'speech', 'model.srnn'), exportModel(config, weights, { values: 'fp32', extra: { task: 'speech', vocab: [...SPEECH_VOCAB], features } }));
  const mic = join(dir, 'mic.wav'); // Chromium's fake microphone plays this file in a loop
  writeFileSync(mic, tonesWav(48000, 6));
  const server = await startServer({ port: 0, dir, log: () => undefined });
  const ctx = await pw!.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic', '--autoplay-policy=no-user-gesture-required',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${mic}`],
  });
  try {
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}?backend=wasm`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 60_000 });
    assert.match((await page.locator('#speech-info').textContent()) ?? '', /the microphone transcribes as you speak/);
    await page.locator('#speech-record').click();
    // Partial transcripts appear while the recording goes on.
    await page.waitForSelector('#speech-transcript:not(:empty)', { timeout: 30_000 });
    assert.match((await page.locator('#speech-rec-status').textContent()) ?? '', /recording… .*transcribing as you speak/);
    await page.locator('#speech-record').click();
    await page.waitForSelector('#speech-transcript[data-done="1"], body[data-state="error"]', { timeout: 30_000 });
    assert.ok(((await page.locator('#speech-transcript').textContent()) ?? '').length > 0);
    assert.match((await page.locator('#speech-timing').textContent()) ?? '', /the recording: [\d.]+ s of audio/);
    assert.equal(await page.locator('#speech-download').isVisible(), true);
    // The worker API's transcriber decodes within a lexicon (given as text) as Node's StreamingTranscriber does.
    const LEX = 'one two three oh';
    const samples = Array.from(decodeWav(tonesWav(16000, 7)).samples);
    const inPage = await page.evaluate(async ({ samples, LEX }) => {
      const rt = await import(new URL('/sparse-rnn.js', location.href).href) as {
        WorkerModel: { load(b: Uint8Array, o: object): Promise<{ transcriber(rate: number, d?: object): Promise<{ push(x: Float32Array): Promise<unknown>; end(): Promise<{ text: string }> }>; dispose(): Promise<void> }> };
      };
      const b = new Uint8Array(await (await fetch('/models/speech.srnn')).arrayBuffer());
      const m = await rt.WorkerModel.load(b, { workerUrl: '/sparse-rnn-worker.js', kernels: 'ts' });
      const out: string[] = [];
      for (const decode of [{}, { lexicon: LEX }]) {
        const t = await m.transcriber(16000, decode);
        for (let i = 0; i < samples.length; i += 1600) await t.push(Float32Array.from(samples.slice(i, i + 1600)));
        out.push((await t.end()).text);
      }
      await m.dispose();
      return out;
    }, { samples, LEX });
    const node = SparseModel.load(readFileSync(join(dir, 'speech', 'model.srnn')), { backend: 'ts' });
    const want = [{}, { lexicon: lexiconOf(LEX).constraint }].map((decode) => {
      const st = new StreamingTranscriber(node, 16000, { decode });
      st.push(Float32Array.from(samples));
      return st.end().text;
    });
    assert.deepEqual(inPage, want);
    assert.ok(want[1].trim().length > 0 && want[1].trim().split(' ').every((w) => LEX.split(' ').includes(w)), want[1]);
    assert.deepEqual(pageErrors, []);
    await page.close();
  } finally {
    await ctx.close().catch(() => undefined);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
});

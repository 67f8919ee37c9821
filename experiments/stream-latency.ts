// Streaming transcription speed (issue #13): real-time factor and the latency from the last audio
// chunk to the final text, dense vs 90%-sparse, for the default speech model's shape (forward GRU
// 2×256, 40 log-mel bands stacked by 3 → 120 inputs, 29 outputs, the default 'running'
// normalisation) with RANDOM weights (the speed of a model does not depend on what it learned; the
// sparse one has 90% of every weight matrix zero), decoded greedily and, for the sparse model, also
// by the prefix beam search within the digit lexicon (--lexicon; beam 16).
//
//  * in process: StreamingTranscriber (src/sparse/stream.ts) on one thread, WASM SIMD kernels; the
//    audio pushed in 100 ms chunks as fast as it goes; RTF = compute time / audio time; latency =
//    the last chunk's push() + end() (what happens after the speaker stops);
//  * end to end: `sparse-rnn transcribe --stream --json model.srnn -` as a child process, raw PCM
//    written to its stdin in real time (100 ms every 100 ms); latency = from writing the last chunk
//    and closing stdin to reading the "final" line;
//  * Chromium (headless, through playwright-core, when both are installed): the in-process
//    measurement on the page's main thread with the browser bundle (dist/web/sparse-rnn.js).
//
// Usage: flock /tmp/sparse-rnn-bench.lock node dist/experiments/stream-latency.js [--seconds 10] [--reps 5]
//        [--cli-seconds 3] [--cli-reps 3] [--no-cli] [--no-chromium] [--stack 3] [--normalize running|two-pass] [--json FILE]
//        (--stack K: K stacked frames, e.g. 9 for `train --task speech --stack 9`; --normalize two-pass: the
//        final text from a second pass over the whole utterance, `train --task speech --normalize two-pass`)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { SpeechFeatureStream, StreamingTranscriber } from '../src/sparse/stream.js';
import { featureWidth, lexiconOf, resolveFeatureSettings, type DecodeOptions, type SpeechFeatureSettings } from '../src/sparse/transcribe.js';
import { featureStats, logMelSpectrogram } from '../src/data/speech/features.js';
import { VOCAB } from '../src/data/speech/dataset.js';
import { Rng } from '../src/util/rng.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Speech-like test audio: gliding tones with pauses and noise, at `rate` Hz. */
export function testAudio(seconds: number, rate: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(Math.round(seconds * rate));
  let phase = 0;
  for (let i = 0; i < x.length; i++) {
    const t = i / rate, seg = Math.floor(t / 0.3);
    const f = 150 + 100 * ((seg * 7) % 5) + 200 * Math.sin(t * 3);
    phase += (2 * Math.PI * f) / rate;
    x[i] = (seg % 4 === 3 ? 0 : 0.3 * Math.sin(phase) + 0.1 * Math.sin(3 * phase)) + 0.01 * rng.normal();
  }
  return x;
}

/**
 * The default speech features ('running' normalisation; `stack` frames, 3 by default) with statistics measured on
 * test audio. 'two-pass' adds the whole-utterance pass to the latency.
 */
export function streamingFeatures(stack = 3, normalize: 'running' | 'two-pass' = 'running'): SpeechFeatureSettings {
  const mel = logMelSpectrogram(testAudio(5, 16000, 99), { nMels: 40 });
  return resolveFeatureSettings({ nMels: 40, stack, stride: 2, normalize, ...featureStats([{ feats: mel.data, T: mel.T }], 40) });
}

/** The connected-digit lexicon (results/speech-robust/digits.txt). */
export const DIGITS = 'zero one two three four five six seven eight nine oh';

/** A model to time: its name, its bytes, and a lexicon to decode into (none: greedy). */
export type TimedModel = [name: string, bytes: Uint8Array, lexicon?: string];

/** A random forward GRU speech model of the default shape (layers × hidden), `density` of each weight matrix non-zero. */
export function randomStreamingModel(features: SpeechFeatureSettings, density: number, seed = 1, layers = 2, hidden = 256): Uint8Array {
  const config: ModelConfig = { cell: 'gru', inputSize: featureWidth(features), hiddenSize: hidden, numLayers: layers, bidirectional: false, outputSize: VOCAB.length };
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const keep = s.kind === 'bias' ? 1 : density;
    const scale = 1 / Math.sqrt(s.shape[s.shape.length - 1] * (s.kind === 'bias' ? 1 : density));
    weights.set(s.name, Float32Array.from({ length: n }, () => (rng.next() < keep ? rng.uniform(-scale, scale) : 0)));
  }
  return exportModel(config, weights, { values: 'fp32', extra: { task: 'speech', vocab: [...VOCAB], features } });
}

export interface InProcessResult {
  model: string;
  rate: number;
  chunkMs: number;
  audioSeconds: number;
  /** Compute seconds per audio second (median over the repetitions). */
  rtf: number;
  /** Milliseconds from the last chunk's push() to the final event (median). */
  latencyMs: number;
  /** Slowest single push() (ms, median over the repetitions): the worst wait for a partial. */
  maxPushMs: number;
  /** The network alone (SparseModel.step over the same frames): compute seconds per audio second (median; Node only). */
  modelRtf?: number;
  frames: number;
  backend: string;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** One streamed pass over `audio`: compute time, last-chunk latency, slowest push. */
function streamOnce(m: SparseModel, audio: Float32Array, rate: number, chunk: number, decode?: DecodeOptions): { ms: number; latencyMs: number; maxPushMs: number; frames: number } {
  const st = new StreamingTranscriber(m, rate, { decode });
  let ms = 0, maxPushMs = 0, latencyMs = 0;
  for (let o = 0; o < audio.length; o += chunk) {
    const t0 = performance.now();
    st.push(audio.subarray(o, o + chunk));
    const dt = performance.now() - t0;
    ms += dt;
    maxPushMs = Math.max(maxPushMs, dt);
    if (o + chunk >= audio.length) latencyMs = dt;
  }
  const t0 = performance.now();
  const fin = st.end();
  const dt = performance.now() - t0;
  return { ms: ms + dt, latencyMs: latencyMs + dt, maxPushMs, frames: fin.frames };
}

/** In-process RTF and latency, the models interleaved repetition by repetition (a noisy machine hits both alike). */
export function inProcess(models: TimedModel[], o: { seconds: number; reps: number; rates: number[]; chunkMs: number }): InProcessResult[] {
  const out: InProcessResult[] = [];
  for (const rate of o.rates) {
    const audio = testAudio(o.seconds, rate);
    const chunk = Math.round((o.chunkMs / 1000) * rate);
    const loaded = models.map(([name, bytes, words]) => ({
      name, m: SparseModel.load(bytes, { backend: 'wasm' }), decode: words ? { lexicon: lexiconOf(words).constraint } : undefined,
    }));
    for (const { m, decode } of loaded) streamOnce(m, audio.subarray(0, rate), rate, chunk, decode); // warm up
    const runs = loaded.map(() => [] as ReturnType<typeof streamOnce>[]);
    for (let r = 0; r < o.reps; r++) loaded.forEach(({ m, decode }, i) => {
      runs[i].push(streamOnce(m, audio, rate, chunk, decode));
    });
    // The network's share: step() over the stream's own feature frames.
    const fs = new SpeechFeatureStream(loaded[0].m.header.extra!.features as SpeechFeatureSettings, rate);
    const a = fs.push(audio), b = fs.end();
    const feats = new Float32Array(a.length + b.length);
    feats.set(a);
    feats.set(b, a.length);
    const stepMs = loaded.map(({ m }) => {
      const st = m.createState(1), F = m.config.inputSize, times: number[] = [];
      for (let r = 0; r < o.reps; r++) {
        st.reset();
        const t0 = performance.now();
        for (let t = 0; t < feats.length / F; t++) m.step(feats.subarray(t * F, (t + 1) * F), st);
        times.push(performance.now() - t0);
      }
      return median(times);
    });
    out.push(...loaded.map(({ name, m }, i) => ({
      modelRtf: stepMs[i] / 1000 / (audio.length / rate),
      model: name, rate, chunkMs: o.chunkMs, audioSeconds: audio.length / rate, backend: `${m.kernels.name}/${m.sparse.name}, 1 thread`,
      rtf: median(runs[i].map((x) => x.ms)) / 1000 / (audio.length / rate),
      latencyMs: median(runs[i].map((x) => x.latencyMs)), maxPushMs: median(runs[i].map((x) => x.maxPushMs)), frames: runs[i][0].frames,
    })));
  }
  return out;
}

export interface CliResult {
  model: string;
  audioSeconds: number;
  /** Milliseconds from writing the last chunk (and closing stdin) to reading the final line (median, and each run). */
  latencyMs: number;
  runs: number[];
  partials: number;
}

/** End-to-end latency of `transcribe --stream` on stdin, audio written in real time. */
async function cliOnce(model: string, lexicon: string | undefined, pcm: Uint8Array, chunkBytes: number, chunkMs: number): Promise<{ ms: number; partials: number }> {
  const child = spawn(process.execPath, [join(root, 'bin', 'sparse-rnn.js'), 'transcribe', '--stream', '--json', '--quiet', '--threads', '1',
    ...(lexicon ? ['--lexicon', lexicon] : []), model, '-'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '', partials = 0, lastWrite = 0, err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const final = new Promise<number>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const e = JSON.parse(line) as { type: string };
        if (e.type === 'partial') partials++;
        else res(performance.now() - lastWrite);
      }
    });
    child.on('exit', (code) => rej(new Error(`transcribe --stream exited with ${code}: ${err}`)));
  });
  // Let the process start and load the model before the "speaker" starts.
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = performance.now();
  for (let o = 0, k = 0; o < pcm.length; o += chunkBytes, k++) {
    const wait = t0 + k * chunkMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const last = o + chunkBytes >= pcm.length;
    child.stdin.write(pcm.subarray(o, o + chunkBytes));
    if (last) {
      lastWrite = performance.now();
      child.stdin.end();
    }
  }
  const ms = await final;
  await new Promise((r) => child.once('close', r));
  return { ms, partials };
}

export async function endToEnd(models: TimedModel[], o: { seconds: number; reps: number }): Promise<CliResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-stream-latency-'));
  try {
    const x = testAudio(o.seconds, 16000, 3);
    const pcm = new Uint8Array(2 * x.length);
    const dv = new DataView(pcm.buffer);
    x.forEach((v, i) => {
      dv.setInt16(2 * i, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true);
    });
    const files = models.map(([, bytes, words], i) => {
      const f = join(dir, `model${i}.srnn`);
      writeFileSync(f, bytes);
      if (words) writeFileSync(`${f}.words.txt`, words);
      return { model: f, lexicon: words ? `${f}.words.txt` : undefined };
    });
    const runs = models.map(() => [] as { ms: number; partials: number }[]);
    for (let r = 0; r < o.reps; r++) for (let i = 0; i < models.length; i++) runs[i].push(await cliOnce(files[i].model, files[i].lexicon, pcm, 3200, 100));
    return models.map(([name], i) => ({
      model: name, audioSeconds: o.seconds, latencyMs: median(runs[i].map((r) => r.ms)), runs: runs[i].map((r) => r.ms), partials: runs[i][0].partials,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** The in-process measurement in headless Chromium's main thread (null with the reason when it cannot run). */
export async function inChromium(models: TimedModel[], o: { seconds: number; reps: number; rates: number[]; chunkMs: number }):
  Promise<InProcessResult[] | string> {
  type Page = { goto(u: string): Promise<unknown>; evaluate<T, A>(f: (a: A) => Promise<T>, a: A): Promise<T> };
  type Browser = { newPage(): Promise<Page>; close(): Promise<void> };
  let pw: { chromium: { launch(o: { executablePath: string; args: string[] }): Promise<Browser> } };
  try {
    pw = await import('playwright-core' as string) as typeof pw;
  } catch {
    return 'playwright-core is not installed';
  }
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const { existsSync } = await import('node:fs');
  if (!existsSync(exe)) return `no Chromium at ${exe}`;
  const { startServer } = await import('../src/cli/commands/serve.js');
  const dir = mkdtempSync(join(tmpdir(), 'srnn-stream-chromium-'));
  const server = await startServer({ port: 0, dir, log: () => undefined });
  const browser = await pw.chromium.launch({ executablePath: exe, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    const out: InProcessResult[] = [];
    for (const rate of o.rates) {
      const audio = testAudio(o.seconds, rate);
      const arg = { models: models.map(([name, bytes, words]) => [name, b64(bytes), words ?? '']), audio: b64(new Uint8Array(audio.buffer)), rate, chunk: Math.round((o.chunkMs / 1000) * rate), reps: o.reps };
      const res = await page.evaluate(async (a) => {
        const url = '/sparse-rnn.js';
        const rt = await import(url) as typeof import('../src/web/runtime.js');
        const bytes = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        const audio = new Float32Array(bytes(a.audio).buffer);
        const once = (m: import('../src/sparse/runtime.js').SparseModel, x: Float32Array, words: string) => {
          const st = new rt.StreamingTranscriber(m, a.rate, { decode: words ? { lexicon: rt.lexiconOf(words).constraint } : undefined });
          let ms = 0, last = 0, maxPush = 0;
          for (let o = 0; o < x.length; o += a.chunk) {
            const t0 = performance.now();
            st.push(x.subarray(o, o + a.chunk));
            const dt = performance.now() - t0;
            ms += dt;
            maxPush = Math.max(maxPush, dt);
            if (o + a.chunk >= x.length) last = dt;
          }
          const t0 = performance.now();
          const fin = st.end();
          const dt = performance.now() - t0;
          return { ms: ms + dt, latencyMs: last + dt, maxPushMs: maxPush, frames: fin.frames };
        };
        const loaded = [];
        for (const [name, b, words] of a.models) loaded.push({ name, words, m: await rt.SparseModel.loadAsync(bytes(b), { backend: 'wasm' }) });
        for (const { m, words } of loaded) once(m, audio.subarray(0, a.rate), words);
        const runs = loaded.map(() => [] as ReturnType<typeof once>[]);
        for (let r = 0; r < a.reps; r++) loaded.forEach(({ m, words }, i) => {
          runs[i].push(once(m, audio, words));
        });
        return loaded.map(({ name, m }, i) => ({ name, backend: `${m.kernels.name}/${m.sparse.name}, main thread`, runs: runs[i] }));
      }, arg);
      for (const r of res) out.push({
        model: r.name, rate, chunkMs: o.chunkMs, audioSeconds: audio.length / rate, backend: `Chromium ${r.backend}`,
        rtf: median(r.runs.map((x) => x.ms)) / 1000 / (audio.length / rate), latencyMs: median(r.runs.map((x) => x.latencyMs)),
        maxPushMs: median(r.runs.map((x) => x.maxPushMs)), frames: r.runs[0].frames,
      });
    }
    return out;
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const table = (rs: InProcessResult[]): string => [
  '| model (GRU 2×256, random weights) | input rate | chunks | RTF (1 thread) | network alone | last chunk → final | slowest push |',
  '|---|---|---|---|---|---|---|',
  ...rs.map((r) => `| ${r.model} | ${r.rate / 1000} kHz | ${r.chunkMs} ms | ${r.rtf.toFixed(4)} | ${r.modelRtf?.toFixed(4) ?? '–'} | ` +
    `${r.latencyMs.toFixed(2)} ms | ${r.maxPushMs.toFixed(2)} ms |`),
].join('\n');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (k: string, d: number): number => {
    const i = args.indexOf(k);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const jsonAt = args.indexOf('--json');
  const stack = opt('--stack', 3);
  if (!Number.isInteger(stack) || stack < 1) throw new Error(`--stack: expected a positive integer, found ${args[args.indexOf('--stack') + 1]}`);
  const ni = args.indexOf('--normalize'), normalize = ni >= 0 ? args[ni + 1] : 'running';
  if (normalize !== 'running' && normalize !== 'two-pass') throw new Error(`--normalize: expected running or two-pass, found ${normalize}`);
  const features = streamingFeatures(stack, normalize);
  const sparse = randomStreamingModel(features, 0.1);
  const models: TimedModel[] = [['dense', randomStreamingModel(features, 1)], ['sparse-90', sparse], ['sparse-90 + digit lexicon (beam 16)', sparse, DIGITS]];
  const ip = inProcess(models, { seconds: opt('--seconds', 10), reps: opt('--reps', 5), rates: [16000, 48000], chunkMs: 100 });
  console.log(`Node ${process.version}, in process, stack ${stack} (${featureWidth(features)} inputs), ${normalize} normalisation, ${ip[0].audioSeconds} s of audio, ${ip[0].frames} model frames, ${ip[0].backend}:\n${table(ip)}`);
  let chromium: InProcessResult[] | string = 'skipped (--no-chromium)';
  if (!args.includes('--no-chromium')) {
    chromium = await inChromium(models, { seconds: opt('--seconds', 10), reps: opt('--reps', 5), rates: [16000, 48000], chunkMs: 100 });
    console.log(typeof chromium === 'string' ? `\nChromium: skipped: ${chromium}` : `\nChromium (headless), ${chromium[0].backend}:\n${table(chromium)}`);
  }
  let cli: CliResult[] = [];
  if (!args.includes('--no-cli')) {
    cli = await endToEnd(models, { seconds: opt('--cli-seconds', 3), reps: opt('--cli-reps', 3) });
    console.log(`\nend to end (transcribe --stream on stdin, 16 kHz PCM written in real time, 100 ms chunks):\n` +
      '| model | last chunk written → final line (median) | runs | partial lines |\n|---|---|---|---|\n' +
      cli.map((r) => `| ${r.model} | ${r.latencyMs.toFixed(1)} ms | ${r.runs.map((x) => x.toFixed(1)).join(', ')} | ${r.partials} |`).join('\n'));
  }
  if (jsonAt >= 0) writeFileSync(args[jsonAt + 1], JSON.stringify({ inProcess: ip, chromium, endToEnd: cli }, null, 2) + '\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

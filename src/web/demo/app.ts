// The demo page (served by `sparse-rnn serve`): the char LM generating text token by token with the
// per-step latency of the sparse model and of a dense model measured live in this browser, the
// sparsity pattern of every weight matrix, sizes, and (when the server has one) a speech model:
// upload a WAV or record from the microphone (transcribed as you speak by the streaming transcriber
// in a Web Worker), see the transcript and the time the sparse model and its dense form took
// (transcribeWav, the function `sparse-rnn transcribe` runs in Node).
//
// Compute: in a cross-origin isolated page (`sparse-rnn serve` sends COOP/COEP) the char LM runs in
// a Web Worker that drives a pool of kernel threads (one per core by default): the page's main thread
// cannot block in Atomics.wait, so Web Worker mode is the default there. Elsewhere, one thread. The
// page shows which kernels and how many threads run (#engine, <body data-kernels data-threads>).
//
// The runtime comes from ./sparse-rnn.js (the build keeps it external), exactly what users import.
// URL parameters preset the controls: backend=auto|wasm|relaxed|ts (or kernels=…), threads=N,
// worker=0|1, fast=1, prompt, length, temperature, seed, model=<url of an .srnn to load instead of
// the server's>, dense=<url>|twin.
// <body data-state> is loading | ready | generating | transcribing | done | error (the end-to-end
// test waits on it).

import {
  SparseModel, WorkerModel, SparseWorker, CharGenerator, charVocab, readSrnn, wasmSimdSupported, wasmRelaxedSupported, fetchModelBytes,
  denseTwin, modelStats, densityGrid, transcribeWav, lexiconOf, speechModelInfo, streamRefusal, encodeWav16, createWebEngine, crossOriginIsolatedNow, browserCores,
  type SrnnFile, type GeneratedToken, type WorkerTranscriber, type ModelConfig, type SpeechModelInfo, type TranscribeResult, type KernelChoice, type Engine,
} from '../runtime.js';

// ---------------------------------------------------------------------------------------------
// DOM

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: #${id} is missing`);
  return e as T;
};
const el = {
  status: $('status'), error: $('error'), modelInfo: $('model-info'), file: $<HTMLInputElement>('model-file'),
  reload: $<HTMLButtonElement>('reload-server'), backend: $<HTMLSelectElement>('backend'), worker: $<HTMLInputElement>('use-worker'),
  threads: $<HTMLInputElement>('threads'), engine: $('engine'),
  charlm: $('charlm'), prompt: $<HTMLInputElement>('prompt'), length: $<HTMLInputElement>('length'),
  temperature: $<HTMLInputElement>('temperature'), seed: $<HTMLInputElement>('seed'), fast: $<HTMLInputElement>('fast'),
  generate: $<HTMLButtonElement>('generate'), stop: $<HTMLButtonElement>('stop'),
  outSparse: $('out-sparse'), outDense: $('out-dense'), nameSparse: $('name-sparse'), nameDense: $('name-dense'),
  latSparse: $('lat-sparse'), latDense: $('lat-dense'), chart: $<HTMLCanvasElement>('latency-chart'), latSummary: $('lat-summary'),
  speech: $('speech'), speechInfo: $('speech-info'), speechFrames: $<HTMLInputElement>('speech-frames'),
  speechRun: $<HTMLButtonElement>('speech-run'), speechResult: $('speech-result'), speechUnavailable: $('speech-unavailable'),
  speechWav: $<HTMLInputElement>('speech-wav'), speechRecord: $<HTMLButtonElement>('speech-record'), speechRecStatus: $('speech-rec-status'),
  speechDownload: $<HTMLAnchorElement>('speech-download'), speechDigits: $<HTMLInputElement>('speech-digits'), speechTranscript: $('speech-transcript'), speechTiming: $('speech-timing'),
  sparsity: $('sparsity'), maps: $('maps'), layers: $<HTMLTableElement>('layers'),
};

type PageState = 'loading' | 'ready' | 'generating' | 'transcribing' | 'done' | 'error';
function setState(s: PageState): void {
  document.body.dataset.state = s;
}

function showError(what: string, e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  el.error.textContent = `${what}\n${msg}`;
  el.error.hidden = false;
  setState('error');
  console.error(what, e);
}
function clearError(): void {
  el.error.hidden = true;
  el.error.textContent = '';
}

const kib = (n: number): string => (n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

// ---------------------------------------------------------------------------------------------
// Models: on the main thread or in a worker, behind one small interface

interface Gen {
  start(prompt: string): Promise<void>;
  next(n: number): Promise<GeneratedToken[]>;
}
interface Handle {
  backend: string;
  /** The compute engine in one line ("kernels wasm simd128 (auto), 2 threads"), its variant and threads. */
  engine: string;
  variant: string;
  threads: number;
  generator(vocab: string[], o: { temperature: number; seed: number }): Promise<Gen>;
  dispose(): void;
}

/** Compute settings from the controls. */
interface Compute { kernels: KernelChoice; threads: number; inWorker: boolean }
function computeSettings(): Compute {
  const threads = readInt(el.threads, 'Threads', 1, 64);
  return { kernels: el.backend.value as KernelChoice, threads, inWorker: el.worker.checked };
}

let sharedWorker: SparseWorker | null = null;
const workerUrl = new URL('./sparse-rnn-worker.js', import.meta.url);

/** A model on the page's main thread, on its own engine (one thread: the main thread cannot wait on workers). */
async function mainThreadModel(bytes: Uint8Array, c: Compute): Promise<{ model: SparseModel; engine: Engine }> {
  const engine = await createWebEngine({ kernels: c.kernels, threads: c.threads });
  return { model: await SparseModel.loadAsync(bytes, { kernels: engine.kernels }), engine };
}

async function openModel(bytes: Uint8Array, c: Compute): Promise<Handle> {
  if (c.inWorker) {
    sharedWorker ??= new SparseWorker(workerUrl);
    const m = await WorkerModel.load(bytes, { worker: sharedWorker, kernels: c.kernels, threads: c.threads });
    return {
      backend: `${m.backend}, Web Worker`, engine: m.engine, variant: m.variant, threads: m.threads,
      generator: async (vocab, o) => m.generator(vocab, o),
      dispose: () => void m.dispose().catch(() => undefined),
    };
  }
  const { model: m, engine } = await mainThreadModel(bytes, c);
  const state = m.createState(1); // reused by every generation (heap allocations are never freed)
  return {
    backend: `${m.kernels.name}/${m.sparse.name}, main thread`, engine: engine.describe(), variant: engine.variant, threads: engine.threads,
    generator: async (vocab, o) => {
      const g = new CharGenerator(m, vocab, { ...o, state });
      return { start: async (p) => g.start(p), next: async (n) => Array.from({ length: n }, () => g.next()) };
    },
    dispose: () => void engine.close(),
  };
}

/** Shows which kernels and how many threads compute, and where. */
function showEngine(h: { engine: string; variant: string; threads: number }, where: string): void {
  el.engine.textContent = `Compute: ${h.engine} · ${where}`;
  document.body.dataset.kernels = h.variant;
  document.body.dataset.threads = String(h.threads);
}

function describeConfig(c: ModelConfig): string {
  const cell = c.cell === 'gru' ? 'GRU' : c.cell === 'lstm' ? 'LSTM' : `RNN (${c.cell.slice(4)})`;
  return `${cell}, ${c.numLayers} layer${c.numLayers > 1 ? 's' : ''} × ${c.hiddenSize} hidden${c.bidirectional ? ', bidirectional' : ''}` +
    (c.vocabSize ? `, vocabulary ${c.vocabSize}, embedding ${c.inputSize}` : `, ${c.inputSize} input features`) +
    (c.outputSize ? `, ${c.outputSize} outputs` : '');
}

/** Parse an .srnn file with an error that says which file and what is wrong. */
function parse(bytes: Uint8Array, label: string): SrnnFile {
  if (bytes.length === 0) throw new Error(`${label} is empty (0 bytes)`);
  try {
    return readSrnn(bytes);
  } catch (e) {
    throw new Error(`${label} is not a valid .srnn model: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Server listing

interface ServedModel { url: string; source: string }
interface Listing { dir: string; charlm: ServedModel | null; dense: ServedModel | null; speech: ServedModel | null; notes: string[] }

async function listing(): Promise<Listing | null> {
  try {
    const r = await fetch('api/models', { cache: 'no-store' });
    if (!r.ok) return null;
    return (await r.json()) as Listing;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Char LM

interface CharLM {
  vocab: string[];
  sparse: Handle;
  dense: Handle;
  denseIsTwin: boolean;
}
let charlm: CharLM | null = null;
let stopRequested = false;
let generating = false;

function disposeCharLM(): void {
  charlm?.sparse.dispose();
  charlm?.dense.dispose();
  charlm = null;
}

/** Load a char LM (sparse bytes, optional dense-trained bytes) and show its weights. */
async function openCharLM(bytes: Uint8Array, label: string, denseBytes: Uint8Array | null, denseLabel: string): Promise<void> {
  disposeCharLM();
  el.charlm.hidden = true;
  el.sparsity.hidden = true;
  el.modelInfo.textContent = '';
  const file = parse(bytes, label);
  renderSparsity(file, label);
  const c = file.header.config;
  if (!c.vocabSize) {
    // A model over features (speech: its extra.vocab is the output symbols): show it in the speech section.
    await openSpeech(bytes, label);
    el.modelInfo.textContent = `${label}: ${describeConfig(c)} — not a character model; see the speech section.`;
    return;
  }
  let vocab: string[];
  try {
    vocab = charVocab({ config: c, header: file.header });
  } catch (e) {
    throw new Error(`${label} cannot be used as a character language model: ${(e as Error).message}`);
  }
  const compute = computeSettings();
  let denseSrc = denseBytes, denseName = denseLabel, twin = false, note = '';
  if (denseSrc) {
    try {
      const df = parse(denseSrc, denseLabel);
      const dv = charVocab({ config: df.header.config, header: df.header });
      if (dv.length !== vocab.length || dv.some((ch, i) => ch !== vocab[i])) throw new Error('its vocabulary differs from the sparse model\'s');
    } catch (e) {
      note = `The dense model ${denseLabel} does not match (${(e as Error).message}); comparing with the sparse model's weights stored dense instead.`;
      denseSrc = null;
    }
  }
  if (!denseSrc) {
    denseSrc = denseTwin(file);
    denseName = 'same weights, stored dense';
    twin = true;
  }
  const sparse = await openModel(bytes, compute);
  let dense: Handle;
  try {
    dense = await openModel(denseSrc, compute);
  } catch (e) {
    sparse.dispose();
    throw e;
  }
  charlm = { vocab, sparse, dense, denseIsTwin: twin };
  showEngine(sparse, compute.inWorker ? 'in a Web Worker' : 'on the page\'s main thread');
  el.nameSparse.textContent = `(${label}, ${kib(bytes.length)})`;
  el.nameDense.textContent = `(${denseName}, ${kib(denseSrc.length)})`;
  el.modelInfo.textContent = `${label}: ${describeConfig(c)} · kernels ${sparse.backend}`;
  el.latSummary.textContent = note;
  for (const o of [el.outSparse, el.outDense]) {
    o.querySelector('.prompt')!.textContent = '';
    o.querySelector('.gen')!.textContent = '';
  }
  el.latSparse.textContent = el.latDense.textContent = '';
  el.charlm.hidden = false;
}

function stats(ms: number[]): { median: number; p90: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { median: q(0.5), p90: q(0.9), mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}
const fmtMs = (x: number): string => (x >= 1 ? `${x.toFixed(2)} ms` : `${(1000 * x).toFixed(0)} µs`);
function latLine(ms: number[]): string {
  if (!ms.length) return '';
  const st = stats(ms);
  return `step ${ms.length}: last ${fmtMs(ms[ms.length - 1])} · mean ${fmtMs(st.mean)} · median ${fmtMs(st.median)} · p90 ${fmtMs(st.p90)} · ` +
    `${st.mean > 0 ? Math.round(1000 / st.mean).toLocaleString('en') : '∞'} steps/s`;
}

function drawChart(a: number[], b: number[]): void {
  const cv = el.chart, ctx = cv.getContext('2d');
  if (!ctx) return;
  const W = cv.width, H = cv.height, pad = 28;
  ctx.clearRect(0, 0, W, H);
  const all = [...a, ...b].sort((x, y) => x - y);
  const top = Math.max(1e-3, all[Math.floor(0.98 * (all.length - 1))] ?? 1e-3) * 1.1;
  const n = Math.max(a.length, b.length, 2);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#667085';
  ctx.fillText(`${fmtMs(top)}`, 2, 12);
  ctx.fillText('0', 2, H - pad + 4);
  ctx.fillText('per-step latency (ms) by generated character', pad + 40, 12);
  ctx.strokeStyle = '#e3e6ee';
  ctx.beginPath();
  ctx.moveTo(pad + 20, H - pad);
  ctx.lineTo(W - 4, H - pad);
  ctx.stroke();
  const plot = (v: number[], color: string): void => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    v.forEach((y, i) => {
      const px = pad + 20 + ((W - pad - 24) * i) / (n - 1);
      const py = H - pad - ((H - pad - 16) * Math.min(y, top)) / top;
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
  };
  plot(b, '#d9480f');
  plot(a, '#1f6feb');
  ctx.fillStyle = '#1f6feb';
  ctx.fillText('sparse', W - 110, H - 8);
  ctx.fillStyle = '#d9480f';
  ctx.fillText('dense', W - 55, H - 8);
}

function readInt(input: HTMLInputElement, name: string, min: number, max: number): number {
  const v = Number(input.value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in [${min}, ${max}], found "${input.value}"`);
  return v;
}

const yieldToBrowser = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runGeneration(): Promise<void> {
  if (!charlm || generating) return;
  const lm = charlm;
  let length: number, temperature: number, seed: number;
  try {
    length = readInt(el.length, 'Length', 1, 20000);
    seed = readInt(el.seed, 'Seed', 0, 2 ** 32 - 1);
    temperature = Number(el.temperature.value);
    if (!(temperature >= 0 && temperature <= 100)) throw new Error(`Temperature must be a number ≥ 0 (0 = greedy), found "${el.temperature.value}"`);
  } catch (e) {
    showError('Check the generation settings:', e);
    return;
  }
  clearError();
  generating = true;
  stopRequested = false;
  el.generate.disabled = true;
  el.stop.disabled = false;
  setState('generating');
  const prompt = el.prompt.value;
  const outs = [el.outSparse, el.outDense];
  const genSpans = outs.map((o) => o.querySelector('.gen')!);
  for (const o of outs) o.querySelector('.prompt')!.textContent = prompt;
  for (const s of genSpans) s.textContent = '';
  const lat: [number[], number[]] = [[], []];
  const texts = ['', ''];
  try {
    const gens = [await lm.sparse.generator(lm.vocab, { temperature, seed }), await lm.dense.generator(lm.vocab, { temperature, seed })];
    await gens[0].start(prompt);
    await gens[1].start(prompt);
    const fast = el.fast.checked;
    let lastDraw = 0;
    for (let i = 0; i < length && !stopRequested;) {
      const n = Math.min(fast ? 32 : 1, length - i);
      for (let k = 0; k < 2; k++) {
        const toks = await gens[k].next(n);
        let s = '';
        for (const t of toks) {
          s += t.char;
          lat[k].push(t.ms);
        }
        texts[k] += s;
        genSpans[k].textContent += s;
      }
      i += n;
      const now = performance.now();
      if (!fast || now - lastDraw > 100 || i >= length) {
        el.latSparse.textContent = latLine(lat[0]);
        el.latDense.textContent = latLine(lat[1]);
        drawChart(lat[0], lat[1]);
        for (const o of outs) o.scrollTop = o.scrollHeight;
        lastDraw = now;
      }
      await yieldToBrowser(fast ? 0 : 16);
    }
    el.latSparse.textContent = latLine(lat[0]);
    el.latDense.textContent = latLine(lat[1]);
    drawChart(lat[0], lat[1]);
    const s = stats(lat[0]), d = stats(lat[1]);
    let agree = 0;
    while (agree < texts[0].length && texts[0][agree] === texts[1][agree]) agree++;
    // The mean: browsers round performance.now() (5 µs cross-origin isolated, 100 µs otherwise, with
    // jitter), so single steps of a small model are quantised, but their mean over many steps is not.
    const ratio = s.mean > 0 ? d.mean / s.mean : Infinity;
    el.latSummary.textContent = `Mean per-step latency over ${lat[0].length} steps: sparse ${fmtMs(s.mean)}, dense ${fmtMs(d.mean)} → ` +
      `sparse is ${ratio >= 1 ? `${ratio.toFixed(2)}× faster` : `${(1 / ratio).toFixed(2)}× slower`}` +
      (lm.denseIsTwin ? ` · same weights: the texts agree on ${agree} of ${texts[0].length} characters` +
        (agree < texts[0].length ? ' (dense and sparse sum in different orders; a sampled character can flip)' : '') : '') +
      (el.fast.checked ? '' : ' · animated: each step follows an idle pause (cold caches); tick "as fast as possible" for steady-state numbers') +
      (crossOriginIsolated ? '' : ' · timer resolution is coarse here (the page is not cross-origin isolated)');
    setState('done');
  } catch (e) {
    showError('Generation failed:', e);
  } finally {
    generating = false;
    el.generate.disabled = false;
    el.stop.disabled = true;
    document.body.dataset.generated = texts[0];
  }
}

// ---------------------------------------------------------------------------------------------
// Speech: transcripts of an uploaded WAV or a microphone recording; latency on random frames

interface SpeechModels {
  sparse: SparseModel;
  dense: SparseModel;
  bytes: Uint8Array;
  /** Whether the microphone path can stream (a forward-only model with causal normalisation), and its worker copy. */
  canStream: boolean;
  live: Promise<WorkerModel> | null;
  close(): void;
  /** Feature settings and output symbols from the header; null with the reason when it is not a speech model. */
  info: SpeechModelInfo | null;
  why: string;
}
let speechModels: SpeechModels | null = null;
let recordingUrl: string | null = null;

async function openSpeech(bytes: Uint8Array, label: string): Promise<void> {
  const file = parse(bytes, label);
  const c = file.header.config;
  // On the main thread (transcribeWav is synchronous), so on one thread.
  const compute: Compute = { ...computeSettings(), threads: 1, inWorker: false };
  const s = await mainThreadModel(bytes, compute);
  const d = await mainThreadModel(denseTwin(file), compute);
  const sparse = s.model, dense = d.model;
  speechModels?.close();
  let info: SpeechModelInfo | null = null, why = '';
  try {
    info = speechModelInfo(sparse, label);
  } catch (e) {
    why = (e as Error).message;
  }
  const canStream = !!info && !streamRefusal(sparse, info, label);
  const sm: SpeechModels = {
    sparse, dense, info, why, bytes, canStream, live: null,
    close: () => {
      void s.engine.close();
      void d.engine.close();
      void sm.live?.then((m) => m.dispose()).catch(() => undefined);
    },
  };
  speechModels = sm;
  const st = modelStats(file);
  const syms = file.header.extra?.vocab;
  el.speechInfo.textContent = `${label}: ${describeConfig(c)} · ${pct(1 - st.nonzeros / Math.max(1, st.weights))} of the weights are zero · ` +
    `${kib(st.fileBytes)} (dense fp32 ${kib(st.denseBytes)})` + (Array.isArray(syms) ? ` · ${syms.length} output symbols` : '') +
    (info ? ` · ${info.features.nMels} log-mel bands at ${info.features.sampleRate / 1000} kHz, ${info.features.stack} stacked, stride ${info.features.stride}` : '') +
    ` · kernels ${sparse.kernels.name}/${sparse.sparse.name} (${s.engine.describe()}, main thread)` +
    (info ? (canStream ? ' · the microphone transcribes as you speak (streaming, in a Web Worker)' : ' · cannot stream (bidirectional, or normalised per utterance): the microphone transcribes at the stop') : '');
  el.speechUnavailable.textContent = info ? '' : `Transcription is off: ${why}. The timing on random features below still works.`;
  el.speechUnavailable.hidden = !!info;
  el.speechWav.disabled = el.speechRecord.disabled = !info;
  el.speechResult.textContent = el.speechTiming.textContent = el.speechTranscript.textContent = '';
  delete el.speechTranscript.dataset.done;
  el.speech.hidden = false;
}

/** The digit corpus's words: "digits only" decodes within them (as results/speech-robust/digits.txt). */
const DIGITS = 'zero one two three four five six seven eight nine oh';

/** Transcribe WAV bytes with the sparse model and its dense form; show the text and both timings. */
function showTranscript(wav: Uint8Array, label: string): void {
  const sm = speechModels;
  if (!sm) return;
  clearError();
  el.speechTranscript.textContent = el.speechTiming.textContent = '';
  delete el.speechTranscript.dataset.done;
  try {
    if (!sm.info) throw new Error(sm.why);
    const info = sm.info;
    const decode = el.speechDigits.checked ? { lexicon: lexiconOf(DIGITS, info.vocab).constraint } : {};
    const s: TranscribeResult = transcribeWav(sm.sparse, wav, { label, info, decode });
    const d: TranscribeResult = transcribeWav(sm.dense, wav, { label, info, decode });
    el.speechTranscript.textContent = s.text;
    el.speechTranscript.dataset.done = '1';
    const ratio = s.modelMs > 0 ? d.modelMs / s.modelMs : Infinity;
    el.speechTiming.textContent = `${label}: ${s.seconds.toFixed(2)} s of audio, ${s.frames} model frames · ` +
      `sparse model ${fmtMs(s.modelMs)} (${fmtMs(s.ms)} with features and decoding) · dense form ${fmtMs(d.modelMs)} → ` +
      `sparse is ${ratio >= 1 ? `${ratio.toFixed(2)}× faster` : `${(1 / ratio).toFixed(2)}× slower`}` +
      (d.text === s.text ? ' · same transcript from the dense form' : ` · the dense form reads "${d.text}" (summation order differs)`);
    setState('done');
  } catch (e) {
    showError(`Could not transcribe ${label}:`, e);
  }
}

/** The speech model in the shared Web Worker, for live transcription (loaded at the first recording). */
async function liveModel(sm: SpeechModels): Promise<WorkerModel> {
  if (!sm.live) {
    sharedWorker ??= new SparseWorker(workerUrl);
    sm.live = WorkerModel.load(sm.bytes, { worker: sharedWorker, kernels: computeSettings().kernels, threads: 1 });
  }
  return sm.live;
}

interface Recording {
  stop(): Promise<void>;
}
let recording: Recording | null = null;

/**
 * Record from the microphone (click again to stop). The samples stream to the worker's
 * StreamingTranscriber as they arrive (src/sparse/stream.ts, as `transcribe --stream`), so the
 * transcript grows while you speak; at the stop the recording becomes a WAV (downloadable) and goes
 * through the upload path (whole-file transcript and sparse vs dense timing). A model that cannot
 * stream (bidirectional, or per-utterance normalisation) shows the transcript at the stop only.
 */
async function toggleRecording(): Promise<void> {
  if (recording) {
    await recording.stop();
    return;
  }
  const sm = speechModels;
  if (!sm?.info) return;
  if (!navigator.mediaDevices?.getUserMedia || typeof AudioContext === 'undefined')
    throw new Error('this browser cannot record here (the microphone needs a secure context: https or localhost)');
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const ctx = new AudioContext();
  const rate = ctx.sampleRate;
  let live: WorkerTranscriber | null = null;
  try {
    if (sm.canStream) live = await (await liveModel(sm)).transcriber(rate, el.speechDigits.checked ? { lexicon: DIGITS } : {});
  } catch (e) {
    for (const t of stream.getTracks()) t.stop();
    void ctx.close();
    throw e;
  }
  const source = ctx.createMediaStreamSource(stream);
  // ScriptProcessorNode (one mono input: the browser mixes the channels down) hands us the samples
  // in ~85 ms blocks without a separate AudioWorklet module file.
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const chunks: Float32Array[] = [];
  let pending: Promise<unknown> = Promise.resolve();
  let seconds = 0;
  clearError();
  el.speechTranscript.textContent = el.speechTiming.textContent = '';
  delete el.speechTranscript.dataset.done;
  proc.onaudioprocess = (e): void => {
    const x = Float32Array.from(e.inputBuffer.getChannelData(0));
    chunks.push(x);
    seconds += x.length / rate;
    el.speechRecStatus.textContent = `recording… ${seconds.toFixed(1)} s${live ? ', transcribing as you speak' : ''}; click Stop to finish`;
    if (live) pending = pending.then(() => live.push(x)).then((ev) => { if (ev) el.speechTranscript.textContent = ev.text; });
  };
  source.connect(proc);
  proc.connect(ctx.destination);
  recording = {
    async stop(): Promise<void> {
      recording = null;
      proc.onaudioprocess = null;
      source.disconnect();
      proc.disconnect();
      for (const t of stream.getTracks()) t.stop();
      void ctx.close();
      el.speechRecord.textContent = '● Record';
      el.speechRecord.classList.remove('recording');
      el.speechRecStatus.textContent = '';
      try {
        await pending;
        const fin = live ? await live.end() : null;
        const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
        let o = 0;
        for (const c of chunks) {
          samples.set(c, o);
          o += c.length;
        }
        if (!samples.length) throw new Error('the recording is empty');
        // 16-bit WAV bytes: the downloadable file gives this very transcript with `sparse-rnn transcribe`.
        const wav = encodeWav16(samples, rate);
        if (recordingUrl) URL.revokeObjectURL(recordingUrl);
        recordingUrl = URL.createObjectURL(new Blob([wav as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }));
        el.speechDownload.href = recordingUrl;
        el.speechDownload.hidden = false;
        showTranscript(wav, 'the recording');
        if (fin && fin.text !== el.speechTranscript.textContent)
          el.speechTiming.textContent += ` · streamed while recording: "${fin.text}" (the WAV is 16-bit, the live samples were float)`;
      } catch (e) {
        showError('Could not use the recording:', e);
      }
    },
  };
  el.speechRecord.textContent = '■ Stop';
  el.speechRecord.classList.add('recording');
  el.speechRecStatus.textContent = `recording…${live ? ' transcribing as you speak;' : ''} click Stop to finish`;
}

function timeSpeech(): void {
  if (!speechModels) return;
  try {
    const T = readInt(el.speechFrames, 'Frames', 1, 10000);
    const out: string[] = [];
    for (const [name, m] of [['sparse', speechModels.sparse], ['dense', speechModels.dense]] as const) {
      const I = m.config.inputSize;
      const x = Float32Array.from({ length: T * I }, (_, i) => Math.sin(i * 0.37) * 0.5);
      m.run(x.subarray(0, Math.min(T, 4) * I)); // warm up
      const t0 = performance.now();
      m.run(x);
      const ms = performance.now() - t0;
      out.push(`${name}: ${fmtMs(ms)} for ${T} frames (${fmtMs(ms / T)} per frame)`);
    }
    el.speechResult.textContent = out.join(' · ');
  } catch (e) {
    showError('Speech timing failed:', e);
  }
}

// ---------------------------------------------------------------------------------------------
// Sparsity pictures and the size table

function renderSparsity(file: SrnnFile, label: string): void {
  el.maps.replaceChildren();
  const tbody = el.layers.tBodies[0], tfoot = el.layers.tFoot!;
  tbody.replaceChildren();
  tfoot.replaceChildren();
  const st = modelStats(file);
  for (const m of st.matrices) {
    const t = file.tensors.get(m.name)!;
    const g = densityGrid(t, 256);
    const cv = document.createElement('canvas');
    cv.width = g.gw;
    cv.height = g.gh;
    const scale = Math.min(4, 240 / Math.max(g.gw, g.gh));
    cv.style.width = `${Math.round(g.gw * scale)}px`;
    cv.style.height = `${Math.round(g.gh * scale)}px`;
    const ctx = cv.getContext('2d');
    if (ctx) {
      const img = ctx.createImageData(g.gw, g.gh);
      for (let i = 0; i < g.density.length; i++) {
        const s = Math.sqrt(g.density[i]); // √ so that a few nonzeros still show
        img.data[4 * i] = 255 - s * (255 - 16);
        img.data[4 * i + 1] = 255 - s * (255 - 60);
        img.data[4 * i + 2] = 255 - s * (255 - 140);
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    const sparsity = 1 - m.nonzeros / (m.rows * m.cols);
    const c = file.header.config;
    const gates = c.cell === 'gru' ? 'r, z, n' : c.cell === 'lstm' ? 'i, f, g, o' : '';
    cap.textContent = `${m.name} [${m.rows}×${m.cols}] · ${pct(sparsity)} zero · ${m.storage}` + (g.f > 1 ? ` · ${g.f}×${g.f} blocks` : '') +
      (gates && m.name.startsWith('rnn.weight_') ? ` · gates ${gates} top to bottom` : '');
    fig.append(cv, cap);
    el.maps.append(fig);
    const tr = document.createElement('tr');
    for (const v of [m.name, `${m.rows}×${m.cols}`, m.storage, m.nonzeros.toLocaleString('en'), pct(sparsity), kib(m.denseBytes), kib(m.fileBytes)]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    tbody.append(tr);
  }
  const tr = document.createElement('tr');
  const total = [`${label} (all tensors, header included)`, '', '', st.nonzeros.toLocaleString('en'),
    pct(1 - st.nonzeros / Math.max(1, st.weights)), kib(st.denseBytes), `${kib(st.fileBytes)} (${(st.denseBytes / st.fileBytes).toFixed(1)}× smaller)`];
  for (const v of total) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(td);
  }
  tfoot.append(tr);
  el.sparsity.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Start-up and controls

const params = new URLSearchParams(location.search);
/** Threads are possible here: a cross-origin isolated page that can start Web Workers (they run in Web Worker mode). */
const threadsPossible = crossOriginIsolatedNow() && typeof Worker === 'function';

function preset(): void {
  const b = params.get('backend') ?? params.get('kernels');
  if (b === 'auto' || b === 'wasm' || b === 'relaxed' || b === 'ts') el.backend.value = b;
  // Threads only compute in a Web Worker, so that is the default wherever threads are possible.
  const w = params.get('worker');
  el.worker.checked = w === '1' || (w !== '0' && threadsPossible);
  el.threads.value = params.get('threads') ?? String(threadsPossible ? browserCores() : 1);
  if (!threadsPossible) {
    el.threads.disabled = true;
    el.threads.title = 'one thread: threads need a cross-origin isolated page (COOP same-origin, COEP require-corp)';
  }
  if (params.get('fast') === '1') el.fast.checked = true;
  for (const [k, input] of [['prompt', el.prompt], ['length', el.length], ['temperature', el.temperature], ['seed', el.seed]] as const) {
    const v = params.get(k);
    if (v !== null) input.value = v;
  }
}

let userFile: { bytes: Uint8Array; name: string } | null = null;

async function loadFromServer(): Promise<void> {
  setState('loading');
  clearError();
  el.status.textContent = 'Loading models…';
  const custom = params.get('model');
  const list = await listing();
  let found = false;
  if (custom) {
    const dense = params.get('dense');
    const bytes = await fetchModelBytes(custom);
    const denseBytes = dense && dense !== 'twin' ? await fetchModelBytes(dense) : null;
    await openCharLM(bytes, custom.split('/').pop() ?? custom, denseBytes, dense ?? '');
    found = true;
  } else if (list?.charlm) {
    const bytes = await fetchModelBytes(list.charlm.url);
    let denseBytes: Uint8Array | null = null;
    if (list.dense && params.get('dense') !== 'twin') {
      try {
        denseBytes = await fetchModelBytes(list.dense.url);
      } catch (e) {
        el.latSummary.textContent = `(dense model unavailable: ${(e as Error).message})`;
      }
    }
    await openCharLM(bytes, list.charlm.source, denseBytes, list.dense?.source ?? '');
    found = true;
  }
  if (list?.speech && !custom) {
    await openSpeech(await fetchModelBytes(list.speech.url), list.speech.source);
    found = true;
  }
  if (!found) {
    const why = list ? `No model in ${list.dir}${list.notes.length ? ` (${list.notes.join('; ')})` : ''}.` : 'The server lists no models (is this page served by `sparse-rnn serve`?).';
    throw new Error(`${why} Run \`sparse-rnn demo\` to train one, or load your own .srnn file above.`);
  }
}

async function loadUserFile(): Promise<void> {
  if (!userFile) return;
  setState('loading');
  clearError();
  el.speech.hidden = true;
  await openCharLM(userFile.bytes, userFile.name, null, '');
}

async function guarded(what: string, f: () => Promise<void>): Promise<void> {
  el.generate.disabled = true;
  try {
    await f();
    setState('ready');
  } catch (e) {
    showError(what, e);
  } finally {
    el.generate.disabled = !charlm;
    updateStatus();
  }
}

function updateStatus(): void {
  const simd = wasmSimdSupported();
  el.status.textContent = `WebAssembly SIMD: ${simd ? 'yes' : 'no (TypeScript kernels)'} · ` +
    (simd ? `relaxed SIMD: ${wasmRelaxedSupported() ? 'yes' : 'no'} · ` : '') +
    `threads: ${threadsPossible ? `up to ${browserCores()} (cross-origin isolated; they compute in Web Worker mode)` : '1 (the page is not cross-origin isolated)'} · ` +
    `timer resolution: ${crossOriginIsolated ? 'fine (cross-origin isolated)' : 'coarse'}`;
}

function init(): void {
  preset();
  updateStatus();
  el.generate.addEventListener('click', () => void runGeneration());
  el.stop.addEventListener('click', () => { stopRequested = true; });
  el.speechRun.addEventListener('click', timeSpeech);
  el.speechWav.addEventListener('change', () => {
    const f = el.speechWav.files?.[0];
    if (!f) return;
    setState('transcribing');
    void f.arrayBuffer().then((b) => showTranscript(new Uint8Array(b), f.name), (e: unknown) => showError(`Could not read ${f.name}:`, e))
      .finally(() => { el.speechWav.value = ''; });
  });
  el.speechRecord.addEventListener('click', () => {
    void toggleRecording().catch((e: unknown) => {
      showError('Could not record from the microphone:', e);
    });
  });
  el.file.addEventListener('change', () => {
    const f = el.file.files?.[0];
    if (!f) return;
    void guarded(`Could not load ${f.name}:`, async () => {
      userFile = { bytes: new Uint8Array(await f.arrayBuffer()), name: f.name };
      await loadUserFile();
    });
  });
  el.reload.addEventListener('click', () => { userFile = null; el.file.value = ''; void guarded('Could not load the server\'s models:', loadFromServer); });
  const reopen = (): void => {
    if (generating) stopRequested = true;
    void guarded('Could not load the model:', userFile ? loadUserFile : loadFromServer);
  };
  el.backend.addEventListener('change', reopen);
  el.worker.addEventListener('change', reopen);
  el.threads.addEventListener('change', reopen);
  void guarded('Could not load the server\'s models:', loadFromServer);
}

init();

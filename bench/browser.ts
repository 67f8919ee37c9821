// Browser benchmark (`npm run bench -- browser [--quick]`): Debian's Chromium, headless through
// playwright-core, runs bench/web/bench-worker.js in a module Web Worker of a cross-origin isolated
// page served by a little static server here (no CDN, nothing fetched from the network):
//   /             bench/web/index.html          /bench-worker.js  bench/web/bench-worker.js
//   /rt/*         dist/web/* (our runtime bundle and its pool worker)
//   /ort/*        node_modules/onnxruntime-web/dist/* (ORT's wasm EP: .mjs glue and .wasm)
//   /m/<id>.*     the models of this run (.srnn sparse and dense, .onnx), made here as in bench/model.ts
// Ours (SparseModel on the sparse and on the dense .srnn) against onnxruntime-web's wasm EP on the
// same weights, at 1 and 2 threads (a fresh worker per thread count: ORT fixes its thread count when
// its WASM starts). Outputs are checked against each other and against Node's before timing.
// Skips with one line when Chromium, playwright-core or onnxruntime-web is missing.

import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/kernels/engine.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { exportOnnx } from '../src/io/onnx.js';
import { ensureWebBuilt } from '../src/cli/commands/serve.js';
import type { ModelConfig } from '../src/nn/config.js';
import { BYTES_DEFINITION, SPEECH_BIRNN, SPEECH_GRU, charGru, exportSparse, modelInputs, randomPrunedWeights, timestepsFor, weightBytesPerStep, type ModelSpec } from './model.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ORT_DIR = join(root, 'node_modules/onnxruntime-web/dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface PWPage {
  goto(url: string): Promise<unknown>;
  on(ev: 'pageerror', f: (e: Error) => void): void;
  on(ev: 'console', f: (m: { type(): string; text(): string }) => void): void;
  evaluate<T, A>(f: (a: A) => T | Promise<T>, arg: A): Promise<T>;
}
interface PWContext { newPage(): Promise<PWPage>; close(): Promise<void> }
interface PW {
  chromium: { launchPersistentContext(dir: string, o: { executablePath: string; headless: boolean; args: string[]; timeout?: number }): Promise<PWContext> };
}

export interface BrowserConfig { spec: ModelSpec; sparsity: number; batch: number; block: string }
export interface BrowserMatrix {
  configs: BrowserConfig[]; threads: number[]; rounds: number; minMs: number;
  /**
   * How onnxruntime-web is timed: 'after' ours (default; each runtime's samples interleaved among themselves),
   * 'interleaved' with ours sample by sample (its runs then slow our two-thread rows: bench/browser-threads-ab.ts),
   * or 'none' (never loaded; ortUs NaN).
   */
  peer?: 'after' | 'interleaved' | 'none';
}

const gru1024 = charGru(1024, 1);

export function browserMatrix(quick: boolean): BrowserMatrix {
  const threads = availableParallelism() > 1 ? [1, 2] : [1];
  const u = 'unstructured';
  if (quick) {
    const small: ModelSpec = { name: 'GRU-256×1', config: { ...gru1024.config, hiddenSize: 256 } };
    const birnn: ModelSpec = { ...SPEECH_BIRNN, name: 'speech biRNN-64×1', config: { ...SPEECH_BIRNN.config, hiddenSize: 64, numLayers: 1 } };
    return { configs: [{ spec: small, sparsity: 0.9, batch: 1, block: u }, { spec: small, sparsity: 0.9, batch: 1, block: '1x4' }, { spec: birnn, sparsity: 0.9, batch: 1, block: u }], threads, rounds: 2, minMs: 2 };
  }
  const configs: BrowserConfig[] = [];
  for (const s of [0.8, 0.9, 0.95]) configs.push({ spec: gru1024, sparsity: s, batch: 1, block: u });
  configs.push({ spec: gru1024, sparsity: 0.9, batch: 8, block: u });
  for (const b of ['1x4', '4x4', '4x1', '1x2']) configs.push({ spec: gru1024, sparsity: 0.9, batch: 1, block: b }, { spec: SPEECH_GRU, sparsity: 0.9, batch: 1, block: b });
  for (const s of [0.8, 0.9, 0.95]) configs.push({ spec: SPEECH_GRU, sparsity: s, batch: 1, block: u });
  configs.push({ spec: SPEECH_BIRNN, sparsity: 0.9, batch: 1, block: u });
  return { configs, threads, rounds: 7, minMs: 20 };
}

export interface BrowserRow {
  model: string; cell: string; hidden: number; layers: number; bidirectional: boolean; sparsity: number; block: string; batch: number; threads: number; T: number;
  sparseUs: number; sparseStepUs: number | null; denseUs: number; ortUs: number; ortStepUs: number | null;
  sparseBytes: number; denseBytes: number;
  /** Max |Δ| of the outputs in the page: ours sparse vs ours dense, vs onnxruntime-web, vs Node's sparse run; ORT-web vs Node. */
  diffDense: number; diffOrt: number; diffNode: number; diffOrtNode: number;
  engine: string;
}

export interface BrowserBench {
  skipped?: string;
  rows: BrowserRow[];
  browser: string; peer: string; isolated: boolean; rounds: number; bytesDefinition: string; seconds: number;
}

interface Job { id: string; config: ModelConfig; T: number; B: number; sparseUrl: string; denseUrl: string; onnxUrl: string; ids: number[] | null; x: number[] | null; nodeY: number[] }
interface JobResult { id: string; engine: string; us: Record<string, number>; diffDense: number; diffOrt: number; diffNode: number; diffOrtNode: number }
interface WorkerReply { ok: boolean; error?: string; results: JobResult[]; isolated: boolean; ortVersion: string; userAgent: string }

/** Why the browser benchmark cannot run here, or null. */
export async function browserSkipReason(): Promise<string | null> {
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (a devDependency: npm install)';
  }
  if (!existsSync(join(root, 'bench/web/bench-worker.js'))) return `the benchmark page is missing (${join(root, 'bench/web')}; run from a checkout of the repository)`;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (!existsSync(join(ORT_DIR, 'ort.wasm.min.mjs'))) return `onnxruntime-web is not installed (no ${join(ORT_DIR, 'ort.wasm.min.mjs')}; it is a devDependency: npm install)`;
  return null;
}

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.map': 'application/json' };

/** The static server: cross-origin isolated (COOP/COEP) so that both runtimes may use threads. */
async function serve(models: Map<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const webDir = join(root, 'bench/web'), rtDir = join(root, 'dist/web');
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store' };
    let body: Uint8Array | undefined, type = 'application/octet-stream';
    const under = (dir: string, rel: string): string | undefined => {
      const p = normalize(join(dir, rel));
      return p.startsWith(dir + sep) && existsSync(p) ? p : undefined;
    };
    let file: string | undefined;
    if (path === '/' || path === '/index.html') file = join(webDir, 'index.html');
    else if (path === '/bench-worker.js') file = join(webDir, 'bench-worker.js');
    else if (path.startsWith('/rt/')) file = under(rtDir, path.slice(4));
    else if (path.startsWith('/ort/')) file = under(ORT_DIR, path.slice(5));
    else if (path.startsWith('/m/')) body = models.get(path.slice(3));
    if (file) {
      body = readFileSync(file);
      type = MIME[extname(file)] ?? type;
    }
    if (!body) {
      res.writeHead(404, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/` };
}

export async function benchBrowser(opts: { quick: boolean; log: (s: string) => void; matrix?: BrowserMatrix }): Promise<BrowserBench> {
  const t0 = performance.now();
  const mx = opts.matrix ?? browserMatrix(opts.quick);
  const skip = await browserSkipReason();
  const empty = { rows: [], browser: '', peer: '', isolated: false, rounds: mx.rounds, bytesDefinition: BYTES_DEFINITION, seconds: 0 };
  if (skip) return { ...empty, skipped: skip };
  ensureWebBuilt();
  const pw = (await import('playwright-core')) as unknown as PW;

  // Models, inputs and Node's outputs (ours sparse, 1 thread) for every configuration.
  const models = new Map<string, Uint8Array>();
  const jobs: Job[] = [];
  const meta = new Map<string, { c: BrowserConfig; T: number; sparseBytes: number; denseBytes: number }>();
  const e = await createEngine({ threads: 1, kernels: 'auto' });
  for (const [i, bc] of mx.configs.entries()) {
    const c = bc.spec.config, id = String(i);
    const w = randomPrunedWeights(c, bc.sparsity, bc.block);
    const sparse = exportSparse(c, w, bc.block), dense = exportModel(c, w, { values: 'fp32', storage: 'dense' });
    models.set(`${id}.sparse.srnn`, sparse);
    models.set(`${id}.dense.srnn`, dense);
    models.set(`${id}.onnx`, exportOnnx(c, w, { state: true }).bytes);
    const T = timestepsFor(weightBytesPerStep(dense, 1)), B = bc.batch;
    const { ids, x } = modelInputs(c, T, B);
    const nodeY = SparseModel.load(sparse, { kernels: e.kernels }).run((ids ?? x)!, { batch: B });
    jobs.push({ id, config: c, T, B, sparseUrl: `/m/${id}.sparse.srnn`, denseUrl: `/m/${id}.dense.srnn`, onnxUrl: `/m/${id}.onnx`,
      ids: ids ? Array.from(ids) : null, x: x ? Array.from(x) : null, nodeY: Array.from(nodeY) });
    meta.set(id, { c: bc, T, sparseBytes: weightBytesPerStep(sparse, B), denseBytes: weightBytesPerStep(dense, B) });
  }
  await e.close();

  const { server, url } = await serve(models);
  const profile = mkdtempSync(join(tmpdir(), 'sparse-rnn-bench-chromium-'));
  const rows: BrowserRow[] = [];
  let info = { browser: '', peer: '', isolated: false };
  let ctx: PWContext | null = null;
  try {
    ctx = await pw.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, timeout: 60_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url);
    for (const threads of mx.threads) {
      const reply = await page.evaluate(async (job) => {
        const w = new Worker('/bench-worker.js', { type: 'module' });
        try {
          return await new Promise<WorkerReply>((res, rej) => {
            w.onmessage = (ev: MessageEvent<WorkerReply>) => res(ev.data);
            w.onerror = (ev: ErrorEvent) => rej(new Error(`bench worker: ${ev.message}`));
            w.postMessage(job);
          });
        } finally {
          w.terminate();
        }
      }, { threads, configs: jobs, rounds: mx.rounds, minMs: mx.minMs, peer: mx.peer ?? 'after' });
      if (!reply.ok) throw new Error(`bench browser: the page failed: ${reply.error}${errors.length ? `\n${errors.join('\n')}` : ''}`);
      info = { browser: reply.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? reply.userAgent, peer: `onnxruntime-web ${reply.ortVersion} (wasm EP)`, isolated: reply.isolated };
      for (const r of reply.results) {
        const m = meta.get(r.id)!, c = m.c.spec.config;
        const row: BrowserRow = {
          model: m.c.spec.name, cell: c.cell, hidden: c.hiddenSize, layers: c.numLayers, bidirectional: c.bidirectional, sparsity: m.c.sparsity, block: m.c.block,
          batch: m.c.batch, threads, T: m.T, sparseUs: r.us.sparse, sparseStepUs: r.us.step ?? null, denseUs: r.us.dense, ortUs: r.us.ort ?? Number.NaN, ortStepUs: r.us.ortStep ?? null,
          sparseBytes: m.sparseBytes, denseBytes: m.denseBytes, diffDense: r.diffDense, diffOrt: r.diffOrt, diffNode: r.diffNode, diffOrtNode: r.diffOrtNode, engine: r.engine,
        };
        rows.push(row);
        opts.log(`browser ${row.model} ${row.sparsity * 100}% B=${row.batch} ${threads}T (T=${row.T}): sparse ${row.sparseUs.toFixed(1)} µs/step` +
          `${row.sparseStepUs === null ? '' : ` (step() ${row.sparseStepUs.toFixed(1)})`}, dense ${row.denseUs.toFixed(1)}, onnxruntime-web ${row.ortUs.toFixed(1)}` +
          `${row.ortStepUs === null ? '' : ` (1-step call ${row.ortStepUs.toFixed(1)})`}; ` +
          `max|Δ| ORT ${row.diffOrt.toExponential(1)}, Node ${row.diffNode.toExponential(1)} [${row.engine}]`);
      }
    }
  } finally {
    await ctx?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return { rows, ...info, rounds: mx.rounds, bytesDefinition: BYTES_DEFINITION, seconds: (performance.now() - t0) / 1000 };
}

const f1 = (v: number | null): string => (v === null ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number, b: number): string => `**${(a / b).toFixed(2)}x**`;
const gbs = (bytes: number, us: number): string => (bytes / (us * 1e3)).toFixed(1);

export function browserMarkdown(r: BrowserBench): string {
  if (r.skipped) return `Skipped: ${r.skipped}.`;
  return [
    `${r.browser} headless (playwright-core), page ${r.isolated ? 'cross-origin isolated' : 'NOT cross-origin isolated'}; each thread count in a fresh module Web Worker. ` +
      `Ours: the runtime bundle dist/web/sparse-rnn.js (kernels auto) on the sparse .srnn and on the same weights stored dense; peer: ${r.peer}, ` +
      'env.wasm.numThreads = threads, the ONNX model of our exporter on the same weights, files served from node_modules. ' +
      'Models and timing as in the Node table: µs per timestep = one call over T timesteps ÷ T, median of ' +
      `${r.rounds} samples; ours' timers interleaved among themselves, then onnxruntime-web's, in the same worker (interleaved with ours, its runs ` +
      `slowed our two-thread rows: node dist/bench/browser-threads-ab.js); streaming: one timestep per call (ours step(), ORT session.run). ${r.bytesDefinition} max|Δ| (in the page, before timing): ours sparse vs onnxruntime-web, and vs Node's sparse output.`,
    '',
    ...['GRU-1024×1', SPEECH_GRU.name, SPEECH_BIRNN.name].flatMap((name) => [...new Set(r.rows.map((x) => x.block))].map((block) => [name, block])).flatMap(([name, block]) => {
      const h = r.rows.find((x) => x.model === name && x.sparsity === 0.9 && x.batch === 1 && x.threads === 1 && x.block === block);
      return h ? [`- ${name}${block === 'unstructured' ? '' : `, ${block} blocks`}, 90%, batch 1, 1 thread: ours sparse ${f1(h.sparseUs)} µs/step vs onnxruntime-web ${f1(h.ortUs)} (${ratio(h.ortUs, h.sparseUs)}) and ours dense ` +
        `${f1(h.denseUs)} (${ratio(h.denseUs, h.sparseUs)})` +
        (h.sparseStepUs === null || h.ortStepUs === null ? '.' : `; streaming ${f1(h.sparseStepUs)} vs ${f1(h.ortStepUs)} µs (${ratio(h.ortStepUs, h.sparseStepUs)}).`)] : [];
    }),
    '',
    '| model | sparsity | batch | threads | T | ours sparse µs/step | ours dense | onnxruntime-web | vs dense | vs onnxruntime-web | streaming: ours step() µs | onnxruntime-web 1-step call µs | vs onnxruntime-web | GB/s sparse / dense / onnxruntime-web | max\\|Δ\\| ORT, Node |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.model}${x.block === 'unstructured' ? '' : ` ${x.block}`} | ${x.sparsity * 100}% | ${x.batch} | ${x.threads} | ${x.T} | ${f1(x.sparseUs)} | ` +
      `${f1(x.denseUs)} | ${f1(x.ortUs)} | ${ratio(x.denseUs, x.sparseUs)} | ${ratio(x.ortUs, x.sparseUs)} | ${f1(x.sparseStepUs)} | ${f1(x.ortStepUs)} | ` +
      `${x.ortStepUs === null || x.sparseStepUs === null ? '–' : ratio(x.ortStepUs, x.sparseStepUs)} | ` +
      `${gbs(x.sparseBytes, x.sparseUs)} / ${gbs(x.denseBytes, x.denseUs)} / ${gbs(x.denseBytes, x.ortUs)} | ${x.diffOrt.toExponential(0)}, ${x.diffNode.toExponential(0)} |`),
    '',
    `${r.rows.length} rows in ${r.seconds.toFixed(0)} s.`,
  ].join('\n');
}

// Threads in a real browser: `sparse-rnn serve` (cross-origin isolated: COOP/COEP) and Debian's
// Chromium driven headless by playwright-core. In the isolated page, the demo runs in Web Worker mode
// by default with one thread per core, shows its kernels and threads, and generates exactly Node's
// single-threaded text; through the runtime API, a WorkerModel on 2 threads returns run() logits
// bit for bit equal to Node's single-threaded SparseModel (both kernel variants, batch 1 and 4). The
// same page served without the isolation headers falls back to one thread and says why.
//
// Skips (with the reason) when Chromium or playwright-core is missing; never downloads a browser.
// CHROMIUM_PATH overrides /usr/bin/chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { exportModel } from '../src/sparse/export.js';
import { readSrnn } from '../src/sparse/format.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { charVocab, encodeChars, generate } from '../src/sparse/generate.js';
import { denseTwin } from '../src/web/model-tools.js';
import { createEngine, type Engine } from '../src/kernels/engine.js';
import { wasmRelaxedSupported } from '../src/kernels/wasm.js';
import { Rng } from '../src/util/rng.js';
import { ensureWebBuilt, startServer } from '../src/cli/commands/serve.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// --- playwright-core, typed by the little this test uses (an optional devDependency) ---
interface PWLocator {
  textContent(): Promise<string | null>; isChecked(): Promise<boolean>; click(): Promise<void>; selectOption(v: string): Promise<unknown>;
}
interface PWPage {
  goto(url: string): Promise<unknown>;
  locator(sel: string): PWLocator;
  waitForSelector(sel: string, o?: { timeout?: number }): Promise<unknown>;
  on(ev: 'pageerror', f: (e: Error) => void): void;
  on(ev: 'console', f: (m: { type(): string; text(): string }) => void): void;
  evaluate<T, A>(f: (a: A) => T | Promise<T>, arg: A): Promise<T>;
  close(): Promise<void>;
}
interface PWContext { newPage(): Promise<PWPage>; close(): Promise<void> }
interface PW {
  chromium: {
    launchPersistentContext(dir: string, o: { executablePath: string; headless: boolean; args: string[]; timeout?: number }): Promise<PWContext>;
  };
}

let pw: PW | null = null;
try {
  pw = (await import('playwright-core')) as unknown as PW;
} catch {
  pw = null;
}
let skip: string | false = false;
if (!pw) skip = 'playwright-core is not installed (a devDependency: npm install)';
else if (!existsSync(CHROMIUM)) skip = `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
if (skip) process.stderr.write(`browser-threads.test: skipped: ${skip}\n`);

// A random ~90%-sparse char LM, large enough that its kernel calls are split across threads
// (recurrent SpMV: 480×160 with ~7.7k non-zeros, above the threaded kernels' 4096).
const VOCAB = ['<unk>', '\n', ' ', ...'abcdefghijklmnopqrstuvwxyz.,'];
const PROMPT = 'the whale ';

function randomModel(seed: number): Uint8Array {
  const V = VOCAB.length;
  const config: ModelConfig = { cell: 'gru', inputSize: 16, hiddenSize: 160, numLayers: 2, bidirectional: false, vocabSize: V, outputSize: V };
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const keep = s.kind === 'bias' ? 1 : 0.1;
    weights.set(s.name, Float32Array.from({ length: n }, () => (rng.next() < keep ? rng.uniform(-1, 1) : 0)));
  }
  return exportModel(config, weights, { values: 'fp32', extra: { vocab: VOCAB } });
}

/** The same server with the cross-origin isolation headers removed. */
async function withoutIsolation(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const r = await fetch(new URL(req.url ?? '/', target));
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!k.startsWith('cross-origin-') && !['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) headers[k] = v;
      });
      res.writeHead(r.status, headers);
      res.end(Buffer.from(await r.arrayBuffer()));
    })().catch(() => { res.statusCode = 502; res.end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`, server };
}

interface RunResult { engine: string; threads: number; variant: string; y1: number[]; y4: number[] }

test('browser threads: Web Worker mode on 2+ threads when cross-origin isolated, outputs bit-identical to Node\'s one thread; one thread without isolation',
  { skip, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'srnn-browser-threads-'));
    const profile = mkdtempSync(join(tmpdir(), 'srnn-chromium-'));
    ensureWebBuilt();
    const bytes = randomModel(21);
    writeFileSync(join(dir, 'model.srnn'), bytes);
    const file = readSrnn(bytes);
    // Node, one thread, per kernel variant: the reference.
    const nodeEngines: Engine[] = [];
    const nodeModel = async (variant: string, b: Uint8Array = bytes): Promise<SparseModel> => {
      const e = await createEngine({ kernels: variant === 'relaxed' ? 'relaxed' : variant === 'ts' ? 'ts' : 'wasm', threads: 1 });
      nodeEngines.push(e);
      return SparseModel.load(b, { kernels: e.kernels });
    };
    const server = await startServer({ port: 0, dir, log: () => undefined });
    const plain = await withoutIsolation(server.url);
    const ctx = await pw!.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, timeout: 60_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    const text = async (sel: string): Promise<string> => (await page.locator(sel).textContent()) ?? '';
    const ready = async (): Promise<void> => {
      await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30_000 });
      assert.equal(await page.evaluate(() => document.body.dataset.state, null), 'ready', await text('#error'));
    };
    const body = (): Promise<{ threads?: string; kernels?: string }> =>
      page.evaluate(() => ({ threads: document.body.dataset.threads, kernels: document.body.dataset.kernels }), null);
    /** Generates in the page and checks the text of both panes against Node's, one thread. */
    const generatesLikeNode = async (o: { temperature: number; seed: number; length: number }, variant: string): Promise<void> => {
      await page.locator('#generate').click();
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 30_000 });
      assert.equal(await text('#error'), '');
      const go = { prompt: PROMPT, ...o };
      const sparse = await nodeModel(variant), dense = await nodeModel(variant, denseTwin(file));
      assert.equal(await text('#out-sparse .gen'), generate(sparse, charVocab(sparse), go), `${variant}: the page's text differs from Node's`);
      assert.equal(await text('#out-dense .gen'), generate(dense, VOCAB, go), `${variant}: the dense pane differs from Node's`);
    };
    const query = (o: { temperature: number; seed: number; length: number }): string =>
      `fast=1&dense=twin&temperature=${o.temperature}&seed=${o.seed}&length=${o.length}&prompt=${encodeURIComponent(PROMPT)}`;
    try {
      await t.test('isolated: the demo defaults to Web Worker mode on every core and shows kernels and threads', async () => {
        const o = { temperature: 0.9, seed: 5, length: 100 };
        await page.goto(`${server.url}?${query(o)}`);
        await ready();
        const env = await page.evaluate(() => ({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency }), null);
        assert.equal(env.isolated, true, 'served by `sparse-rnn serve`, the page is cross-origin isolated');
        assert.equal(await page.locator('#use-worker').isChecked(), true, 'Web Worker mode is the default when threads are available');
        const cores = Math.min(64, env.cores);
        const b = await body();
        assert.equal(b.threads, String(cores), 'default threads: navigator.hardwareConcurrency');
        assert.match(await text('#engine'), new RegExp(`^Compute: kernels wasm ${b.kernels} \\(auto\\), ${cores} threads? · in a Web Worker$`));
        assert.match(await text('#status'), new RegExp(`threads: up to ${cores} \\(cross-origin isolated`));
        await generatesLikeNode(o, b.kernels!);
        // Other kernels in the same worker (a new engine; the idle one is closed), then the same
        // models again (the engine's heap is reset when its last model goes): still Node's text.
        await page.evaluate(() => { document.body.dataset.state = 'loading'; }, null);
        await page.locator('#backend').selectOption('wasm');
        await ready();
        assert.match(await text('#engine'), new RegExp(`^Compute: kernels wasm simd128, ${cores} threads? · in a Web Worker$`));
        await generatesLikeNode(o, 'simd128');
        for (let i = 0; i < 2; i++) {
          await page.evaluate(() => { document.body.dataset.state = 'loading'; }, null);
          await page.locator('#reload-server').click();
          await ready();
          await generatesLikeNode(o, 'simd128');
        }
      });

      const variants = ['wasm', ...(wasmRelaxedSupported() && (await page.evaluate(async () => {
        const rt = await import(new URL('/sparse-rnn.js', location.href).href) as { wasmRelaxedSupported(): boolean };
        return rt.wasmRelaxedSupported();
      }, null)) ? ['relaxed'] : [])];

      for (const kernels of variants) {
        await t.test(`isolated: ${kernels} kernels on 2 threads in the demo: the text equals Node's one thread`, async () => {
          const o = { temperature: 0, seed: 0, length: 60 };
          await page.goto(`${server.url}?kernels=${kernels}&threads=2&${query(o)}`);
          await ready();
          const b = await body();
          assert.equal(b.threads, '2');
          assert.equal(b.kernels, kernels === 'wasm' ? 'simd128' : 'relaxed');
          assert.match(await text('#engine'), new RegExp(`kernels wasm ${b.kernels}, 2 threads · in a Web Worker`));
          await generatesLikeNode(o, b.kernels!);
        });
      }

      await t.test('isolated: WorkerModel on 2 threads, run() logits bit for bit equal to Node\'s one thread (batch 1 and 4)', async () => {
        const ids = Array.from(encodeChars('the whale swam. a sea, a ship\nand the sea again, the end.', VOCAB));
        const res = await page.evaluate(async ({ ids, variants }) => {
          const rt = await import(new URL('/sparse-rnn.js', location.href).href) as {
            WorkerModel: { load(b: Uint8Array, o: object): Promise<{ engine: string; threads: number; variant: string; run(s: Int32Array, o?: object): Promise<Float32Array>; dispose(): Promise<void> }> };
          };
          const b = new Uint8Array(await (await fetch('/models/charlm.srnn')).arrayBuffer());
          const out: Record<string, { engine: string; threads: number; variant: string; y1: number[]; y4: number[] }> = {};
          for (const kernels of variants) {
            const m = await rt.WorkerModel.load(b, { workerUrl: '/sparse-rnn-worker.js', kernels, threads: 2 });
            const y1 = await m.run(Int32Array.from(ids));
            const y4 = await m.run(Int32Array.from({ length: ids.length * 4 }, (_, i) => ids[(i * 7 + (i % 4)) % ids.length]), { batch: 4 });
            out[kernels] = { engine: m.engine, threads: m.threads, variant: m.variant, y1: Array.from(new Uint32Array(y1.buffer)), y4: Array.from(new Uint32Array(y4.buffer)) };
            await m.dispose();
          }
          return out;
        }, { ids, variants });
        const seq4 = Int32Array.from({ length: ids.length * 4 }, (_, i) => ids[(i * 7 + (i % 4)) % ids.length]);
        for (const kernels of variants) {
          const r: RunResult = res[kernels];
          assert.equal(r.threads, 2, r.engine);
          assert.equal(r.engine, `kernels wasm ${r.variant}, 2 threads`);
          const node = await nodeModel(r.variant);
          const want1 = Array.from(new Uint32Array(node.run(Int32Array.from(ids)).slice().buffer));
          const want4 = Array.from(new Uint32Array(node.run(seq4, { batch: 4 }).slice().buffer));
          assert.equal(r.y1.length, ids.length * VOCAB.length);
          assert.deepEqual(r.y1, want1, `${kernels}: batch 1 logits differ from Node's one thread`);
          assert.deepEqual(r.y4, want4, `${kernels}: batch 4 logits differ from Node's one thread`);
        }
      });

      await t.test('isolated: the main thread stays on one thread and says why; a bad pool worker URL is a clear error', async () => {
        const r = await page.evaluate(async () => {
          const rt = await import(new URL('/sparse-rnn.js', location.href).href) as {
            createWebEngine(o: object): Promise<{ threads: number; describe(): string; close(): Promise<void> }>;
            WorkerModel: { load(b: Uint8Array, o: object): Promise<unknown> };
          };
          const e = await rt.createWebEngine({ kernels: 'wasm', threads: 2 });
          await e.close();
          const b = new Uint8Array(await (await fetch('/models/charlm.srnn')).arrayBuffer());
          let error = '';
          try {
            await rt.WorkerModel.load(b, { workerUrl: '/sparse-rnn-worker.js', kernels: 'wasm', threads: 2, poolWorkerUrl: '/no-such-pool.js' });
          } catch (err) {
            error = (err as Error).message;
          }
          return { threads: e.threads, describe: e.describe(), error };
        }, null);
        assert.equal(r.threads, 1);
        assert.match(r.describe, /^kernels wasm simd128, 1 thread \(a page's main thread cannot wait on worker threads \(threads run in Web Worker mode\)\)$/);
        assert.match(r.error, /kernels: the pool worker http:\/\/127\.0\.0\.1:\d+\/no-such-pool\.js did not start: /);
      });

      await t.test('not isolated: one thread, main thread by default; Web Worker mode asked for 2 threads runs 1 and says why', async () => {
        const o = { temperature: 0.7, seed: 9, length: 60 };
        await page.goto(`${plain.url}?${query(o)}`);
        await ready();
        assert.equal(await page.evaluate(() => crossOriginIsolated, null), false);
        assert.equal(await page.locator('#use-worker').isChecked(), false, 'no threads: the main thread is the default');
        assert.equal((await body()).threads, '1');
        assert.match(await text('#engine'), /, 1 thread · on the page's main thread$/);
        assert.match(await text('#status'), /threads: 1 \(the page is not cross-origin isolated\)/);
        await page.goto(`${plain.url}?worker=1&threads=2&kernels=wasm&${query(o)}`);
        await ready();
        assert.equal((await body()).threads, '1');
        assert.match(await text('#engine'), /^Compute: kernels wasm simd128, 1 thread \(not cross-origin isolated .*Cross-Origin-Embedder-Policy: require-corp\)\) · in a Web Worker$/);
        await generatesLikeNode(o, 'simd128');
      });
      assert.deepEqual(pageErrors.filter((e) => !/Failed to load resource|no-such-pool/.test(e)), [], 'uncaught page errors');
    } finally {
      await page.close().catch(() => undefined);
      await ctx.close().catch(() => undefined);
      await server.close();
      await new Promise<void>((r) => { plain.server.closeAllConnections(); plain.server.close(() => r()); });
      await Promise.all(nodeEngines.map((e) => e.close()));
      rmSync(dir, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    }
  });

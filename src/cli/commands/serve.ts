// `sparse-rnn serve [--port P] [--dir runs/demo]`: the live demo page on http://127.0.0.1:P/.
// node:http only, bound to 127.0.0.1. Serves the page (dist/web/, built by scripts/build-web.mjs)
// and the models of a demo folder:
//   GET /api/models          which models there are (JSON)
//   GET /models/charlm.srnn  the sparse char LM: <dir>/model.srnn, else exported from <dir>/sparse/model.ckpt
//   GET /models/dense.srnn   the dense char LM: <dir>/dense/model.srnn, else exported from <dir>/dense/model.ckpt
//                            (the exporter stores low-sparsity matrices dense, so it runs dense)
//   GET /models/speech.srnn  a speech model, if any: <dir>/speech/model.srnn or <dir>/speech.srnn,
//                            else exported from <dir>/speech/model.ckpt (with its feature settings: the
//                            page transcribes uploaded or recorded audio with it)
// Exports happen on the fly and are cached until the checkpoint changes. The page is served
// cross-origin isolated (COOP/COEP), which gives its timers 5 µs resolution instead of 100 µs.

import { Command } from 'commander';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointToSrnn as toSrnn, loadCheckpoint } from '../../train/checkpoint.js';
import { action, int } from '../common.js';

export interface ServeOptions {
  /** 0: an ephemeral port. */
  port: number;
  /** The demo output folder. */
  dir: string;
  /** Folder of the built page (default: dist/web of this package). */
  webDir?: string;
  /** Log requests that fail (default true). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** The package root (this file is dist/src/cli/commands/serve.js). */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DEFAULT_WEB_DIR = join(packageRoot, 'dist/web');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8', '.srnn': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

/** Make sure the page is built: build it with scripts/build-web.mjs when it is missing (a dev checkout). */
export function ensureWebBuilt(webDir = DEFAULT_WEB_DIR): void {
  if (existsSync(join(webDir, 'index.html')) && existsSync(join(webDir, 'demo.js'))) return;
  const script = join(packageRoot, 'scripts/build-web.mjs');
  if (webDir === DEFAULT_WEB_DIR && existsSync(script)) {
    const r = spawnSync(process.execPath, [script, '--quiet'], { cwd: packageRoot, encoding: 'utf8' });
    if (r.status === 0 && existsSync(join(webDir, 'index.html'))) return;
    throw new Error(`the demo page is not built and building it failed:\n${(r.stderr || r.stdout || '').trim()}`);
  }
  throw new Error(`the demo page is not built (no ${join(webDir, 'index.html')}): run \`npm run build:web\``);
}

interface ModelSource {
  /** What the page shows as the model's origin. */
  source: string;
  get(): Promise<Uint8Array>;
}

/** A checkpoint's .srnn bytes (the checkpoint API's export, masks applied). */
export function checkpointToSrnn(file: string): Uint8Array {
  return toSrnn(loadCheckpoint(file, { purpose: 'serve' })).bytes;
}

/** The first existing of `srnn` files, else an on-the-fly export of the first existing checkpoint. */
function findModel(dir: string, srnn: string[], ckpts: string[]): ModelSource | null {
  const show = (p: string): string => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };
  for (const f of srnn) {
    const p = join(dir, f);
    if (existsSync(p) && statSync(p).isFile()) return { source: show(p), get: async () => new Uint8Array(await readFile(p)) };
  }
  for (const f of ckpts) {
    const p = join(dir, f);
    if (!existsSync(p)) continue;
    let cache: { mtime: number; bytes: Uint8Array } | null = null;
    return {
      source: show(p),
      get: async () => {
        const mtime = statSync(p).mtimeMs;
        if (!cache || cache.mtime !== mtime) cache = { mtime, bytes: checkpointToSrnn(p) };
        return cache.bytes;
      },
    };
  }
  return null;
}

function models(dir: string): { charlm: ModelSource | null; dense: ModelSource | null; speech: ModelSource | null } {
  return {
    charlm: findModel(dir, ['model.srnn', 'sparse/model.srnn'], ['sparse/model.ckpt']),
    dense: findModel(dir, ['dense/model.srnn', 'dense.srnn'], ['dense/model.ckpt']),
    speech: findModel(dir, ['speech/model.srnn', 'speech.srnn'], ['speech/model.ckpt']),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
    // Cross-origin isolation: precise performance.now() for the live latency numbers.
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(body);
}

/** Start the demo server. Resolves once it listens. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const webDir = resolve(o.webDir ?? DEFAULT_WEB_DIR);
  const dir = resolve(o.dir);
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (o.webDir === undefined) ensureWebBuilt(webDir);
  if (!existsSync(join(webDir, 'index.html'))) throw new Error(`${webDir}: no index.html (build the page with \`npm run build:web\`)`);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      send(res, 400, 'text/plain; charset=utf-8', 'bad request');
      return;
    }
    if (path === '/api/models') {
      const m = models(dir);
      const notes: string[] = [];
      if (!existsSync(dir)) notes.push(`${dir} does not exist`);
      const entry = (s: ModelSource | null, url: string): { url: string; source: string } | null => (s ? { url, source: s.source } : null);
      send(res, 200, MIME['.json'], JSON.stringify({
        dir: relative(process.cwd(), dir).startsWith('..') ? dir : relative(process.cwd(), dir) || '.',
        charlm: entry(m.charlm, '/models/charlm.srnn'),
        dense: entry(m.dense, '/models/dense.srnn'),
        speech: entry(m.speech, '/models/speech.srnn'),
        notes,
      }));
      return;
    }
    const mm = /^\/models\/(charlm|dense|speech)\.srnn$/.exec(path);
    if (mm) {
      const src = models(dir)[mm[1] as 'charlm' | 'dense' | 'speech'];
      if (!src) {
        send(res, 404, 'text/plain; charset=utf-8', `no ${mm[1]} model in ${dir}`);
        return;
      }
      try {
        send(res, 200, MIME['.srnn'], await src.get());
      } catch (e) {
        const msg = `${src.source}: ${(e as Error).message}`;
        log(`serve: ${msg}`);
        send(res, 500, 'text/plain; charset=utf-8', msg);
      }
      return;
    }
    // Static files of the page: flat names only.
    const name = path === '/' ? 'index.html' : path.slice(1);
    const ext = name.slice(name.lastIndexOf('.'));
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.') || !(ext in MIME)) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    const file = join(webDir, name);
    if (!existsSync(file)) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    send(res, 200, MIME[ext], readFileSync(file));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`serve: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${o.port} is already in use (pick another with --port, or 0 for any free port)`) : e));
    server.listen(o.port, '127.0.0.1', () => resolveListen());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    server,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** The demo folder to serve when --dir is not given: runs/demo, else runs/demo-quick (the --quick demo's). */
export function defaultDemoDir(cwd = process.cwd()): string {
  for (const d of ['runs/demo', 'runs/demo-quick']) {
    const m = models(resolve(cwd, d));
    if (m.charlm || m.dense || m.speech) return d;
  }
  return 'runs/demo';
}

export function registerServe(program: Command): void {
  program.command('serve')
    .description('serve the live demo page (char LM generation with live sparse vs dense latency, speech to text, sparsity maps) on 127.0.0.1')
    .option('-p, --port <n>', 'port (0: any free port)', int('--port', 0, 65535), 8080)
    .option('--dir <dir>', 'demo output folder with the models (default: runs/demo, else runs/demo-quick)')
    .action(action(async (o: { port: number; dir?: string }) => {
      const dir = o.dir ?? defaultDemoDir();
      const s = await startServer({ port: o.port, dir });
      const m = models(resolve(dir));
      const list = Object.entries(m).filter(([, v]) => v).map(([k, v]) => `  ${k.padEnd(7)} ${v!.source}`);
      process.stderr.write(`sparse-rnn serve: ${s.url}\n` +
        (list.length ? `models:\n${list.join('\n')}\n` : `no models in ${dir} yet: run \`sparse-rnn demo\`, or load an .srnn file in the page\n`) +
        'Ctrl-C to stop.\n');
      await new Promise<void>((r) => process.once('SIGINT', () => { void s.close().then(r); }));
    }));
}

// What a user of the published package does: `npm pack`, install the tarball into an empty folder
// (`npm install <tarball>`, offline from npm's cache when it can), then run every command from there —
// `--help` of each, and real tiny runs of the main ones (train, eval, sample, export, infer, export-onnx,
// import, forward, schedule, reproduce's plan, serve). It catches files missing from package.json `files`
// and commands that only work inside the repository. Skips, saying why, when npm cannot reach its cache or
// the registry. Also: every relative link in the repository's Markdown points at a file in the repository.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeNpy } from '../src/io/npy.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every command of `sparse-rnn --help`, and the subcommands of the groups: a command missing here fails. */
const COMMANDS = ['demo', 'train', 'eval', 'sample', 'forward', 'bench', 'data', 'schedule', 'export', 'export-onnx',
  'import', 'infer', 'transcribe', 'serve', 'reproduce'];
const SUBCOMMANDS: Record<string, string[]> = { bench: ['kernels', 'model'], data: ['speech'] };

// npm run sets npm_config_local_prefix, npm_package_* …: the nested npm must see the temp folder as its project.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_(config_local_prefix|package_|lifecycle_|command$|config_call$)/i.test(k)),
);
// onnxruntime-node (optional dependency) installs offline only with its CUDA download skipped.
env.ONNXRUNTIME_NODE_INSTALL = 'skip';
env.npm_config_update_notifier = 'false';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

const work = mkdtempSync(join(tmpdir(), 'sparse-rnn-pack-'));
const app = join(work, 'app');
after(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd = app, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
}
const output = (r: SpawnSyncReturns<string>) => `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();

/** Pack and install once; a reason to skip when npm is missing or offline without the packages in its cache. */
function install(): { skip: string | false; tarball: string; files: string[] } {
  const pack = run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  if (pack.error) return { skip: `npm is not available (${pack.error.message})`, tarball: '', files: [] };
  assert.equal(pack.status, 0, `npm pack failed:\n${output(pack)}`);
  const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, info[0].filename);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  writeFileSync(join(app, '.npmrc'), 'onnxruntime-node-install=skip\n');
  const inst = run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app, 300_000);
  if (inst.status !== 0) {
    const out = output(inst);
    const offline = /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH|ENOTCACHED|network/i;
    if (offline.test(out)) {
      const line = out.split('\n').find((l) => offline.test(l))?.replace(/^npm error\s*/, '') ?? '';
      return { skip: `npm could not reach its cache or the registry to install the package's dependencies (${line})`, tarball, files: [] };
    }
    assert.fail(`npm install ${tarball} failed:\n${out}`);
  }
  return { skip: false, tarball, files: info[0].files.map((f) => f.path) };
}

const t0 = Date.now();
const setup = install();
if (setup.skip) process.stderr.write(`pack.test: skipped: ${setup.skip}\n`);
else process.stderr.write(`pack.test: npm pack + npm install took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
const skip = setup.skip;
const bin = join(app, 'node_modules/.bin/sparse-rnn');

/** Run the installed command; assert it succeeds; its output. */
function cli(args: string[], ok = true): string {
  const r = run(process.execPath, [bin, ...args]);
  const out = output(r);
  if (ok) assert.equal(r.status, 0, `sparse-rnn ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${out}`);
  return out;
}

test('the tarball holds what every command needs, and no tests or TypeScript sources', { skip }, () => {
  const files = new Set(setup.files);
  for (const f of ['bin/sparse-rnn.js', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/sparse/index.js', 'dist/kernels.wasm',
    'dist/experiments/reproduce.js', 'dist/experiments/charlm-worker.js', 'dist/bench/kernels.js', 'dist/web/index.html',
    'dist/web/demo.js', 'dist/web/sparse-rnn.js', 'dist/web/sparse-rnn-worker.js', 'docs/reference.md', 'README.md', 'package.json']) {
    assert.ok(files.has(f), `the package lacks ${f}`);
  }
  for (const f of files) {
    assert.ok(!f.startsWith('dist/test/') && !f.startsWith('test/') && !f.startsWith('src/'), `the package should not ship ${f}`);
  }
  // Each module the CLI may load is in the package: every dist/src/cli file is shipped.
  for (const f of readdirSync(join(root, 'dist/src/cli/commands')).filter((n) => n.endsWith('.js'))) {
    assert.ok(files.has(`dist/src/cli/commands/${f}`), `the package lacks dist/src/cli/commands/${f}`);
  }
});

test('every command and subcommand of the installed package prints its help', { skip }, () => {
  const top = cli(['--help']);
  const listed = [...top.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  assert.deepEqual([...listed].sort(), [...COMMANDS].sort(), `sparse-rnn --help lists:\n${top}`);
  for (const c of COMMANDS) {
    assert.match(cli([c, '--help']), new RegExp(`Usage: sparse-rnn ${c}\\b`), c);
    for (const s of SUBCOMMANDS[c] ?? []) assert.match(cli([c, s, '--help']), new RegExp(`Usage: sparse-rnn ${c} ${s}\\b`), `${c} ${s}`);
  }
  assert.match(cli(['--version']), /^\d+\.\d+\.\d+/);
});

test('the library entry points load from the installed package', { skip }, () => {
  const code = "const a = await import('sparse-rnn'); const b = await import('sparse-rnn/runtime');" +
    "console.log(typeof a.createKernels, typeof a.RNNModel, typeof b.SparseModel);";
  const r = run(process.execPath, ['--input-type=module', '-e', code]);
  assert.equal(r.status, 0, output(r));
  assert.equal(r.stdout.trim(), 'function function function');
  assert.ok(existsSync(join(app, 'node_modules/sparse-rnn/dist/web/sparse-rnn.js')), "the 'sparse-rnn/browser' export's file");
  // The optional peer, where npm installed it, loads (the .npmrc line above skipped only its CUDA download).
  if (existsSync(join(app, 'node_modules/onnxruntime-node'))) {
    const o = run(process.execPath, ['--input-type=module', '-e', "await import('onnxruntime-node'); console.log('ok')"]);
    assert.equal(o.stdout.trim(), 'ok', output(o));
  }
});

test('train → eval → sample → export → infer → export-onnx → import → forward, and schedule, from the installed package', { skip }, () => {
  // A tiny corpus: a shuffled sentence, 60 times (≈ 14k characters).
  const words = 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, I thought I would sail about.'.split(' ');
  let text = '';
  for (let i = 0; i < 60; i++) text += `${words.map((w, j) => words[(j * 7 + i) % words.length] ?? w).join(' ')}\n`;
  writeFileSync(join(app, 'tiny.txt'), text);
  // As a user types it: npx (--no: never download a package of that name from the registry).
  const tr = run(NPX, ['--no', 'sparse-rnn', 'train', '--corpus', 'tiny.txt', '--hidden', '16', '--embed', '8', '--batch', '2',
    '--seq-len', '10', '--epochs', '1', '--max-steps', '2', '--eval-chars', '100', '-o', 'm/model.ckpt']);
  assert.equal(tr.status, 0, `npx sparse-rnn train:\n${output(tr)}`);
  assert.ok(existsSync(join(app, 'm/model.ckpt')));
  assert.match(cli(['eval', 'm/model.ckpt', '--corpus', 'tiny.txt']), /bits\/char/);
  assert.ok(cli(['sample', 'm/model.ckpt', '--length', '20', '--prompt', 'Call']).length > 0);
  cli(['export', 'm/model.ckpt', '-o', 'm/model.srnn']);
  assert.ok(existsSync(join(app, 'm/model.srnn')));
  writeFileSync(join(app, 'ids.npy'), serializeNpy(Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 20 + 1), [6, 2]));
  cli(['infer', 'm/model.srnn', '--input', 'ids.npy', '-o', 'y.npy']);
  const y = readFileSync(join(app, 'y.npy'));
  assert.ok(y.length > 6 * 2 * 4, 'infer wrote its outputs');
  cli(['export-onnx', 'm/model.ckpt', '-o', 'm/model.onnx']);
  cli(['import', 'm/model.onnx', '-o', 'm/back.ckpt']);
  assert.ok(existsSync(join(app, 'm/back.ckpt')));
  // forward: a PyTorch state dict (a test fixture of this repository) on X.npy [T, B, input].
  writeFileSync(join(app, 'x.npy'), serializeNpy(Float32Array.from({ length: 6 * 3 * 5 }, (_, i) => Math.sin(i)), [6, 3, 5]));
  cli(['forward', '--weights', join(root, 'test/fixtures/gru_l1.safetensors'), '--cell', 'gru', '--prefix', 'rnn.',
    '--input', 'x.npy', '-o', 'fy.npy']);
  assert.ok(existsSync(join(app, 'fy.npy')));
  assert.match(cli(['schedule', '--q', '0.2', '--start-itr', '10', '--ramp-itr', '20', '--end-itr', '40', '--freq', '5', '--json']), /"theta"/);
});

test('reproduce finds its experiment plans in the installed package', { skip }, () => {
  // An unknown run id is rejected by the plan itself, so the experiments module was loaded; nothing is run.
  const r = run(process.execPath, [bin, 'reproduce', '--quick', '--task', 'charlm', '--only', 'no-such-run', '-o', 'rq']);
  const out = output(r);
  assert.notEqual(r.status, 0, out);
  assert.match(out, /no-such-run/);
  assert.doesNotMatch(out, /ERR_MODULE_NOT_FOUND|Cannot find module|\n\s+at /);
});

test('serve starts from the installed package, serves the page and its runtime, and stops on Ctrl-C', { skip, timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--dir', 'm'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`serve printed no URL: ${err}`)), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          res(m[1]);
        }
      });
      child.on('exit', () => rej(new Error(`serve exited: ${err}`)));
    });
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    for (const f of ['demo.js', 'sparse-rnn.js', 'sparse-rnn-worker.js']) assert.equal((await fetch(`${url}/${f}`)).status, 200, f);
    const api = (await (await fetch(`${url}/api/models`)).json()) as Record<string, unknown>;
    assert.ok('charlm' in api, JSON.stringify(api));
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, err);
});

test('Markdown links point at files inside the repository', () => {
  const docs = ['README.md', 'BENCHMARKS.md', 'RESULTS.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  let links = 0;
  for (const doc of docs) {
    const text = readFileSync(join(root, doc), 'utf8');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split('#')[0];
      if (!target || /^[a-z]+:/i.test(target)) continue; // a URL or an anchor
      links++;
      const abs = resolve(root, dirname(doc), decodeURI(target));
      assert.ok(abs.startsWith(root), `${doc} links ${m[1]}, outside the repository`);
      assert.ok(existsSync(abs), `${doc} links ${m[1]}, which does not exist`);
    }
    assert.doesNotMatch(text, /\.\.\/shared\//, `${doc} refers to ../shared/, outside the repository`);
  }
  assert.ok(links > 10, `${links} links checked`);
});

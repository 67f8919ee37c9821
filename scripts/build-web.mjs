#!/usr/bin/env node
// Builds the browser runtime and the demo page with esbuild into dist/web/ (offline, < 1 s):
//   sparse-rnn.js         the inference runtime, an ES module (src/web/runtime.ts), minified
//   sparse-rnn-worker.js  the same runtime hosted in a module Web Worker (src/web/worker.ts); in a
//                         cross-origin isolated page it drives a pool of kernel threads:
//   sparse-rnn-pool.js    one kernel pool worker (src/web/pool-worker.ts); it gets the compiled module
//                         by message, so it embeds no WASM, and it must sit next to the two above
//   demo.js               the demo page's code (src/web/demo/app.ts); imports ./sparse-rnn.js
//   index.html, style.css the page (src/web/demo/)
//   sizes.json            raw / gzip sizes of the bundles
// The WASM kernels travel inside sparse-rnn.js and sparse-rnn-worker.js as base64, both builds
// (simd128 and relaxed SIMD; src/kernels/wasm-bytes.generated.ts, made by `npm run build:wasm`), so
// the runtime is one file with no .wasm to fetch.
//
// The runtime must not pull in training or Node code: the build fails if any input lies outside
// src/sparse/, src/kernels/, src/nn/config.ts, src/util/rng.ts, src/web/, and, for speech to text
// (src/sparse/transcribe.ts), the pure modules src/nn/ctc.ts, src/io/errors.ts and
// src/data/speech/{wav,features,vocab}.ts.
//
// Usage: node scripts/build-web.mjs [--no-minify] [--quiet]

import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, 'dist/web');
const minify = !process.argv.includes('--no-minify');
const quiet = process.argv.includes('--quiet');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('build-web: esbuild is not installed (it is a devDependency: run `npm install`)');
  process.exit(1);
}
if (!existsSync(resolve(root, 'src/kernels/wasm-bytes.generated.ts'))) {
  console.error('build-web: src/kernels/wasm-bytes.generated.ts is missing: run `npm run build:wasm` first');
  process.exit(1);
}

const ALLOWED = ['src/sparse/', 'src/kernels/', 'src/nn/config.ts', 'src/util/rng.ts', 'src/web/',
  'src/nn/ctc.ts', 'src/io/errors.ts', 'src/data/speech/wav.ts', 'src/data/speech/features.ts', 'src/data/speech/vocab.ts'];
const FORBIDDEN = ['src/kernels/as/'];

/** demo.js imports the runtime from ./sparse-rnn.js instead of bundling a second copy. */
const runtimeExternal = {
  name: 'runtime-external',
  setup(b) {
    b.onResolve({ filter: /(^|\/)runtime\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === resolve(root, 'src/web/runtime.js') ? { path: './sparse-rnn.js', external: true } : undefined);
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // WebAssembly SIMD browsers (Chrome 91, Firefox 89, Safari 16.4) all run ES2020.
  target: ['es2020'],
  minify,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  absWorkingDir: root,
};

const t0 = performance.now();
await mkdir(out, { recursive: true });
const builds = [
  { entry: 'src/web/runtime.ts', file: 'sparse-rnn.js', plugins: [] },
  { entry: 'src/web/worker.ts', file: 'sparse-rnn-worker.js', plugins: [] },
  { entry: 'src/web/pool-worker.ts', file: 'sparse-rnn-pool.js', plugins: [] },
  { entry: 'src/web/demo/app.ts', file: 'demo.js', plugins: [runtimeExternal] },
];
const sizes = {};
for (const b of builds) {
  let res;
  try {
    res = await esbuild.build({ ...common, entryPoints: [b.entry], outfile: resolve(out, b.file), plugins: b.plugins });
  } catch (e) {
    console.error(`build-web: ${b.entry}: ${e.message}`);
    process.exit(1);
  }
  for (const input of Object.keys(res.metafile.inputs)) {
    const rel = relative(root, resolve(root, input)).split(sep).join('/');
    if (!ALLOWED.some((p) => rel.startsWith(p)) || FORBIDDEN.some((p) => rel.startsWith(p))) {
      console.error(`build-web: ${b.file} would include ${rel}: the browser runtime may only use ${ALLOWED.join(', ')}`);
      process.exit(1);
    }
  }
  const bytes = await readFile(resolve(out, b.file));
  sizes[b.file] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, inputs: Object.keys(res.metafile.inputs).length };
}
for (const f of ['index.html', 'style.css']) await copyFile(resolve(root, 'src/web/demo', f), resolve(out, f));
await writeFile(resolve(out, 'sizes.json'), JSON.stringify({ minified: minify, ...sizes }, null, 2) + '\n');
if (!quiet) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [f, s] of Object.entries(sizes))
    console.log(`  dist/web/${f.padEnd(22)} ${kib(s.bytes).padStart(10)}  gzip ${kib(s.gzip).padStart(9)}`);
  console.log(`build-web: dist/web/ in ${(performance.now() - t0).toFixed(0)} ms`);
}

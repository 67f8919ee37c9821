#!/usr/bin/env node
// Runs the three build steps — WASM kernels, TypeScript, web bundle — but only those whose inputs changed
// since their last successful run (`npm test`, `npm run build:stale`); `--force` runs all three (`npm run build`).
//
// Each step is keyed on its inputs, not on its outputs: the sha256 of every input file (plus the version of
// the tool) is recorded in dist/.build-stamps.json after the step succeeds, together with the files the step
// wrote. A step runs again when an input was added, removed or changed, when a file it wrote is missing, or when
// its stamp is absent (first build, or a failed one). Content hashes, not mtimes: a git checkout that leaves a
// file's content unchanged does not trigger a rebuild.
//
//   wasm  inputs: src/kernels/as/**, scripts/build-wasm.mjs, assemblyscript's version
//         outputs: whatever the script writes (files under dist/ and src/kernels/ it touched)
//   ts    inputs: every .ts under src/ (but src/kernels/as/), test/, bench/, experiments/; tsconfig.json,
//         package.json (its "type" decides the module format), typescript's version
//         outputs: dist/<path>.js for each input; runs `tsc --incremental`; outputs of deleted inputs are removed
//   web   inputs: the sources listed in dist/web/*.js.map at the last build (exactly what esbuild bundled),
//         the copied page files, scripts/build-web.mjs, esbuild's version
//
// Usage: node scripts/build-if-stale.mjs [--force] [--quiet]

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STAMPS = join(root, 'dist/.build-stamps.json');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const require = createRequire(import.meta.url);

const rel = (abs) => relative(root, abs).split(sep).join('/');
const say = (s) => quiet || console.log(`build: ${s}`);

/** Files under `dir` (relative to the root), recursively, that pass `keep`. */
function walk(dir, keep = () => true, skip = () => false) {
  const out = [];
  const abs = join(root, dir);
  if (!existsSync(abs)) return out;
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (skip(p)) continue;
    if (e.isDirectory()) out.push(...walk(p, keep, skip));
    else if (e.isFile() && keep(p)) out.push(p);
  }
  return out;
}

function hashFile(p) {
  try {
    return createHash('sha256').update(readFileSync(join(root, p))).digest('hex');
  } catch {
    return null; // missing: differs from any recorded hash
  }
}

function toolVersion(pkg) {
  try {
    return `${pkg}@${JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version}`;
  } catch {
    return `${pkg}@missing`;
  }
}

/** Files under `dirs` modified at or after `since` (ms): what a step wrote. */
function writtenSince(dirs, since) {
  const out = [];
  for (const d of dirs) {
    for (const p of walk(d)) if (statSync(join(root, p)).mtimeMs >= since) out.push(p);
  }
  return out.sort();
}

const isTs = (p) => p.endsWith('.ts');
const tsInputs = () => [
  ...walk('src', isTs, (p) => p === 'src/kernels/as'),
  ...walk('test', isTs, (p) => p === 'test/fixtures'),
  ...walk('bench', isTs, (p) => p === 'bench/results'),
  ...walk('experiments', isTs),
  'tsconfig.json',
  'package.json',
];
const tsOutputs = (inputs) => inputs.filter((p) => isTs(p) && !p.endsWith('.d.ts')).map((p) => `dist/${p.slice(0, -3)}.js`);

/** The sources esbuild bundled, read back from the linked source maps of the last web build. */
function webInputs(stamp) {
  const maps = (stamp?.outputs ?? []).filter((p) => p.endsWith('.js.map'));
  const srcs = new Set(['scripts/build-web.mjs', 'src/web/demo/index.html', 'src/web/demo/style.css']);
  for (const m of maps) {
    try {
      for (const s of JSON.parse(readFileSync(join(root, m), 'utf8')).sources) srcs.add(rel(resolve(root, dirname(m), s)));
    } catch {
      return null; // a map is missing or unreadable: rebuild
    }
  }
  return [...srcs].sort();
}

const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
const STEPS = [
  {
    name: 'wasm',
    tool: () => toolVersion('assemblyscript'),
    inputs: () => [...walk('src/kernels/as'), 'scripts/build-wasm.mjs'],
    run: () => [process.execPath, ['scripts/build-wasm.mjs']],
    wrote: (t0) => writtenSince(['dist', 'src/kernels'], t0).filter((p) => !/^dist\/(src|test|bench|experiments|web)\//.test(p) && p !== 'dist/.build-stamps.json'),
  },
  {
    name: 'ts',
    tool: () => toolVersion('typescript'),
    inputs: tsInputs,
    expectedOutputs: tsOutputs,
    before: (old) => {
      // An incremental tsc re-emits only what changed since its .tsbuildinfo: with outputs missing, start afresh.
      if (tsOutputs(tsInputs()).some((p) => !existsSync(join(root, p)))) rmSync(join(root, 'dist/.tsbuildinfo'), { force: true });
      // Sources deleted since the last build: drop their outputs (a stale dist/test/x.test.js would still run).
      for (const p of Object.keys(old?.inputs ?? {})) {
        if (!isTs(p) || existsSync(join(root, p))) continue;
        const base = join(root, 'dist', p.slice(0, -3));
        for (const ext of ['.js', '.js.map', '.d.ts']) rmSync(base + ext, { force: true });
      }
    },
    run: () => [process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo']],
    wrote: (_t0, inputs) => tsOutputs(inputs),
  },
  {
    name: 'web',
    tool: () => toolVersion('esbuild'),
    inputs: webInputs,
    run: () => [process.execPath, ['scripts/build-web.mjs', ...(quiet ? ['--quiet'] : [])]],
    wrote: (t0) => writtenSince(['dist/web'], t0),
  },
];

function readStamps() {
  try {
    return JSON.parse(readFileSync(STAMPS, 'utf8'));
  } catch {
    return {};
  }
}
function writeStamps(stamps) {
  mkdirSync(dirname(STAMPS), { recursive: true });
  writeFileSync(`${STAMPS}.tmp`, `${JSON.stringify(stamps, null, 1)}\n`);
  renameSync(`${STAMPS}.tmp`, STAMPS);
}

/** Why `step` must run, or null when it is current. */
function staleness(step, old) {
  if (force) return { why: '--force' };
  if (!old) return { why: 'never built here' };
  if (old.tool !== step.tool()) return { why: `${old.tool} → ${step.tool()}` };
  const inputs = step.inputs(old);
  if (!inputs) return { why: 'its last outputs are unreadable' };
  const changed = inputs.filter((p) => old.inputs[p] !== hashFile(p));
  const removed = Object.keys(old.inputs).filter((p) => !inputs.includes(p));
  if (changed.length || removed.length) {
    const list = [...changed, ...removed];
    return { why: `${list.length} input(s) changed: ${list.slice(0, 4).join(', ')}${list.length > 4 ? ', …' : ''}` };
  }
  const missing = (step.expectedOutputs?.(inputs) ?? old.outputs).filter((p) => !existsSync(join(root, p)));
  if (missing.length) return { why: `${missing.length} output(s) missing: ${missing.slice(0, 4).join(', ')}` };
  return null;
}

const stamps = readStamps();
const t00 = Date.now();
for (const step of STEPS) {
  const old = stamps[step.name];
  const stale = staleness(step, old);
  if (!stale) {
    say(`${step.name} is up to date`);
    continue;
  }
  say(`${step.name}: rebuilding (${stale.why})`);
  step.before?.(old);
  delete stamps[step.name];
  writeStamps(stamps); // a failed or interrupted step must run again next time
  // Hash the inputs before the step runs (an edit made during the build must trigger the next one); the web
  // step learns its inputs from the source maps it writes, so it is hashed after.
  const known = step.name === 'web' ? null : step.inputs();
  const before = known && Object.fromEntries(known.map((p) => [p, hashFile(p)]));
  const t0 = Date.now() - 5;
  const [cmd, args] = step.run();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: the ${step.name} step failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  const stamp = { tool: step.tool(), inputs: before ?? {}, outputs: step.wrote(t0, known) };
  if (!before) for (const p of step.inputs(stamp) ?? []) stamp.inputs[p] = hashFile(p);
  stamps[step.name] = stamp;
  writeStamps(stamps);
}
say(`done in ${((Date.now() - t00) / 1000).toFixed(1)} s`);

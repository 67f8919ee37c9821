// scripts/build-if-stale.mjs (what `npm test` runs first) rebuilds a step only when its inputs changed or its
// outputs are missing. Tested on a miniature project: the real script and the real tsc, with stand-ins for
// build-wasm.mjs and build-web.mjs that record each run and write outputs shaped like the real ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

const FAKE_WASM = `import { readFileSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
appendFileSync('runs.log', 'wasm\\n');
const src = readFileSync('src/kernels/as/index.ts', 'utf8');
mkdirSync('dist', { recursive: true });
writeFileSync('dist/kernels.wasm', src);
writeFileSync('src/kernels/wasm-bytes.generated.ts', 'export const B = ' + JSON.stringify(src.trim()) + ';\\n');
`;
const FAKE_WEB = `import { readFileSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
appendFileSync('runs.log', 'web\\n');
mkdirSync('dist/web', { recursive: true });
writeFileSync('dist/web/rt.js', readFileSync('src/web/rt.ts', 'utf8') + readFileSync('src/kernels/wasm-bytes.generated.ts', 'utf8'));
writeFileSync('dist/web/rt.js.map', JSON.stringify({ version: 3, sources: ['../../src/web/rt.ts', '../../src/kernels/wasm-bytes.generated.ts'] }));
`;

function project(): { dir: string; write: (p: string, s: string) => void; build: (...args: string[]) => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
  const write = (p: string, s: string) => {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), s);
  };
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(root, 'scripts/build-if-stale.mjs'), join(dir, 'scripts/build-if-stale.mjs'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  write('scripts/build-wasm.mjs', FAKE_WASM);
  write('scripts/build-web.mjs', FAKE_WEB);
  write('package.json', '{ "name": "mini", "type": "module" }\n');
  write('tsconfig.json', JSON.stringify({
    compilerOptions: { target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'dist', rootDir: '.', types: [] },
    include: ['src/**/*.ts', 'test/**/*.ts'], exclude: ['src/kernels/as/**'],
  }));
  write('src/kernels/as/index.ts', 'export function f(): i32 { return 1; }\n');
  write('src/web/rt.ts', 'export const rt = 1;\n');
  write('src/a.ts', "export { B } from './kernels/wasm-bytes.generated.js';\n");
  write('test/a.test.ts', "import { B } from '../src/a.js';\nexport const t = B;\n");
  /** Runs the script; returns the steps that ran, in order. */
  const build = (...args: string[]): string[] => {
    rmSync(join(dir, 'runs.log'), { force: true });
    const r = spawnSync(process.execPath, ['scripts/build-if-stale.mjs', '--quiet', ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const log = existsSync(join(dir, 'runs.log')) ? readFileSync(join(dir, 'runs.log'), 'utf8').split('\n').filter(Boolean) : [];
    return log; // tsc leaves no trace here: its stamp tells whether it ran

  };
  return { dir, write, build };
}

test('build-if-stale: first build runs every step, a second one nothing; each change rebuilds only its step', () => {
  const { dir, write, build } = project();
  try {
    const tsStamp = () => JSON.stringify((JSON.parse(readFileSync(join(dir, 'dist/.build-stamps.json'), 'utf8')) as { ts?: unknown }).ts);
    /** The steps that ran, and whether tsc ran (its stamp changed). */
    const tsRan = (f: () => string[]): [string[], boolean] => {
      const before = tsStamp();
      const steps = f();
      return [steps, tsStamp() !== before];
    };
    assert.deepEqual(build(), ['wasm', 'web']);
    assert.ok(existsSync(join(dir, 'dist/test/a.test.js')) && existsSync(join(dir, 'dist/src/a.js')), 'tsc ran');
    assert.deepEqual(build(), [], 'nothing changed: nothing rebuilt');

    // A test file changes and one is added: only tsc (its stamp changes), not wasm or web.
    write('test/a.test.ts', "import { B } from '../src/a.js';\nexport const t = B + '!';\n");
    write('test/b.test.ts', 'export const b = 1;\n');
    const [steps1, ts1] = tsRan(build);
    assert.deepEqual(steps1, []);
    assert.ok(ts1, 'tsc ran for a changed test file');
    assert.match(readFileSync(join(dir, 'dist/test/a.test.js'), 'utf8'), /'!'/);
    assert.ok(existsSync(join(dir, 'dist/test/b.test.js')));

    // A kernel source changes: wasm, then tsc and web because the generated module changed.
    write('src/kernels/as/index.ts', 'export function f(): i32 { return 2; }\n');
    const [steps2, ts2] = tsRan(build);
    assert.deepEqual(steps2, ['wasm', 'web']);
    assert.ok(ts2, 'tsc ran for a changed generated module');
    assert.deepEqual(build(), []);

    // The same content written again (a git checkout, an editor save): nothing to do.
    write('src/kernels/as/index.ts', 'export function f(): i32 { return 2; }\n');
    assert.deepEqual(build(), []);

    // An output removed: its step runs again, alone.
    rmSync(join(dir, 'dist/web/rt.js'));
    assert.deepEqual(build(), ['web']);
    rmSync(join(dir, 'dist/kernels.wasm'));
    assert.deepEqual(build(), ['wasm']);
    // An output of tsc removed, and a source deleted: the output is emitted again, and the deleted source's
    // compiled test disappears too (node --test dist/test/ would still run it).
    rmSync(join(dir, 'dist/test/a.test.js'));
    rmSync(join(dir, 'test/b.test.ts'));
    assert.deepEqual(build(), []);
    assert.ok(existsSync(join(dir, 'dist/test/a.test.js')), 'tsc re-emitted a deleted output');
    assert.ok(!existsSync(join(dir, 'dist/test/b.test.js')), 'the output of a deleted source is removed');

    // The build script itself changes: its step runs. --force runs everything.
    write('scripts/build-web.mjs', `${FAKE_WEB}// changed\n`);
    assert.deepEqual(build(), ['web']);
    assert.deepEqual(build('--force'), ['wasm', 'web']);

    // A failing step leaves no stamp: the next run retries it.
    write('scripts/build-web.mjs', 'process.exit(3);\n');
    const r = spawnSync(process.execPath, ['scripts/build-if-stale.mjs', '--quiet'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /web step failed/);
    write('scripts/build-web.mjs', FAKE_WEB);
    assert.deepEqual(build(), ['web']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// `npm run bench [-- train|kernels|model|browser|serving|demo|all] [--quick]`: runs the benchmark suites one after the other
// (never concurrently: this is a 2-core machine), prints markdown tables and writes
// bench/results/<suite>.json and .md. BENCHMARKS.md quotes these files.

import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { benchTrain, trainMarkdown } from './train.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const suites = args.filter((a) => !a.startsWith('--'));
const want = (s: string): boolean => suites.length === 0 || suites.includes(s) || suites.includes('all');
const SUITES = ['train', 'kernels', 'model', 'browser', 'serving', 'demo', 'all'];
const unknown = suites.filter((s) => !SUITES.includes(s));
if (unknown.length) {
  process.stderr.write(`bench: unknown suite(s) ${unknown.join(', ')} (expected ${SUITES.join(', ')})\n`);
  process.exit(2);
}
const outDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const log = (s: string): void => void process.stderr.write(s + '\n');

function save(name: string, json: unknown, md: string): void {
  const stamp = new Date().toISOString();
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ suite: name, date: stamp, machine, quick, result: json }, null, 2) + '\n');
  const text = `<!-- npm run bench -- ${name}${quick ? ' --quick' : ''} · ${stamp} · ${machine} -->\n${md}\n`;
  writeFileSync(join(outDir, `${name}.md`), text);
  process.stdout.write(`\n## ${name}\n\n${md}\n`);
}

if (want('train')) {
  const r = await benchTrain({ quick, log });
  save('train', r, trainMarkdown(r));
}
if (want('kernels')) {
  const m = (await import('./kernels.js')) as typeof import('./kernels.js');
  const r = await m.benchKernels({ quick, json: false, log });
  const t = await import('./threads.js');
  const threads = await t.benchKernelThreads({ quick, log });
  save('kernels', { ...r, threads }, m.renderKernelRows(r) + '\n\n### 1 thread vs all cores\n\n' + t.threadKernelMarkdown(threads));
}
if (want('model')) {
  const m = await import('./model.js');
  const r = await m.benchModel({ quick, log });
  save('model', r, m.modelMarkdown(r));
}
if (want('browser')) {
  const m = await import('./browser.js');
  const r = await m.benchBrowser({ quick, log });
  if (r.skipped) log(`bench browser: skipped: ${r.skipped}`);
  else save('browser', r, m.browserMarkdown(r));
}
if (want('serving')) {
  const m = (await import('./serving.js')) as typeof import('./serving.js');
  const r = await m.benchServing({ quick, log });
  save('serving', r, m.servingMarkdown(r));
}
if (want('demo')) {
  const m = await import('./demo-recipe.js');
  const r = await m.benchDemoRecipe({ quick, log });
  save('demo', r, m.demoRecipeMarkdown(r));
}

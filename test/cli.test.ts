// The command line speaks with one voice (issue #12's observations, one test each where the
// behaviour is the CLI's): one error line, no overwriting, no silently ignored options, wrong
// file kinds and tasks named, reports named after their checkpoint, epochs from 1, --quiet,
// progress lines, consistent help, README's option list. Tiny inputs, a few steps each.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { RNNModel } from '../src/nn/model.js';
import { loadCheckpoint, maskedWeights, saveCheckpoint } from '../src/train/checkpoint.js';
import { trainedTensorName } from '../src/train/average.js';
import { averageDistance } from '../experiments/average-distance.js';
import { exportModel } from '../src/sparse/export.js';
import { formatProgressLine, formatDuration } from '../src/cli/progress.js';
import { demoFigure } from '../src/cli/commands/demo.js';
import { buildProgram } from '../src/cli/main.js';
import { errorLine } from '../src/cli/common.js';
import { SrnnFormatError } from '../src/sparse/errors.js';
import { Rng } from '../src/util/rng.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sparse-rnn-cli-'));
const BIN = join(root, 'bin/sparse-rnn.js');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
}
/** One error line: "sparse-rnn: error: …", exit 1, no stack trace. */
function oneLine(r: ReturnType<typeof cli>, what: string): string {
  assert.equal(r.status, 1, `${what}: exit status (stderr: ${r.stderr})`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
  return lines[0];
}

function corpus(chars = 8000): string {
  const p = join(tmp, `corpus-${chars}.txt`);
  if (existsSync(p)) return p;
  const words = ['the', 'whale', 'sea', 'ship', 'and', 'of', 'a', 'boat'];
  const rng = new Rng(3), out: string[] = [];
  while (out.join(' ').length < chars) out.push(words[Math.floor(rng.next() * words.length)]);
  writeFileSync(p, out.join(' ').slice(0, chars));
  return p;
}
const TINY = ['--hidden', '8', '--embed', '4', '--batch', '4', '--seq-len', '8', '--epochs', '1', '--max-steps', '2', '--eval-chars', '100', '--threads', '1', '--quiet'];
const train = (out: string, ...more: string[]) => cli('train', '--corpus', corpus(), ...TINY, '-o', out, ...more);

async function speechCheckpoint(): Promise<string> {
  const file = join(tmp, 'speech.ckpt');
  if (existsSync(file)) return file;
  const m = new RNNModel({ cell: 'gru', inputSize: 8, hiddenSize: 8, numLayers: 1, bidirectional: false, outputSize: 29 }, createKernels(new Heap(), 'ts'));
  m.init(1);
  await saveCheckpoint(file, m, { task: 'speech', vocab: Array.from({ length: 29 }, (_, i) => String(i)), features: { nMels: 8, stack: 1, stride: 1 } });
  return file;
}

test('#12.1: train refuses to overwrite an existing checkpoint without --resume or --force', () => {
  const out = join(tmp, 'o1', 'm.ckpt');
  assert.equal(train(out).status, 0);
  const before = readFileSync(out);
  const line = oneLine(train(out), 'second train');
  assert.match(line, /o1\/m\.ckpt: a checkpoint already exists; continue it with --resume, replace it with --force/);
  assert.deepEqual(readFileSync(out), before, 'the trained model is untouched');
  const r = train(out, '--force');
  assert.equal(r.status, 0, r.stderr);
  assert.notDeepEqual(readFileSync(out), before);
});

test('#12.2: reports are named after their checkpoint; two runs in one folder keep their own', () => {
  const dir = join(tmp, 'o2');
  assert.equal(train(join(dir, 'a.ckpt')).status, 0);
  assert.equal(train(join(dir, 'b.ckpt'), '--prune', 'oneshot', '--target-sparsity', '0.5').status, 0);
  const files = readdirSync(dir).sort();
  for (const f of ['a.report.json', 'a.report.txt', 'a.curves.svg', 'b.report.json', 'b.report.txt', 'b.curves.svg'])
    assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  assert.ok(!files.includes('report.json') && !files.includes('curves.svg'));
  assert.equal(JSON.parse(readFileSync(join(dir, 'a.report.json'), 'utf8')).checkpoint, 'a.ckpt');
  assert.notEqual(JSON.parse(readFileSync(join(dir, 'b.report.json'), 'utf8')).pruning, null);
  // distinct plot titles
  const title = (f: string): string => /<text[^>]*font-size="15">([^<]*)</.exec(readFileSync(join(dir, f), 'utf8'))![1];
  assert.notEqual(title('a.curves.svg'), title('b.curves.svg'));
});

/** A 6-step run with --ema 0.9 and the same run without it, trained once for the tests that read them. */
function emaRuns(): { avg: string; plain: string } {
  const avg = join(tmp, 'ema', 'avg.ckpt'), plain = join(tmp, 'ema', 'plain.ckpt');
  if (!existsSync(avg)) assert.equal(train(avg, '--ema', '0.9', '--max-steps', '6').status, 0);
  if (!existsSync(plain)) assert.equal(train(plain, '--max-steps', '6').status, 0);
  return { avg, plain };
}

test('eval --weights: a run with --ema scores its average by default and its last weights on request, which are a plain run\'s', () => {
  const { avg, plain } = emaRuns();
  const bpc = (...args: string[]): string => {
    const r = cli('eval', ...args, '--quiet', '--threads', '1');
    assert.equal(r.status, 0, r.stderr);
    return /bits\/char: ([\d.]+)/.exec(r.stdout)![1];
  };
  // Training is the same with or without the average: the last weights score as the plain run does.
  assert.equal(bpc(avg, '--weights', 'trained'), bpc(plain));
  assert.notEqual(bpc(avg), bpc(plain));
  assert.equal(bpc(avg, '--weights', 'average'), bpc(avg));
  assert.match(oneLine(cli('eval', plain, '--weights', 'trained'), 'eval --weights trained without --ema'),
    /optim\.embedding\.weight\.train: missing: the checkpoint holds no trained weights beside an average \(it was not trained with --ema\); drop --weights trained/);
});

test('average-distance: the distance between an --ema run\'s average and its last weights, over the kept weights', () => {
  const { avg, plain } = emaRuns(), pruned = join(tmp, 'ema-dist', 'pruned.ckpt');
  assert.equal(train(pruned, '--ema', '0.9', '--max-steps', '6', '--prune', 'oneshot', '--target-sparsity', '0.5').status, 0);
  const ck = loadCheckpoint(avg), d = averageDistance(ck);
  const weights = [...maskedWeights(ck).values()].reduce((n, w) => n + w.length, 0);
  assert.equal(d.kept, weights, 'a dense run keeps every weight');
  assert.ok(d.rmsDistance > 0 && d.rmsDistance < d.rmsWeight, `${d.rmsDistance} vs ${d.rmsWeight}`);
  // Trained weights equal to the average: no distance; one of them moved by 0.5: exactly 0.25.
  const same = new Map(ck.tensors);
  for (const [name, w] of maskedWeights(ck)) same.set(trainedTensorName(name), { shape: ck.tensors.get(name)!.shape, data: Float32Array.from(w) });
  assert.equal(averageDistance({ ...ck, tensors: same }).squaredDistance, 0);
  const moved = Float32Array.from(same.get(trainedTensorName('fc.bias'))!.data);
  moved[3] = Math.fround(moved[3] + 0.5);
  same.set(trainedTensorName('fc.bias'), { shape: [moved.length], data: moved });
  assert.ok(Math.abs(averageDistance({ ...ck, tensors: same }).squaredDistance - 0.25) < 1e-6);
  // A pruned run: only the weights its masks keep.
  const p = loadCheckpoint(pruned), nonZero = [...maskedWeights(p).values()].reduce((n, w) => n + w.filter((x) => x !== 0).length, 0);
  assert.equal(averageDistance(p).kept, nonZero);
  assert.ok(nonZero < 0.7 * weights, `${nonZero} of ${weights}`);
  // The command: a row per checkpoint; a plain run and no arguments are one line each.
  const script = join(root, 'dist/experiments/average-distance.js');
  const r = spawnSync(process.execPath, [script, avg, pruned], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 4);
  for (const args of [[plain], []]) {
    const e = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
    assert.equal(e.status, 1);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, args.length ? /optim\.embedding\.weight\.train: missing: .*; give a checkpoint of a run trained with --ema/ : /usage/);
  }
});

test('#12.3: options that would be ignored are refused; a finished run says so', () => {
  for (const opt of [['--target-sparsity', '0.9'], ['--q', '0.1'], ['--phi-mult', '2']]) {
    const line = oneLine(train(join(tmp, 'o3', 'x.ckpt'), ...opt), opt[0]);
    assert.match(line, new RegExp(`${opt[0]} only applies with pruning: add --prune narang`));
  }
  // Two decays of the learning rate at once; a plan option on a plan that has none.
  assert.match(oneLine(train(join(tmp, 'o3', 'x.ckpt'), '--lr-schedule', 'cosine', '--lr-decay', '1.2'), '--lr-schedule cosine --lr-decay'),
    /--lr-decay 1\.2 and --lr-schedule cosine both set the learning rate's decay: give one of them/);
  // A weight average that cannot average: one line naming the option and its range.
  for (const v of ['1', '-0.1', 'x'])
    assert.match(oneLine(train(join(tmp, 'o3', 'x.ckpt'), '--ema', v), `--ema ${v}`), new RegExp(`--ema must be a number in \\[0, 0\\.99999\\], got "${v.replace('.', '\\.')}"`));
  // Extending a cosine run redraws its schedule: said, not done in silence.
  const cos = join(tmp, 'o3', 'cos.ckpt');
  assert.equal(train(cos, '--lr-schedule', 'cosine').status, 0);
  const more = cli('train', ...TINY.map((a, i) => (TINY[i - 1] === '--epochs' ? '2' : a)).filter((a) => a !== '--eval-chars' && a !== '100'), '-o', cos, '--resume');
  assert.equal(more.status, 0, more.stderr);
  assert.match(more.stderr, /cos\.ckpt follows a cosine learning rate over 1 epochs; with --epochs 2 the cosine is redrawn over 2 \(the learning rate rises again from here\)/);
  assert.match(oneLine(cli('reproduce', '--task', 'charlm', '--lr-schedule', 'cosine', '--out', join(tmp, 'o3', 'rep')), 'reproduce --lr-schedule on charlm'),
    /--lr-schedule sets the learning rate of the SOTU plans: use it with --task sotu or --task sotu-budget/);
  // One task's options on the other task.
  assert.match(oneLine(train(join(tmp, 'o3', 'x.ckpt'), '--vtlp', '0.1', '--normalize', 'running'), '--vtlp on charlm'),
    /--normalize, --vtlp only apply to --task speech: drop them, or add --task speech/);
  assert.match(oneLine(cli('train', '--task', 'speech', '--embed', '8', '-o', join(tmp, 'o3', 'x.ckpt')), '--embed on speech'),
    /--embed only applies to the character LM \(--task charlm\): drop it/);
  // A file where the speech corpus folder belongs: said so, not "manifest.json not found" (which suggests writing a corpus there).
  assert.match(oneLine(cli('train', '--task', 'speech', '--corpus', corpus(), '-o', join(tmp, 'o3', 'x.ckpt')), '--corpus FILE on speech'),
    /: a file, not a speech corpus folder; give the folder that "sparse-rnn data speech --out DIR" wrote/);
  const out = join(tmp, 'o3', 'm.ckpt');
  assert.equal(train(out).status, 0);
  let line = oneLine(train(out, '--resume', '--hidden', '16'), '--resume --hidden');
  assert.match(line, /--hidden 16 differs from the checkpoint's 8 \(.*m\.ckpt\): --resume continues the saved run/);
  line = oneLine(cli('train', '--corpus', corpus(), ...TINY.filter((_, i) => i < 10 || i > 13), '--max-steps', '5', '-o', out, '--resume'), '--resume --max-steps');
  assert.match(line, /--max-steps 5 differs from the checkpoint's 2/);
  const r = train(out, '--resume');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /already finished \(1 of 1 epochs, iteration 2\)/);
  assert.match(r.stderr, /nothing trained\. Raise --epochs to continue it/);
  // --resume --epochs 2 continues, and counts the new epoch as epoch 2 (#12.8).
  // (without --corpus: a resumed run continues on the corpus recorded in its checkpoint)
  const r2 = cli('train', ...TINY.map((a, i) => (TINY[i - 1] === '--epochs' ? '2' : a)).filter((a) => a !== '--quiet'), '-o', out, '--resume');
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /resumed .*m\.ckpt at epoch 2, step 0 \(iteration 2\)/);
  assert.match(r2.stderr, /epoch 2\/2: train/);
  assert.doesNotMatch(r2.stderr, /epoch 0/);
});

test('#12.4: every schedule error is one line with a non-zero exit', () => {
  const cases: [string[], RegExp][] = [
    [['--start-itr', '661', '--ramp-itr', '1322', '--end-itr', '3305'], /missing --q/],
    [['--start-itr', '3305', '--ramp-itr', '1322', '--end-itr', '661', '--q', '1'], /--start-itr < --end-itr/],
    [['--start-itr', '1', '--ramp-itr', '2', '--end-itr', '9', '--q', '1', '--freq', '0'], /--freq must be an integer ≥ 1, got "0"/],
    [['--start-itr', 'x', '--ramp-itr', '2', '--end-itr', '9', '--q', '1'], /--start-itr must be an integer ≥ 0, got "x"/],
  ];
  for (const [args, re] of cases) assert.match(oneLine(cli('schedule', ...args), args.join(' ')), re);
  const trunc = join(tmp, 'trunc.safetensors');
  writeFileSync(trunc, Uint8Array.from([200, 0, 0, 0, 0, 0, 0, 0, 123, 34]));
  assert.match(oneLine(cli('schedule', '--checkpoint', trunc, '--epochs', '2', '--iters-per-epoch', '10'), 'truncated'), /trunc\.safetensors/);
});

test('train refuses a learning rate that is not above zero, before reading any data', () => {
  for (const lr of ['0', '-1', 'x']) {
    const out = join(tmp, `lr-${lr}.ckpt`);
    assert.match(oneLine(cli('train', '--lr', lr, '-o', out), `--lr ${lr}`), new RegExp(`--lr must be a number > 0, got "${lr}"`));
    assert.equal(existsSync(out), false, 'nothing written');
  }
});

test('#12.5: sample, eval and transcribe refuse a model of the wrong task', async () => {
  const sp = await speechCheckpoint();
  for (const cmd of ['sample', 'eval']) {
    const line = oneLine(cli(cmd, sp), cmd);
    assert.match(line, new RegExp(`speech\\.ckpt: task: is a speech checkpoint, not a character-LM model as ${cmd} needs; use \`sparse-rnn transcribe\``));
  }
  const lm = join(tmp, 'o1', 'm.ckpt');
  assert.match(oneLine(cli('transcribe', lm, 'x.wav'), 'transcribe'), /m\.ckpt: task: is a character-LM checkpoint, not a speech model/);
});

test('export, export-onnx, infer and forward never replace an existing -o file without --force', () => {
  const ck = join(tmp, 'o1', 'm.ckpt');
  const out = join(tmp, 'keep.srnn');
  assert.equal(cli('export', ck, '-o', out).status, 0);
  const before = readFileSync(out);
  writeFileSync(out, 'a model the user cares about');
  for (const args of [['export', ck, '-o', out], ['export-onnx', ck, '-o', out], ['infer', ck, '--input', 'x.npy', '-o', out],
    ['forward', '--weights', 'w.safetensors', '--cell', 'gru', '--input', 'x.npy', '-o', out]]) {
    const line = oneLine(cli(...args), args[0]);
    assert.match(line, /keep\.srnn: a (model|file) already exists; replace it with --force, or choose another -o\/--out/);
    assert.equal(readFileSync(out, 'utf8'), 'a model the user cares about', `${args[0]} left the file alone`);
  }
  assert.equal(cli('export', ck, '-o', out, '--force').status, 0);
  assert.deepEqual(readFileSync(out), before);
});

test('#12.6: wrong file kinds are named, with what to use instead (no "magic: magic:")', () => {
  const ck = join(tmp, 'o1', 'm.ckpt');
  const srnn = join(tmp, 'm.srnn');
  assert.equal(cli('export', ck, '-o', srnn).status, 0);
  let line = oneLine(cli('eval', srnn), 'eval .srnn');
  assert.match(line, /m\.srnn: is a sparse \.srnn model \(written by `sparse-rnn export`\), expected a training checkpoint \(\.ckpt\) for eval; give the checkpoint it was exported from/);
  line = oneLine(cli('export', srnn, '-o', join(tmp, 'y.srnn')), 'export .srnn');
  assert.match(line, /m\.srnn: is a sparse \.srnn model/);
  line = oneLine(cli('export', join(root, 'README.md'), '-o', join(tmp, 'y.srnn')), 'export text');
  assert.match(line, /README\.md: is not a file this tool reads, expected a training checkpoint/);
  const x = join(tmp, 'x.npy');
  writeFileSync(x, Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
  line = oneLine(cli('infer', ck, '--input', x, '-o', join(tmp, 'y.npy')), 'infer .ckpt');
  assert.match(line, /m\.ckpt: is a safetensors file, expected a sparse \.srnn model for infer; if it is a training checkpoint, export it first: `sparse-rnn export .*m\.ckpt -o model\.srnn`/);
  const junk = join(tmp, 'junk.srnn');
  writeFileSync(junk, 'JUNKJUNKJUNKJUNKJUNKJUNKJUNKJUNKJUNKJUNK');
  line = oneLine(cli('infer', junk, '--input', x, '-o', join(tmp, 'y.npy')), 'infer junk');
  assert.match(line, /junk\.srnn: is not a file this tool reads, expected a sparse \.srnn model for infer; \.srnn models are written by `sparse-rnn export`/);
  // transcribe takes either kind, and says so for anything else (whole files and --stream alike).
  for (const args of [[junk, 'x.wav'], ['--stream', junk, 'x.wav']]) {
    line = oneLine(cli('transcribe', ...args), `transcribe ${args.join(' ')}`);
    assert.match(line, /junk\.srnn: is not a file this tool reads, expected a sparse \.srnn model or a training checkpoint \(\.ckpt\) for transcribe( --stream)?; give a model written by `sparse-rnn export`/);
  }
  // A format error of the .srnn reader is printed once, field and all.
  assert.equal(errorLine(new SrnnFormatError('magic', 'magic', 'expected "SRNN", found "JUNK"')), '.srnn magic: expected "SRNN", found "JUNK"');
  assert.equal(errorLine(new SrnnFormatError('tensor', 'fc.weight', 'bad')), '.srnn tensor: fc.weight: bad');
});

test('#12.7: a corpus too small for the batch names the file and says what to change', () => {
  const small = corpus(1500);
  const line = oneLine(cli('train', '--corpus', small, ...TINY.filter((a) => a !== '--quiet'), '--batch', '32', '--seq-len', '50', '-o', join(tmp, 'o7', 'm.ckpt')), 'small corpus');
  assert.match(line, /corpus-1500\.txt: its training split \(\d+ characters\) is too small for batch 32 × sequence 50; use a larger corpus, or lower --batch \/ --seq-len/);
});

test('#12.8: --quiet is quiet (no pruner lines, no progress, no engine line); progress lines show elapsed time and ETA and fit', () => {
  const r = train(join(tmp, 'o8', 'm.ckpt'), '--prune', 'narang', '--start-itr', '0', '--ramp-itr', '1', '--end-itr', '2', '--freq', '1', '--target-sparsity', '0.5');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /^prune /m);
  assert.doesNotMatch(r.stderr, /elapsed|kernels /);
  assert.match(r.stderr, /epoch 1\/1: train/);
  const loud = cli('train', '--corpus', corpus(), ...TINY.filter((a) => a !== '--quiet'), '--prune', 'narang', '--start-itr', '0', '--ramp-itr', '1', '--end-itr', '2', '--freq', '1', '-o', join(tmp, 'o8', 'n.ckpt'));
  assert.equal(loud.status, 0, loud.stderr);
  assert.match(loud.stderr, /^kernels \S+.*1 thread/m, 'the engine, once');
  assert.equal((loud.stderr.match(/^kernels /gm) ?? []).length, 1);
  assert.match(loud.stderr, /^prune /m);
  assert.match(loud.stderr, /epoch 1\/1 \d+\/2 0:\d\d elapsed, ETA \d+:\d\d/);
  // The bar itself: elapsed and ETA, cut to the width.
  const line = formatProgressLine({ label: 'epoch 2/10', value: 50, total: 200, elapsedSec: 30, fields: { loss: '1.234 bpc', speed: '1234 char/s' }, width: 200 });
  assert.match(line, /^epoch 2\/10 \|█{5}░{15}\| 50\/200 0:30 elapsed, ETA 1:30 · loss 1\.234 bpc/);
  for (const w of [20, 40, 79]) assert.ok(formatProgressLine({ label: 'epoch 2/10', value: 50, total: 200, elapsedSec: 30, fields: { loss: 'x'.repeat(100) }, width: w }).length <= w);
  assert.equal(formatDuration(3725), '1:02:05');
  // The demo restarts itself: its help offers no --resume.
  assert.doesNotMatch(cli('demo', '--help').stdout, /--resume/);
});

test('#12.9: help is consistent: every option described, -o is --out, --kernels/--threads on computing commands; README lists every option', () => {
  const program = buildProgram();
  const all = new Set<string>();
  const walk = (c: typeof program, path: string[]): void => {
    for (const sub of c.commands) walk(sub as typeof program, [...path, sub.name()]);
    if (!path.length) return;
    const name = path.join(' ');
    for (const o of c.options) {
      if (o.long) all.add(o.long);
      assert.ok(o.description && o.description.trim().length > 3, `${name} ${o.flags}: no description`);
      if (o.short === '-o') assert.equal(o.long, '--out', `${name}: -o must be --out`);
    }
  };
  walk(program, []);
  const cmd = (n: string) => program.commands.find((c) => c.name() === n)!;
  for (const n of ['train', 'eval', 'sample', 'infer', 'transcribe', 'forward', 'demo', 'reproduce']) {
    const longs = cmd(n).options.map((o) => o.long);
    assert.ok(longs.includes('--kernels') && longs.includes('--threads'), `${n}: --kernels and --threads`);
  }
  assert.ok(cmd('infer').options.some((o) => o.short === '-o'), 'infer has -o');
  assert.ok(cmd('eval').options.find((o) => o.long === '--split')!.description.length > 10);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf('## Command line'), readme.indexOf('## Library'));
  for (const long of all) if (long !== '--help' && long !== '--version') assert.ok(block.includes(long), `README's CLI block lists ${long}`);
});

test('#12.10: the demo draws one figure: dense and pruned validation curves together, sparsity on a second axis', () => {
  const h = (e: number, v: number) => ({ epoch: e, trainBpc: v + 0.1, validBpc: v, seconds: 1, lr: 1e-3 });
  const svg = demoFigure(128, [h(1, 3), h(2, 2.5)], [h(1, 3.1), h(2, 2.6)], [[0.5, 0.3], [1.5, 0.9]]);
  assert.match(svg, /dense: valid bits\/char/);
  assert.match(svg, /pruned: valid bits\/char/);
  assert.match(svg, /pruned: sparsity \(right axis\)/);
  assert.match(svg, /sparsity of the pruned model/);
  assert.equal((svg.match(/stroke-dasharray="6 3"><title>/g) ?? []).length, 1, 'one dashed series on the second axis');
});

test('serve finds runs/demo-quick when runs/demo has no models', async () => {
  const { defaultDemoDir } = await import('../src/cli/commands/serve.js');
  const cwd = mkdtempSync(join(tmpdir(), 'sparse-rnn-serve-'));
  assert.equal(defaultDemoDir(cwd), 'runs/demo');
  const m = new RNNModel({ cell: 'gru', inputSize: 4, hiddenSize: 4, numLayers: 1, bidirectional: false, vocabSize: 3, outputSize: 3 }, createKernels(new Heap(), 'ts'));
  m.init(1);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(cwd, 'runs', 'demo-quick'), { recursive: true });
  writeFileSync(join(cwd, 'runs', 'demo-quick', 'model.srnn'), exportModel(m.config, new Map(m.params.map((p) => [p.name, Float32Array.from(p.data)])), { values: 'fp32' }));
  assert.equal(defaultDemoDir(cwd), 'runs/demo-quick');
  assert.ok(statSync(join(cwd, 'runs', 'demo-quick', 'model.srnn')).size > 0);
});

test('the demo worker trains on a single-threaded engine, reports progress, and says to rerun the demo (not --resume) when stopped', async () => {
  const { Worker } = await import('node:worker_threads');
  const checkpoint = join(tmp, 'demo-worker', 'model.ckpt');
  const run = {
    corpus: corpus(), cell: 'gru', layers: 1, hidden: 8, embed: 4, dropout: 0, resume: true, kernels: 'auto', threads: 1, checkpoint,
    prune: { method: 'narang', targetSparsity: 0.5, schedules: { default: { startItr: 1, rampItr: 2, endItr: 4, freq: 1 } } },
    train: { epochs: 2, batch: 4, seqLen: 8, clip: 5, lrDecay: 1, seed: 1, maxStepsPerEpoch: 3, evalChars: 100, optimizer: { kind: 'adam', lr: 1e-2 } },
  };
  const go = (stopAt: number | null) => new Promise<{ msgs: { type: string; [k: string]: unknown }[] }>((resolve, reject) => {
    const w = new Worker(new URL('../src/cli/demo-worker.js', import.meta.url), { workerData: run });
    const msgs: { type: string; [k: string]: unknown }[] = [];
    w.on('message', (m: { type: string; [k: string]: unknown }) => {
      msgs.push(m);
      if (m.type === 'step' && stopAt !== null && (m.step as number) >= stopAt) w.postMessage({ type: 'stop' });
      if (m.type === 'done') void w.terminate().then(() => resolve({ msgs }));
    });
    w.on('error', reject);
  });
  const first = await go(0);
  const done1 = first.msgs.find((m) => m.type === 'done')!;
  assert.equal(done1.completed, false);
  const logs = first.msgs.filter((m) => m.type === 'log').map((m) => String(m.line));
  assert.ok(logs.some((l) => /interrupted: .*run the demo again to continue/.test(l)), logs.join('\n'));
  assert.ok(!logs.some((l) => /--resume/.test(l)));
  const second = await go(null);
  const done2 = second.msgs.find((m) => m.type === 'done')!;
  assert.equal(done2.completed, true);
  assert.equal((done2.history as unknown[]).length, 2);
  assert.ok((done2.sparsityPoints as unknown[]).length > 0);
  assert.ok(existsSync(join(tmp, 'demo-worker', 'model.report.json')));
});

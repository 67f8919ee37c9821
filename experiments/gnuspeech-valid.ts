// A validation set from a synthesis method that no model trains on and no test split uses (issue #13):
// the validation texts of a speech corpus, spoken by GnuSpeech's articulatory voices (a tube model of the
// vocal tract driven by phonetic rules; espeak-ng is a formant synthesizer, festival and flite diphone
// and cluster-unit ones). The espeak-ng validation voices do not reward what helps on the held-out
// synthesizer (RESULTS.md, "Speech: unseen voices"); this set lets choices be checked on a second unseen
// method without looking at the test's.
//
//   npm install --no-save @echogarden/gnuspeech-wasm@0.3.0      (GPL-3.0: not a dependency of sparse-rnn)
//   node dist/experiments/gnuspeech-valid.js --corpus data/speech -o data/gnuspeech-valid
//   node dist/experiments/speech-robust.js eval CKPT --corpus data/gnuspeech-valid --splits valid --as valid-gnuspeech --merge -o SUMMARY.json
//
// The output is a corpus folder (manifest.json, wav/valid/*.wav, 16 kHz) whose one split, valid, holds
// the texts of the source corpus's valid split in turn by GnuSpeech's male, female and large_child
// voices, each with a tempo in [0.9, 1.2] and a pitch offset in [−7, −1] semitones from a seeded draw.
// GnuSpeech's random intonation and pitch drift are off, so the same command gives the same bytes.
//
// --split test renders the test split's texts instead (split test, its own seeded draw): a set no choice was
// made on, to check the choices the validation texts' set made (`eval … --splits test --as test-gnuspeech`).

import { Rng } from '../src/util/rng.js';
import { parseArgs, renderTextSet } from './render-texts.js';

const PACKAGE = '@echogarden/gnuspeech-wasm';
const INSTALL = `npm install --no-save ${PACKAGE}@0.3.0`;
const VOICES = ['male', 'female', 'large_child'] as const;

interface GnuSpeechModule {
  FS: { writeFile(path: string, data: string): void; readFile(path: string): Uint8Array };
  _GnuSpeech_synthesizeToFile(text: number, out: number, configDir: number, params: number, debug: boolean): void;
}
interface HeapString { address: number; free(): void }

/** The port, loaded; a clear error when it is not installed. */
async function loadGnuSpeech(): Promise<(text: string, config: string) => Uint8Array> {
  // Specifiers in variables: the package is optional, so TypeScript must not resolve it.
  const pkg = PACKAGE, heapPkg = 'wasm-heap-manager';
  try {
    const { default: init } = (await import(`${pkg}/wasm/gnuspeech.js`)) as { default: () => Promise<GnuSpeechModule> };
    const { wrapEmscriptenModuleHeap } = (await import(heapPkg)) as { wrapEmscriptenModuleHeap: (m: GnuSpeechModule) => { allocNullTerminatedUtf8String(s: string): HeapString } };
    const module = await init();
    const heap = wrapEmscriptenModuleHeap(module);
    return (text, config) => {
      module.FS.writeFile('/data/en/trm_control_model.txt', config);
      const args = [text, './out.wav', '/data/en', './out-params.txt'].map((s) => heap.allocNullTerminatedUtf8String(s));
      try {
        module._GnuSpeech_synthesizeToFile(args[0].address, args[1].address, args[2].address, args[3].address, false);
        return module.FS.readFile('./out.wav').slice();
      } finally {
        for (const a of args) a.free();
      }
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND')
      throw new Error(`${PACKAGE} is not installed (GPL-3.0, not a dependency of sparse-rnn): ${INSTALL}`);
    throw new Error(`${PACKAGE} failed to load (${(e as Error).message}); reinstall it: ${INSTALL}`);
  }
}

/** GnuSpeech's default control-model configuration with `key = value` set (the key must be there). */
function setKey(config: string, key: string, value: string | number): string {
  const re = new RegExp(`^${key} = .*$`, 'm');
  if (!re.test(config)) throw new Error(`GnuSpeech's configuration has no "${key}" (an unexpected version of ${PACKAGE}; ${INSTALL})`);
  return config.replace(re, `${key} = ${value}`);
}

async function main(): Promise<void> {
  const usage = 'gnuspeech-valid.js --corpus SOURCE_DIR -o OUT_DIR [--split valid|test]';
  const a = parseArgs(process.argv.slice(2), ['--corpus', '-o', '--split'], usage);
  const source = a.get('--corpus'), out = a.get('-o'), split = a.get('--split') ?? 'valid';
  if (!source || !out) throw new Error(`usage: ${usage}`);
  if (split !== 'valid' && split !== 'test') throw new Error(`--split: expected valid or test, got "${split}"`);
  const render = await loadGnuSpeech();
  const { defaultTrmControlModelFileContent: base } = (await import(`${PACKAGE}/dist/utilities/DefaultTrmControlModel.js`)) as { defaultTrmControlModelFileContent: string };
  // The validation set's draw is the one its published scores used; the test set's is another.
  const rng = new Rng(split === 'valid' ? 12345 : 54321);
  await renderTextSet({
    tool: 'gnuspeech-valid', source, split, out, family: 'gnuspeech', voices: VOICES, idPrefix: 'g',
    render: (text, voice) => {
      const tempo = Number(rng.uniform(0.9, 1.2).toFixed(3)), semitones = Number(rng.uniform(-7, -1).toFixed(2));
      let config = setKey(base, 'voice_name', voice);
      config = setKey(config, 'tempo', tempo);
      config = setKey(config, 'pitch_offset', semitones);
      config = setKey(config, 'random_intonation', 0);
      config = setKey(config, 'intonation_drift', 0);
      return render(text, config); // 44.1 kHz
    },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`gnuspeech-valid: ${(e as Error).message}\n`);
  process.exitCode = 1;
});

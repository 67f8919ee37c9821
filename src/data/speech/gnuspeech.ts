// GnuSpeech, an articulatory synthesizer (a tube model of the vocal tract driven by phonetic rules),
// through its WebAssembly port @echogarden/gnuspeech-wasm: a synthesis method that neither espeak-ng
// (formant), festival (diphone) nor flite (diphone, the held-out synthesizer) uses. Node only.
//
// It is not a dependency of this package: only the opt-in `data speech --augment gnuspeech` uses it,
// and it is GPL-3.0, so the user installs it (GNUSPEECH_INSTALL), as they install the Debian voices.
// The port's own `synthesize()` leaves GnuSpeech's random intonation and pitch drift on, so the same
// call gives different audio each time; here they are off, and each utterance's tempo and pitch
// offset come from the corpus plan's seeded draws instead, so that a corpus is the same for a seed.

export const GNUSPEECH_PACKAGE = '@echogarden/gnuspeech-wasm';
export const GNUSPEECH_INSTALL = `npm install ${GNUSPEECH_PACKAGE}@0.3.0`;
/** The voices trained on (the port also has small_child and baby, above any voice we evaluate). */
export const GNUSPEECH_VOICES: readonly string[] = ['male', 'female', 'large_child'];
/** The voices' pitch offset range (semitones), around GnuSpeech's default of −4. */
export const GNUSPEECH_PITCH_OFFSET: readonly [number, number] = [-7, -1];

interface GnuSpeechModule {
  FS: { writeFile(path: string, data: string): void; readFile(path: string): Uint8Array };
  _GnuSpeech_synthesizeToFile(text: number, out: number, configDir: number, params: number, debug: boolean): void;
}
interface HeapString { address: number; free(): void }
interface Engine { module: GnuSpeechModule; config: string; alloc: (s: string) => HeapString }

let engine: Promise<Engine> | undefined;

/** Load the port once; a clear error when it is not installed. */
export function loadGnuSpeech(): Promise<Engine> {
  engine ??= (async () => {
    // Specifiers in variables: the package is optional, so TypeScript must not resolve it.
    const pkg = GNUSPEECH_PACKAGE, heapPkg = 'wasm-heap-manager';
    try {
      const { default: init } = (await import(`${pkg}/wasm/gnuspeech.js`)) as { default: () => Promise<GnuSpeechModule> };
      const { defaultTrmControlModelFileContent: config } = (await import(`${pkg}/dist/utilities/DefaultTrmControlModel.js`)) as { defaultTrmControlModelFileContent: string };
      const { wrapEmscriptenModuleHeap } = (await import(heapPkg)) as { wrapEmscriptenModuleHeap: (m: GnuSpeechModule) => { allocNullTerminatedUtf8String(s: string): HeapString } };
      const module = await init();
      const heap = wrapEmscriptenModuleHeap(module);
      return { module, config, alloc: (s: string) => heap.allocNullTerminatedUtf8String(s) };
    } catch (e) {
      engine = undefined;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND')
        throw new Error(`gnuspeech: the package ${GNUSPEECH_PACKAGE} is not installed; '--augment gnuspeech' needs it (GPL-3.0, not a dependency of sparse-rnn): ${GNUSPEECH_INSTALL}`);
      throw new Error(`gnuspeech: ${GNUSPEECH_PACKAGE} failed to load (${(e as Error).message}); reinstall it: ${GNUSPEECH_INSTALL}`);
    }
  })();
  return engine;
}

/** Set `key = value` in GnuSpeech's control-model configuration (the key must be there). */
function setKey(config: string, key: string, value: string | number): string {
  const re = new RegExp(`^${key} = .*$`, 'm');
  if (!re.test(config)) throw new Error(`gnuspeech: its configuration has no "${key}" (an unexpected version of ${GNUSPEECH_PACKAGE}; ${GNUSPEECH_INSTALL})`);
  return config.replace(re, `${key} = ${value}`);
}

/**
 * Render `text` (English words) with a GnuSpeech voice: a 16-bit WAV file's bytes (44.1 kHz mono).
 * Deterministic: the same arguments give the same bytes. Synchronous once loaded, so concurrent
 * callers cannot interleave on the module's files.
 */
export async function renderGnuSpeech(text: string, voice: string, tempo: number, pitchOffset: number): Promise<Uint8Array> {
  if (!GNUSPEECH_VOICES.includes(voice)) throw new RangeError(`unknown GnuSpeech voice "${voice}" (expected one of ${GNUSPEECH_VOICES.join(', ')})`);
  const { module, config, alloc } = await loadGnuSpeech();
  let c = setKey(config, 'voice_name', voice);
  c = setKey(c, 'tempo', tempo);
  c = setKey(c, 'pitch_offset', pitchOffset);
  c = setKey(c, 'random_intonation', 0);
  c = setKey(c, 'intonation_drift', 0);
  module.FS.writeFile('/data/en/trm_control_model.txt', c);
  const args = [text, './out.wav', '/data/en', './out-params.txt'].map(alloc);
  try {
    module._GnuSpeech_synthesizeToFile(args[0].address, args[1].address, args[2].address, args[3].address, false);
    return module.FS.readFile('./out.wav').slice();
  } finally {
    for (const a of args) a.free();
  }
}

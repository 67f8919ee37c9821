// Streaming transcription from Node inputs (`sparse-rnn transcribe --stream`): a WAV file read in
// chunks, or stdin (raw 16-bit PCM, or a WAV stream), through the browser-safe
// StreamingTranscriber (src/sparse/stream.ts) on the sparse runtime. A training checkpoint is
// exported to .srnn in memory first (step() is the sparse runtime's).

import { createReadStream } from 'node:fs';
import type { Kernels } from '../kernels/types.js';
import { SparseModel } from '../sparse/runtime.js';
import { readSrnn, type SrnnHeader } from '../sparse/format.js';
import { streamRefusal, transcribeStream, type StreamEvent } from '../sparse/stream.js';
import { checkSpeechModel, speechModelInfo, type DecodeOptions, type SpeechModelInfo } from '../sparse/transcribe.js';
import { checkpointToSrnn, loadCheckpoint, loadSrnnFile, modelKindChecked, type KernelsFor } from './checkpoint.js';
import { accessError, readFileBytes } from '../io/fs.js';

/** A speech model on the sparse runtime, checked to be able to stream (one clear error otherwise). */
export async function loadStreamingModel(file: string, kernels: Kernels | KernelsFor): Promise<{ model: SparseModel; info: SpeechModelInfo }> {
  const head = (await readFileBytes(file)).subarray(0, 16);
  let model: SparseModel, info: SpeechModelInfo;
  if (modelKindChecked(file, head, 'transcribe --stream') === 'srnn') {
    // Refuse a model that cannot stream before making the engine (a broken file is reported by the load).
    let header: SrnnHeader | null = null;
    try {
      header = readSrnn(await readFileBytes(file), { verifyCrc: false }).header;
    } catch { /* loadSrnnFile names what is wrong */ }
    if (header) {
      const why = streamRefusal(header, checkSpeechModel(file, header.config, header.extra?.features, header.extra?.vocab, header.extra?.task), file);
      if (why) throw new Error(why);
    }
    model = await loadSrnnFile(file, kernels, { purpose: 'transcribe --stream' });
    info = speechModelInfo(model, file);
  } else {
    const ck = loadCheckpoint(file, { task: 'speech', purpose: 'transcribe --stream' });
    info = checkSpeechModel(file, ck.meta.config, ck.meta.features, ck.meta.vocab, ck.meta.task);
    const why = streamRefusal({ config: ck.meta.config }, info, file);
    if (why) throw new Error(why);
    model = SparseModel.load(checkpointToSrnn(ck).bytes, { kernels: typeof kernels === 'function' ? await kernels() : kernels });
  }
  const why = streamRefusal(model, info, file);
  if (why) throw new Error(why);
  return { model, info };
}

export interface StreamInputOptions {
  /** Raw PCM sample rate on stdin (Hz; default 16000). */
  rate?: number;
  /** Bytes per read (default: 100 ms of 16 kHz 16-bit audio). */
  chunkBytes?: number;
  /** Beam search or a lexicon instead of greedy decoding. */
  decode?: DecodeOptions;
}

/** Transcribe a WAV file, or stdin when `input` is '-', as it is read: each partial and the final event go to onEvent. */
export async function transcribeInputStream(model: SparseModel, info: SpeechModelInfo, input: string, label: string,
  o: StreamInputOptions, onEvent: (e: StreamEvent) => void): Promise<StreamEvent> {
  const stdin = input === '-';
  const name = stdin ? '<stdin>' : input;
  const chunks = stdin ? process.stdin : createReadStream(input, { highWaterMark: o.chunkBytes ?? 3200 });
  const reads = (async function* (): AsyncGenerator<Uint8Array> {
    try {
      for await (const c of chunks) yield c as Uint8Array;
    } catch (e) {
      throw accessError(name, e, 'read');
    }
  })();
  return transcribeStream(model, reads, { format: stdin ? 'pcm' : 'wav', rate: o.rate ?? 16000, label: name, strict: !stdin },
    onEvent, { info, label, decode: o.decode });
}

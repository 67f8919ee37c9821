// Entry of the browser runtime bundle (dist/web/sparse-rnn.js, built by scripts/build-web.mjs):
// the .srnn reader, the sparse inference runtime (WASM SIMD kernels embedded as base64, the
// TypeScript kernels where WebAssembly SIMD is missing), text generation, speech to text (WAV or
// samples → features → greedy CTC, or a prefix beam search within a lexicon; streaming from audio chunks: StreamingTranscriber), the same API in a Web Worker (where threads run, in a
// cross-origin isolated page: WorkerModel), and the compute engine (createWebEngine). No training
// code and no Node APIs.
//
//   import { loadModel, charVocab, generate } from './sparse-rnn.js';
//   const model = await loadModel('model.srnn');            // URL, Response, ArrayBuffer or bytes
//   const text = generate(model, charVocab(model), { prompt: 'The whale ', length: 200 });

import { SparseModel, type LoadOptions } from '../sparse/runtime.js';
import { fetchModelBytes } from './model-tools.js';

export { SparseModel, type LoadOptions, type RunOptions, type SparseState, type TokenInput } from '../sparse/runtime.js';
export { readSrnn, type SrnnFile, type SrnnHeader, type SrnnTensor } from '../sparse/format.js';
export { SrnnFormatError } from '../sparse/errors.js';
export { exportModel, CSR_MAX_DENSITY } from '../sparse/export.js';
export { CharGenerator, charVocab, encodeChars, generate, type GenerateOptions, type GeneratedToken } from '../sparse/generate.js';
export {
  transcribeWav, transcribeSamples, speechModelInfo, wavToModelFeatures, samplesToModelFeatures, greedyTranscript, decodeLogits, tidyTranscript, lexiconOf, LEXICON_BEAM,
  type SpeechModelInfo, type SpeechFeatureSettings, type TranscribeResult, type TranscribeOptions, type DecodeOptions,
} from '../sparse/transcribe.js';
export { decodeWav, encodeWav16, resample, type DecodedWav } from '../data/speech/wav.js';
export {
  StreamingTranscriber, SpeechFeatureStream, AudioBytesDecoder, transcribeStream, streamRefusal,
  type StreamEvent, type StreamOptions, type AudioBytesOptions,
} from '../sparse/stream.js';
export { wasmSimdSupported, wasmRelaxedSupported } from '../kernels/wasm.js';
export {
  createWebEngine, webThreadsUnavailable, crossOriginIsolatedNow, browserCores,
  type Engine, type KernelChoice, type WebEngineOptions,
} from '../kernels/engine-web.js';
export type { ModelConfig } from '../nn/config.js';
export { fetchModelBytes, denseTwin, modelStats, densityGrid, tensorToDense, type MatrixStats, type DensityGrid } from './model-tools.js';
export { WorkerModel, SparseWorker, WorkerCharGenerator, WorkerTranscriber, type WorkerLoadOptions, type WorkerState } from './worker-client.js';
export type { WorkerDecodeOptions } from './worker-protocol.js';

/**
 * Load a model from a URL (fetched), a fetch Response, or bytes. Compiles the WASM kernels
 * asynchronously (allowed on a browser's main thread); falls back to the TypeScript kernels where
 * WebAssembly SIMD is missing (backend 'auto').
 */
export async function loadModel(source: string | URL | Response | ArrayBuffer | Uint8Array, opts: LoadOptions = {}): Promise<SparseModel> {
  let bytes: Uint8Array | ArrayBuffer;
  if (typeof source === 'string' || source instanceof URL) bytes = await fetchModelBytes(source);
  else if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw new Error(`could not load the model: HTTP ${source.status} ${source.statusText}`);
    bytes = await source.arrayBuffer();
  } else bytes = source as ArrayBuffer | Uint8Array;
  return SparseModel.loadAsync(bytes, opts);
}

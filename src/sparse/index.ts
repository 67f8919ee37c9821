// sparse-rnn's browser-safe inference runtime: the .srnn format, export, SparseModel, and speech to text (whole files and streaming).
export { SparseModel, type LoadOptions, type RunOptions, type SparseState, type TokenInput } from './runtime.js';
export {
  exportModel, exportModelWithInfo, sizeReport, formatSizeReport, gzipWithCompressionStream, CSR_MAX_DENSITY,
  type ExportOptions, type ExportedTensorInfo, type SizeReport, type GzipFn,
} from './export.js';
export {
  readSrnn, writeSrnn, SRNN_MAGIC, SRNN_VERSION, SRNN_MIN_VERSION,
  type SrnnFile, type SrnnHeader, type SrnnEntry, type SrnnCsrEntry, type SrnnDenseEntry, type SrnnTensor,
  type SrnnCsrTensor, type SrnnDenseTensor, type SrnnBsrEntry, type SrnnBsrTensor, type WriteTensor, type ReadOptions, type TensorDtype, type ValueDtype,
} from './format.js';
export { SrnnFormatError, type SrnnErrorKind } from './errors.js';
export { crc32 } from './crc32.js';
export { denseToCsr, csrToDense, type CsrMatrix, type IndexEncoding } from './csr.js';
export { denseToBsr, bsrToDense, isBlockAligned, type BsrMatrix } from './bsr.js';
export { f32ToF16Bits, f16BitsToF32, encodeF16, decodeF16 } from './fp16.js';
export {
  transcribeWav, transcribeSamples, speechModelInfo, resolveFeatureSettings, decodeLogits, tidyTranscript, lexiconOf, LEXICON_BEAM,
  type SpeechFeatureSettings, type SpeechModelInfo, type TranscribeResult, type TranscribeOptions, type DecodeOptions,
} from './transcribe.js';
export {
  StreamingTranscriber, SpeechFeatureStream, AudioBytesDecoder, transcribeStream, streamRefusal,
  type StreamEvent, type StreamOptions, type AudioBytesOptions,
} from './stream.js';
export { largestProduct, oneThreadReason } from './threads.js';

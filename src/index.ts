// Public API of sparse-rnn (Node). The browser-safe inference runtime alone: 'sparse-rnn/runtime'.
export { Heap, createKernels, RefKernels } from './kernels/index.js';
export type { Kernels, Activation } from './kernels/index.js';
export * from './nn/config.js';
export { Param } from './nn/param.js';
export { RNNModel, type RecurrentState } from './nn/model.js';
export { Optimizer, clipGradNorm, type OptimizerOptions } from './nn/optim.js';
export { softmaxCrossEntropy } from './nn/loss.js';
export { ctcLoss, ctcGreedyDecode, ctcBeamDecode } from './nn/ctc.js';
export { cer, wer, editDistance } from './nn/metrics.js';
export * from './prune/index.js';
export { runCharLM, type CharLMRunOptions } from './train/charlm-run.js';
export { Trainer, evaluateBpc, type TrainOptions } from './train/trainer.js';
export { saveCheckpoint, loadCheckpoint, applyCheckpoint } from './train/checkpoint.js';
export { sampleText } from './train/sample.js';
export { loadCharCorpus } from './data/charlm.js';
export { parseSafetensors, serializeSafetensors } from './io/safetensors.js';
export { parseNpy, serializeNpy } from './io/npy.js';
export { SparseModel, exportModel } from './sparse/index.js';

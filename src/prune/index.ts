// Pruning during training (Narang et al. 2017) and baselines (hard, AGP, one-shot).
export * from './select.js';
export * from './block.js';
export * from './schedule.js';
export * from './recipe.js';
export * from './report.js';
export * from './pruner.js';
export * from './plan.js';

// nb.nn.utils: helpers around training (gradient clipping, distillation), compression (pruning) and
// inference (the fusion pass).

export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './clip_grad.js';
export { fuse, type FusionRule, type ModuleClass } from './fuse.js';
export { distillStep, type StepOptimizer } from './distill.js';
export * as prune from './prune.js';

// nb.nn.utils: helpers around training (gradient clipping).

export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './clip_grad.js';

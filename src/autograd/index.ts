export { grad, type GradOptions } from './grad.js';
export { gradcheck, gradgradcheck, type GradcheckOptions, type GradcheckFn } from './gradcheck.js';
export { noGrad, enableGrad, isGradEnabled } from './grad_mode.js';
export { queueCallback } from './backward.js';
export type { Node, AccumulateGrad, BackwardFn, GradHook, PostAccumulateGradHook } from './node.js';

export { grad, type GradOptions } from './grad.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './gradcheck.js';
export { noGrad, enableGrad, isGradEnabled } from './grad_mode.js';
export { queueCallback } from './backward.js';
export type { PostAccumulateGradHook } from './node.js';

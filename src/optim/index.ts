// nb.optim: optimisers (torch.optim) and, as nb.optim.lrScheduler, the LR schedulers.

export {
  Optimizer,
  type ParamGroup,
  type ParamsInput,
  type ParamState,
  type OptimizerStateDict,
  type Float,
} from './optimizer.js';
export { SGD, sgdStep, sgdUpdate, type SGDOptions } from './sgd.js';
export { Adam, AdamW, adamStep, adamUpdate, type AdamOptions, type AdamState } from './adam.js';
export { RMSprop, rmspropStep, rmspropUpdate, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, adagradStep, adagradUpdate, type AdagradOptions } from './adagrad.js';
export * as lrScheduler from './lr_scheduler.js';
export { ZeroRedundancyOptimizer } from './zero.js';

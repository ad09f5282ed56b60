// nb.optim: optimisers (torch.optim) and, as nb.optim.lrScheduler, the LR schedulers.

export {
  Optimizer,
  type ParamGroup,
  type ParamsInput,
  type ParamState,
  type OptimizerStateDict,
  type TorchOptimizerStateDict,
  type Float,
} from './optimizer.js';
export { SGD, sgdStep, sgdUpdate, type SGDOptions, type SGDHyper } from './sgd.js';
export { Adam, AdamW, adamStep, adamUpdate, type AdamOptions, type AdamState, type AdamHyper } from './adam.js';
export {
  RMSprop,
  rmspropStep,
  rmspropUpdate,
  type RMSpropOptions,
  type RMSpropState,
  type RMSpropHyper,
} from './rmsprop.js';
export {
  Adagrad,
  adagradStep,
  adagradUpdate,
  type AdagradOptions,
  type AdagradState,
  type AdagradHyper,
} from './adagrad.js';
/** torch.optim.lr_scheduler: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR, ... */
export * as lrScheduler from './lr_scheduler.js';
export { ZeroRedundancyOptimizer, type OptimizerClass } from './zero.js';

// nb.privacy: differential privacy for training (issue 21): the RDP accountant, per-sample gradients,
// DP-SGD (clipping, noise, Poisson sampling) and Opacus's PrivacyEngine.
export {
  DEFAULT_ORDERS,
  RDPAccountant,
  computeEpsilon,
  computeRdp,
  getNoiseMultiplier,
  getPrivacySpent,
  logErfc,
  type PrivacySpent,
} from './accountant.js';
export { GradSampleModule, supportedLayers, type PerSampleGrad } from './grad_sample.js';
export { DPOptimizer, type DPOptimizerOptions } from './optimizer.js';
export { DPDataLoader, poissonIndices, type DPDataLoaderOptions } from './data_loader.js';
export {
  PrivacyEngine,
  type MakePrivateOptions,
  type MakePrivateWithEpsilonOptions,
  type PrivateTraining,
} from './engine.js';
export * as federated from './federated.js';
export { tanhCnn } from './models.js';

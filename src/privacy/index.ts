// nb.privacy: differential privacy for training (issue 21): the RDP accountant and per-sample gradients.
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
export { GradSampleModule, supportedLayers } from './grad_sample.js';

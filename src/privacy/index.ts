// nb.privacy: differential privacy for training (issue 21). The RDP accountant comes first; DP-SGD builds on it.
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

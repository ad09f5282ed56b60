// nb.explain: attributions (saliency, SmoothGrad, Integrated Gradients, Grad-CAM, occlusion), attention
// rollout and attention maps (captureAttentions for MultiheadAttention-based models), and their pictures
// (heatmap overlays and attention heatmaps as PNG, token attributions as HTML). Captum's semantics.
//   const cam = nb.explain.gradCam(model, x, model.layer4, { target: 281, upsample: true });
export {
  saliency,
  smoothGrad,
  integratedGradients,
  convergenceDelta,
  stepRule,
  gradCam,
  occlusion,
  type Forward,
  type Target,
  type StepMethod,
  type SmoothGradOptions,
  type IntegratedGradientsOptions,
  type GradCamOptions,
  type OcclusionOptions,
} from './attribution.js';
export { attentionRollout, overlayHeatmap, normalizeMap, tokenAttributionsHtml } from './visualize.js';
export {
  captureAttentions,
  attentionMap,
  attentionHeatmap,
  type AttentionMapOptions,
} from './attention.js';

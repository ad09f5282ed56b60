// Attention rollout, heatmap overlays on images, and an HTML view of token attributions.
// Glossary: L layers, B batch, NH heads, T tokens (queries = keys in self-attention).
import { noGrad } from '../autograd/grad_mode.js';
import { interpolate } from '../ops/conv.js';
import { type ColormapName, colormapTable } from '../plot/colormap.js';
import { eye } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Image } from '../vision/image.js';

/**
 * Attention rollout (Abnar & Zuidema 2020): per layer, fuse the heads, add the residual (0.5 A + 0.5 I),
 * renormalise the rows, and multiply the layers from the first up. attentions: L tensors (B, NH, T, T)
 * in Hugging Face's outputAttentions format -> (B, T, T): how much each output token draws on each input token.
 */
export function attentionRollout(
  attentions: readonly Tensor[],
  opts: { headFusion?: 'mean' | 'max' | 'min'; discardRatio?: number } = {},
): Tensor {
  if (attentions.length === 0) throw new Error('explain.attentionRollout: no attention maps given');
  const [B, , T] = attentions[0].shape;
  attentions.forEach((a, l) => {
    if (a.ndim !== 4 || a.shape[0] !== B || a.shape[2] !== T || a.shape[3] !== T) {
      throw new Error(
        `explain.attentionRollout: layer ${l} attention has shape [${a.shape}]; expected (B, heads, T, T) = ` +
          `(${B}, *, ${T}, ${T}) like layer 0`,
      );
    }
  });
  const discard = opts.discardRatio ?? 0;
  if (!(discard >= 0 && discard < 1))
    throw new Error(`explain.attentionRollout: discardRatio must be in [0, 1), got ${discard}`);
  return noGrad(() => {
    const I = eye(T, T, { dtype: attentions[0].dtype });
    let roll = I.unsqueeze(0).expand(B, T, T);
    for (const a of attentions) {
      const f = opts.headFusion ?? 'mean';
      let m = f === 'mean' ? a.mean(1) : f === 'max' ? a.amax(1) : a.amin(1); // (B, T, T)
      if (discard > 0) {
        // NOTE: drop the weakest links per row (jacobgil's vit-explain), keeping the diagonal for the residual
        const k = Math.floor(T * discard);
        if (k > 0) {
          const thr = m.sort(-1).values.narrow(-1, k - 1, 1); // (B, T, 1)
          m = m.where(m.gt(thr).logicalOr(I.bool()), 0);
        }
      }
      m = m.mul(0.5).add(I.mul(0.5));
      m = m.div(m.sum(-1, true));
      roll = m.matmul(roll);
    }
    return roll;
  });
}

/** Min-max scales a map to [0, 1] (a constant map becomes zeros). */
export function normalizeMap(m: Tensor): Tensor {
  const lo = m.min().item() as number,
    hi = m.max().item() as number;
  return hi > lo ? m.sub(lo).div(hi - lo) : m.mul(0);
}

/**
 * A heatmap (h, w) coloured by a colormap and alpha-blended over an image (resized bilinearly to the
 * image's size and min-max normalised). Returns an RGB nb.vision.Image; encodePng writes it.
 */
export function overlayHeatmap(image: Image, heat: Tensor, opts: { cmap?: ColormapName; alpha?: number } = {}): Image {
  const hm = heat.ndim === 3 && heat.shape[0] === 1 ? heat.squeeze(0) : heat;
  if (hm.ndim !== 2) throw new Error(`explain.overlayHeatmap: expected an (h, w) map, got [${heat.shape}]`);
  const alpha = opts.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`explain.overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  const { width: W, height: H } = image;
  const up = noGrad(() =>
    interpolate(hm.float().unsqueeze(0).unsqueeze(0), { size: [H, W], mode: 'bilinear', alignCorners: false }),
  );
  const v = normalizeMap(up).toTypedArray();
  const tab = colormapTable(opts.cmap ?? 'jet');
  const rgb = image.convert('RGB').data;
  const out = new Uint8Array(H * W * 3);
  for (let i = 0; i < H * W; i++) {
    const t = Math.round(255 * Math.min(1, Math.max(0, v[i] || 0)));
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((1 - alpha) * rgb[i * 3 + c] + alpha * tab[t * 3 + c]);
  }
  return new Image(W, H, 'RGB', out);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A self-contained HTML page of tokens shaded by attribution, as Captum's visualize_text: green for
 * positive, red for negative, intensity |a| / max|a|; each token's score is in its tooltip.
 */
export function tokenAttributionsHtml(
  tokens: readonly string[],
  attributions: ArrayLike<number>,
  opts: { title?: string } = {},
): string {
  if (tokens.length !== attributions.length) {
    throw new Error(
      `explain.tokenAttributionsHtml: ${tokens.length} tokens but ${attributions.length} attribution values`,
    );
  }
  let mx = 0;
  for (let i = 0; i < attributions.length; i++)
    if (Number.isFinite(attributions[i])) mx = Math.max(mx, Math.abs(attributions[i]));
  const spans = tokens.map((t, i) => {
    const a = attributions[i];
    const s = Number.isFinite(a) && mx > 0 ? a / mx : 0;
    const bg = s >= 0 ? `rgba(44,160,44,${s.toFixed(3)})` : `rgba(214,39,40,${(-s).toFixed(3)})`;
    return `<span class="tok" style="background:${bg}" title="${escapeHtml(String(a))}">${escapeHtml(t)}</span>`;
  });
  const title = escapeHtml(opts.title ?? 'Token attributions');
  return (
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title><style>` +
    'body{font-family:sans-serif;margin:2em}.tok{padding:2px 1px;margin:0 1px;border-radius:3px;white-space:pre}' +
    `</style></head><body><h3>${title}</h3><p>${spans.join('')}</p>` +
    '<p><small>green: towards the target, red: against it; hover a token for its value</small></p></body></html>\n'
  );
}

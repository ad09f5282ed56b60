// Attention maps: collecting the per-head attention probabilities of nn.MultiheadAttention-based models
// (whose layers call it with needWeights false, as PyTorch's do) in Hugging Face's outputAttentions
// format, picking one map (a layer and a head, their mean, or the rollout) and drawing it over the tokens.
// GPT-2 and Llama give theirs directly: model.forward(ids, { outputAttentions: true }).attentions.
// Glossary: L layers, B batch, NH heads, T query tokens, S key tokens.
import { noGrad } from '../autograd/grad_mode.js';
import { MultiheadAttention } from '../nn/attention.js';
import type { Module } from '../nn/module.js';
import type { Canvas } from '../plot/canvas.js';
import { heatmap } from '../plot/charts.js';
import type { ColormapName } from '../plot/colormap.js';
import type { Tensor } from '../tensor/tensor.js';
import { attentionRollout } from './visualize.js';

/**
 * Runs fn (a forward of model) and returns its result with the attention probabilities of every
 * nn.MultiheadAttention inside model, in call order, each (N, NH, L, S) per head (unbatched calls get N = 1):
 * PyTorch's need_weights=True, average_attn_weights=False, asked for on layers (nn.TransformerEncoderLayer,
 * nn.TransformerDecoderLayer...) that call attention with needWeights false. The outputs are unchanged; while
 * fn runs, those attention calls take the explicit path instead of the fused kernel.
 * @example const { attentions } = nb.explain.captureAttentions(encoder, () => encoder.call(src));
 */
export function captureAttentions<R>(model: Module, fn: () => R): { output: R; attentions: Tensor[] } {
  const mhas = [...model.modules()].filter((m) => m instanceof MultiheadAttention);
  if (mhas.length === 0) {
    throw new Error(
      `explain.captureAttentions: ${model.constructor.name} has no nn.MultiheadAttention; GPT-2 and Llama ` +
        'return theirs from forward(ids, { outputAttentions: true })',
    );
  }
  const attentions: Tensor[] = [];
  const asked: { needWeights?: boolean; averageAttnWeights?: boolean }[] = [];
  const handles = mhas.flatMap((m) => [
    m.registerForwardPreHook((_m, inputs) => {
      const o = (inputs[3] ?? {}) as { needWeights?: boolean; averageAttnWeights?: boolean };
      asked.push(o);
      return [inputs[0], inputs[1], inputs[2], { ...o, needWeights: true, averageAttnWeights: false }];
    }),
    m.registerForwardHook((_m, _inputs, out) => {
      const [y, w] = out as [Tensor, Tensor];
      const o = asked.pop()!;
      attentions.push(w.ndim === 3 ? w.unsqueeze(0) : w);
      // what the caller asked for: no weights, or weights averaged over the heads (dim 1, or 0 unbatched)
      if (!(o.needWeights ?? true)) return [y, null];
      return [y, (o.averageAttnWeights ?? true) ? w.mean(w.ndim - 3) : w];
    }),
  ]);
  try {
    return { output: fn(), attentions };
  } finally {
    for (const h of handles) h.remove();
  }
}

export interface AttentionMapOptions {
  /** A layer index (negative counts from the end; default -1, the last) or 'rollout' (attentionRollout). */
  layer?: number | 'rollout';
  /** A head index, or 'mean' over the heads (default). Ignored for the rollout. */
  head?: number | 'mean';
  /** Which row of the batch (default 0). */
  batch?: number;
}

/** One (T, S) map from per-layer attentions (B, NH, T, S): a layer's head or head mean, or the rollout. */
export function attentionMap(attentions: readonly Tensor[], opts: AttentionMapOptions = {}): Tensor {
  const L = attentions.length;
  if (L === 0) throw new Error('explain.attentionMap: no attention maps given');
  const a0 = attentions[0];
  if (a0.ndim !== 4)
    throw new Error(`explain.attentionMap: expected attentions (B, heads, T, S), got [${a0.shape}] for layer 0`);
  const b = opts.batch ?? 0;
  if (!(Number.isInteger(b) && b >= 0 && b < a0.shape[0]))
    throw new Error(`explain.attentionMap: batch ${b} is not in [0, ${a0.shape[0]})`);
  return noGrad(() => {
    if (opts.layer === 'rollout') return attentionRollout(attentions).select(0, b);
    const l = opts.layer ?? -1;
    if (!(Number.isInteger(l) && l >= -L && l < L))
      throw new Error(`explain.attentionMap: layer ${l} is not in [-${L}, ${L}) for ${L} layers`);
    const a = attentions[l < 0 ? l + L : l].select(0, b); // (NH, T, S)
    const head = opts.head ?? 'mean';
    if (head === 'mean') return a.mean(0);
    if (!(Number.isInteger(head) && head >= 0 && head < a.shape[0]))
      throw new Error(`explain.attentionMap: head ${head} is not in [0, ${a.shape[0]})`);
    return a.select(0, head);
  });
}

/**
 * The attention map chosen by opts drawn as a heatmap, queries down the side and keys along the top,
 * labelled with the tokens (one per position; keys = queries unless keyTokens is given). Canvas.toPng() or
 * .savePng(path) writes it.
 * @example nb.explain.attentionHeatmap(out.attentions, ['Once', ' upon', ' a', ' time']).save('attn.png');
 */
export function attentionHeatmap(
  attentions: readonly Tensor[],
  tokens: readonly string[],
  opts: AttentionMapOptions & { keyTokens?: readonly string[]; title?: string; cmap?: ColormapName } = {},
): Canvas {
  const m = attentionMap(attentions, opts);
  const [T, S] = m.shape;
  const keys = opts.keyTokens ?? tokens;
  if (tokens.length !== T || keys.length !== S) {
    throw new Error(
      `explain.attentionHeatmap: the map is ${T} queries x ${S} keys but got ${tokens.length} tokens` +
        (opts.keyTokens ? ` and ${keys.length} key tokens` : ''),
    );
  }
  const v = m.toTypedArray();
  const rows = Array.from({ length: T }, (_, i) => Array.from({ length: S }, (_, j) => Number(v[i * S + j])));
  const l = opts.layer ?? -1;
  const heads = opts.head === undefined || opts.head === 'mean' ? 'mean of heads' : `head ${opts.head}`;
  const which = l === 'rollout' ? 'rollout' : `layer ${l < 0 ? l + attentions.length : l}, ${heads}`;
  const show = (t: string) => JSON.stringify(t).slice(1, -1);
  return heatmap(rows, {
    xLabels: keys.map(show),
    yLabels: tokens.map(show),
    vmin: 0,
    vmax: opts.layer === 'rollout' ? undefined : 1,
    cmap: opts.cmap ?? 'viridis',
    title: opts.title ?? `attention (${which})`,
    xTitle: 'key',
    yTitle: 'query',
  });
}

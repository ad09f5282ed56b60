// Ops on the backend's fused kernels (linear, layer norm, batch norm, attention, conv with an epilogue):
// one kernel call forward and one backward instead of a dozen primitives, on every backend (the JS
// backend has a reference for each; an accelerated one runs its own or falls back to it per call).
// Each op returns null for the cases the kernels do not cover (not float32, other shapes, or, for
// the inference-only ones, a gradient would be needed), and the caller composes primitives instead,
// so float64 (gradient checks) always takes the composite path. When the backward itself is being
// recorded (createGraph), the gradients come from the composite formulas below, written with
// differentiable ops, so double backward still works.
// Glossary: R rows, C features; B batch, H heads, T tokens, D head size.

import { isGradEnabled } from '../autograd/grad_mode.js';
import type { Conv2dParams } from '../backend/backend.js';
import type { UnaryOp } from '../backend/op_codes.js';
import { convOutSize } from '../util/window.js';
import { getBackend } from '../backend/registry.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { be, record, wrap, dataOf } from './util.js';
import { causalMask } from './nn_ops.js';
import { onDevice } from './device.js';
import { thresholdBackward } from './binary.js';

/** Layer norm over the last dim of float32 x (*, C) on the fused kernel, or null for other dtypes. */
export function layerNormFused(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor | null {
  const f = getBackend();
  if (onDevice(x, weight, bias)) return null;
  if (
    x.dtype !== 'float32' ||
    x.ndim === 0 ||
    (weight && weight.dtype !== 'float32') ||
    (bias && bias.dtype !== 'float32')
  )
    return null;
  const C = x.shape[x.ndim - 1];
  // a weight or bias of another size goes to the composite path, which reports it
  if ((weight && weight.numel() !== C) || (bias && bias.numel() !== C)) return null;
  const w = weight ? contiguousValues(weight) : null,
    b = bias ? contiguousValues(bias) : null;
  const r = f.layerNorm(dataOf(x, 'layerNorm'), x.layout, w, b, eps);
  const y = wrap(r.y, x.shape, 'float32');
  return record(
    y,
    'NativeLayerNormBackward',
    [x, weight, bias],
    (g) => {
      if (!isGradEnabled() && g.dtype === 'float32') {
        const bw = f.layerNormBackward(
          dataOf(g, 'layerNorm backward'),
          g.layout,
          dataOf(x, 'layerNorm backward'),
          x.layout,
          r.mean,
          r.rstd,
          w,
          !!weight?.requiresGrad,
          !!bias?.requiresGrad,
        );
        return [
          wrap(bw.dx, x.shape, 'float32'),
          bw.dw && wrap(bw.dw, [C], 'float32'),
          bw.db && wrap(bw.db, [C], 'float32'),
        ];
      }
      return layerNormGrads(g, x, weight, bias, eps);
    },
    weight ? [x, weight] : [x],
  );
}

/** d(layerNorm)/d(x, w, b) over the last dim, as differentiable ops. g, x (*, C). */
export function layerNormGrads(
  g: Tensor,
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): (Tensor | null)[] {
  const xc = x.sub(x.mean(-1, true));
  const rstd = xc.mul(xc).mean(-1, true).add(eps).rsqrt();
  const xhat = xc.mul(rstd);
  const gx = weight ? g.mul(weight) : g;
  // dx = rstd * (gx - mean(gx) - xhat * mean(gx * xhat))
  const dx = rstd.mul(gx.sub(gx.mean(-1, true)).sub(xhat.mul(gx.mul(xhat).mean(-1, true))));
  const lead = [...Array(x.ndim - 1).keys()];
  const sumLead = (t: Tensor) => (lead.length ? t.sum(lead) : t);
  return [dx, weight ? sumLead(g.mul(xhat)) : null, bias ? sumLead(g) : null];
}

/**
 * softmax(q k^T scale [+ causal]) v for float32 q, k, v of one shape (B, H, T, D), or null for other cases.
 * On a device its flash kernel runs the forward (null where it declines: the caller composes), and the
 * backward recomputes the scores with primitives there (attentionGrads).
 */
export function attentionFused(q: Tensor, k: Tensor, v: Tensor, scale: number, causal: boolean): Tensor | null {
  const dev = onDevice(q, k, v);
  const f = dev ? be(q, k, v) : getBackend();
  if (q.ndim !== 4 || q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return null;
  if (q.shape.join() !== k.shape.join() || q.shape.join() !== v.shape.join()) return null;
  const r = f.attention(
    dataOf(q, 'attention'),
    q.layout,
    dataOf(k, 'attention'),
    k.layout,
    dataOf(v, 'attention'),
    v.layout,
    scale,
    causal,
  );
  if (!r) return null;
  const out = wrap(r.out, q.shape, 'float32');
  return record(
    out,
    'NativeAttentionBackward',
    [q, k, v],
    (g) => {
      if (!dev && !isGradEnabled() && g.dtype === 'float32') {
        const bw = f.attentionBackward(
          dataOf(g, 'attention backward'),
          g.layout,
          dataOf(q, 'attention backward'),
          q.layout,
          dataOf(k, 'attention backward'),
          k.layout,
          dataOf(v, 'attention backward'),
          v.layout,
          r.out,
          r.lse,
          scale,
          causal,
        );
        return [wrap(bw.dq, q.shape, 'float32'), wrap(bw.dk, k.shape, 'float32'), wrap(bw.dv, v.shape, 'float32')];
      }
      return attentionGrads(g, q, k, v, scale, causal);
    },
    [q, k, v],
  );
}

/** d(attention)/d(q, k, v) as differentiable ops; g, q, k, v (*, T, D). */
export function attentionGrads(g: Tensor, q: Tensor, k: Tensor, v: Tensor, scale: number, causal: boolean): Tensor[] {
  let s = q.matmul(k.mT).mul(scale);
  // the mask is made on the host: it joins the scores on their device
  if (causal)
    s = s.maskedFill(
      causalMask(q.shape[q.ndim - 2], k.shape[k.ndim - 2])
        .to(s.device)
        .logicalNot(),
      -Infinity,
    );
  const p = s.softmax(-1);
  const dp = g.matmul(v.mT);
  const ds = p.mul(dp.sub(dp.mul(p).sum(-1, true))); // softmax backward
  return [ds.matmul(k).mul(scale), ds.mT.matmul(q).mul(scale), p.mT.matmul(g)];
}

/**
 * act(conv2d(x, w) * scale[oc] + shift[oc] + residual) in one pass on the backend's fused kernel, for
 * inference. Null when a tensor is not float32 or a gradient would be needed; callers then compose
 * conv2d, mul, add and relu.
 * x (N, C, H, W), w (OC, C/G, KH, KW), scale and shift (OC) or null, residual (N, OC, OH, OW) or null.
 */
export function conv2dFused(
  x: Tensor,
  w: Tensor,
  p: Conv2dParams,
  scale: Float32Array | null,
  shift: Float32Array | null,
  residual: Tensor | null,
  relu: boolean,
  reuseWeights = false,
): Tensor | null {
  const f = getBackend();
  if (onDevice(x, w, residual)) return null;
  if (x.ndim !== 4 || w.ndim !== 4) return null;
  const ts = residual ? [x, w, residual] : [x, w];
  if (ts.some((t) => t.dtype !== 'float32') || (isGradEnabled() && ts.some((t) => t.requiresGrad))) return null;
  const OC = w.shape[0];
  if ((scale && scale.length !== OC) || (shift && shift.length !== OC)) return null;
  const OH = convOutSize(x.shape[2], w.shape[2], p.strideH, p.padH, p.dilationH);
  const OW = convOutSize(x.shape[3], w.shape[3], p.strideW, p.padW, p.dilationW);
  // shapes conv2d would reject go to the composite path, which reports them
  if (x.shape[1] !== w.shape[1] * p.groups || OC % p.groups !== 0 || OH < 1 || OW < 1) return null;
  if (residual && residual.shape.join() !== [x.shape[0], OC, OH, OW].join()) return null;
  const r = f.conv2dFused(
    dataOf(x, 'conv2d'),
    x.layout,
    dataOf(w, 'conv2d'),
    w.layout,
    p,
    scale,
    shift,
    residual ? { data: dataOf(residual, 'conv2d'), layout: residual.layout } : null,
    relu,
    reuseWeights,
    reuseWeights && f.nextStamp ? w.storage.stamp(() => f.nextStamp!()) : 0,
  );
  return wrap(r, [x.shape[0], OC, OH, OW], 'float32');
}

/**
 * Batch norm with batch statistics (training) on the fused kernel: x (N, C, *) float32 -> y, and the
 * batch mean and biased var (C) for the running statistics; null for other dtypes or shapes.
 */
export function batchNormFused(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
  residual: Tensor | null = null,
  relu = false,
): { y: Tensor; mean: Float32Array; var: Float32Array } | null {
  // y = act(bn(x) + residual): x, residual (N, C, *); weight, bias (C)
  const f = getBackend();
  if (onDevice(x, weight, bias, residual)) return null;
  if (
    x.dtype !== 'float32' ||
    x.ndim < 2 ||
    (weight && weight.dtype !== 'float32') ||
    (bias && bias.dtype !== 'float32')
  )
    return null;
  if (residual && (residual.dtype !== 'float32' || residual.shape.join() !== x.shape.join())) return null;
  const C = x.shape[1];
  if ((weight && weight.numel() !== C) || (bias && bias.numel() !== C)) return null;
  const w = weight ? contiguousValues(weight) : null,
    b = bias ? contiguousValues(bias) : null;
  const r = f.batchNorm(
    dataOf(x, 'batchNorm'),
    x.layout,
    w,
    b,
    eps,
    residual ? { data: dataOf(residual, 'batchNorm'), layout: residual.layout } : null,
    relu,
  );
  const y = wrap(r.y, x.shape, 'float32');
  record(
    y,
    relu ? 'NativeBatchNormReluBackward' : 'NativeBatchNormBackward',
    [x, weight, bias, residual],
    (g) => {
      if (!isGradEnabled() && g.dtype === 'float32') {
        const bw = f.batchNormBackward(
          dataOf(g, 'batchNorm backward'),
          g.layout,
          dataOf(x, 'batchNorm backward'),
          x.layout,
          r.mean,
          r.var,
          w,
          eps,
          !!weight?.requiresGrad,
          !!bias?.requiresGrad,
          relu ? r.y : null,
          !!residual?.requiresGrad,
        );
        return [
          wrap(bw.dx, x.shape, 'float32'),
          bw.dw && wrap(bw.dw, [C], 'float32'),
          bw.db && wrap(bw.db, [C], 'float32'),
          bw.dr && wrap(bw.dr, x.shape, 'float32'),
        ];
      }
      // composed (and differentiable, for double backward): through the relu, then the batch norm
      const gy = relu ? thresholdBackward(g, y) : g;
      return [...batchNormGrads(gy, x, weight, bias, eps), residual ? gy : null];
    },
    relu ? (weight ? [x, weight, y] : [x, y]) : weight ? [x, weight] : [x],
  );
  return { y, mean: r.mean, var: r.var };
}

/** d(batchNorm with batch statistics)/d(x, w, b), as differentiable ops. g, x (N, C, *). */
export function batchNormGrads(
  g: Tensor,
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): (Tensor | null)[] {
  const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  const bshape = [1, x.shape[1], ...Array(x.ndim - 2).fill(1)];
  const xc = x.sub(x.mean(axes, true));
  const rstd = xc.mul(xc).mean(axes, true).add(eps).rsqrt();
  const xhat = xc.mul(rstd);
  const gx = weight ? g.mul(weight.reshape(bshape)) : g;
  // dx = rstd * (gx - mean(gx) - xhat * mean(gx * xhat)), means over N and the spatial dims
  const dx = rstd.mul(gx.sub(gx.mean(axes, true)).sub(xhat.mul(gx.mul(xhat).mean(axes, true))));
  return [dx, weight ? g.mul(xhat).sum(axes) : null, bias ? g.sum(axes) : null];
}

/**
 * act(x @ w + bias) in one kernel for inference: x (M, K), w (K, N) float32 (w may be a transposed
 * view), bias (N) or null, act a UnaryOp (relu, gelu, gelu_tanh, silu, tanh, sigmoid) or null.
 * Null when a tensor is not float32 or a gradient would be needed.
 */
export function linearFused(x: Tensor, w: Tensor, bias: Tensor | null, act: UnaryOp | null): Tensor | null {
  const f = getBackend();
  if (onDevice(x, w, bias)) return null;
  if (
    x.ndim !== 2 ||
    w.ndim !== 2 ||
    x.shape[1] !== w.shape[0] ||
    (bias && (bias.ndim !== 1 || bias.shape[0] !== w.shape[1]))
  )
    return null;
  const ts = bias ? [x, w, bias] : [x, w];
  if (ts.some((t) => t.dtype !== 'float32') || (isGradEnabled() && ts.some((t) => t.requiresGrad))) return null;
  const y = f.linear(
    dataOf(x, 'linear'),
    x.layout,
    dataOf(w, 'linear'),
    w.layout,
    bias ? contiguousValues(bias) : null,
    act,
  );
  return wrap(y, [x.shape[0], w.shape[1]], 'float32');
}

/**
 * softmax(q k^T scale [+ causal at offset S - T]) v for a decoder step: q (B, H, T, D) over a KV cache's
 * k, v (B, KVH, S, D) read in place, float32, forward only (null when a gradient would be needed or
 * a tensor is not float32).
 */
export function attentionKvFused(q: Tensor, k: Tensor, v: Tensor, scale: number, causal: boolean): Tensor | null {
  // on a device, its flash kernel (null where it declines: the caller composes)
  const f = onDevice(q, k, v) ? be(q, k, v) : getBackend();
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) return null;
  const ts = [q, k, v];
  if (ts.some((t) => t.dtype !== 'float32') || (isGradEnabled() && ts.some((t) => t.requiresGrad))) return null;
  // q (B, H, T, D) over k, v (B, KVH, S, D): other shapes go to the composite path, which reports them
  const [B, H, T, D] = q.shape,
    [, KVH, S] = k.shape;
  if (
    k.shape.join() !== v.shape.join() ||
    k.shape[0] !== B ||
    k.shape[3] !== D ||
    H % KVH !== 0 ||
    S < 1 ||
    (causal && S < T)
  ) {
    return null;
  }
  const out = f.attentionKv(
    dataOf(q, 'attention'),
    q.layout,
    dataOf(k, 'attention'),
    k.layout,
    dataOf(v, 'attention'),
    v.layout,
    scale,
    causal,
  );
  return out ? wrap(out, q.shape, 'float32') : null;
}

// Convolutions, pooling and resampling, differentiable (torch.nn.functional names and argument order).
// Glossary: N batch, C input channels, H,W input size, OC output channels, KH,KW kernel size,
// OH,OW output size, G groups, L length (1-D).
//
// The three conv kernels form a closed family under differentiation: conv(x, w), its input adjoint
// convInput(dy, w) and its weight adjoint convWeight(dy, x) are bilinear, and the derivative of each
// is one of the other two. So every order of gradient runs on the backend kernels.
// Pools run on their kernels too; adaptive pooling and (bi)linear resampling are separable linear
// maps, applied as small (O, I) matrices with matmul.

import type { Conv2dParams, Pool2dParams } from '../backend/backend.js';
// NOTE layers above ops (nn/fusion) name conv parameters through ops, never the backend seam
export type { Conv2dParams, Pool2dParams };
import { convOutSize, poolOutSize } from '../util/window.js';
import { allocate, isKernelDtype } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from '../autograd/grad_mode.js';
import { be, checkFloat, record, wrap, dataOf, zerosOn } from './util.js';
import { pad, scatterAdd, indexSelect } from './indexing.js';
import { cast, viaFloat32 } from './unary.js';

export type Pair = number | readonly [number, number];
export type ConvPadding = Pair | 'same' | 'valid';

/** n or [a, b] -> [a, b]; checks non-negative integers (positive when `positive`). */
export function pair(v: Pair, what: string, op: string, positive = false): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < 0 || (positive && x === 0))) {
    throw new Error(
      `${op}: ${what} must be ${positive ? 'a positive' : 'a non-negative'} integer or a pair of them, got ` +
        `${JSON.stringify(v)}`,
    );
  }
  return p;
}

function check4d(x: Tensor, op: string, what = '(N, C, H, W)'): void {
  if (x.ndim !== 4) throw new Error(`${op}: expected a 4-D input ${what}, got ${fmtShape(x.shape)}`);
  checkFloat(x, op);
}

/** Runs fn on a batched view of an unbatched (C, *) input and drops the batch dim again. */
function batched(x: Tensor, ndim: number, fn: (xb: Tensor) => Tensor): Tensor {
  return x.ndim === ndim - 1 ? fn(x.unsqueeze(0)).squeeze(0) : fn(x);
}

// ---- the conv kernel family ----

// x (N, C, H, W), w (OC, C/G, KH, KW) -> (N, OC, OH, OW)
function conv(x: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  // NOTE: float16/bfloat16 convolve in float32 and round once (differentiably: gradients come back in their dtype)
  if (!isKernelDtype(x.dtype)) return viaFloat32(x, (x32) => conv(x32, cast(w, 'float32'), p));
  const [N, , H, W] = x.shape,
    [OC, , KH, KW] = w.shape;
  const OH = convOutSize(H, KH, p.strideH, p.padH, p.dilationH),
    OW = convOutSize(W, KW, p.strideW, p.padW, p.dilationW);
  const out = wrap(
    be(x, w).conv2d(dataOf(x, 'conv2d'), x.layout, dataOf(w, 'conv2d'), w.layout, p),
    [N, OC, OH, OW],
    x.dtype,
  );
  return record(
    out,
    'ConvolutionBackward',
    [x, w],
    (g) => [x.requiresGrad ? convInput(g, w, x.shape, p) : null, w.requiresGrad ? convWeight(g, x, w.shape, p) : null],
    [x, w],
  );
}

// dy (N, OC, OH, OW), w (OC, C/G, KH, KW) -> dx (N, C, H, W)
function convInput(dy: Tensor, w: Tensor, xShape: readonly number[], p: Conv2dParams): Tensor {
  const out = wrap(
    be(dy, w).conv2dBackwardInput(
      dataOf(dy, 'conv2d backward'),
      dy.layout,
      dataOf(w, 'conv2d backward'),
      w.layout,
      xShape,
      p,
    ),
    xShape,
    dy.dtype,
  );
  // <gg, A_w^T dy> = <conv(gg, w), dy>
  return record(
    out,
    'ConvolutionBackwardInput',
    [dy, w],
    (gg) => [dy.requiresGrad ? conv(gg, w, p) : null, w.requiresGrad ? convWeight(dy, gg, w.shape, p) : null],
    [dy, w],
  );
}

// dy (N, OC, OH, OW), x (N, C, H, W) -> dw (OC, C/G, KH, KW)
function convWeight(dy: Tensor, x: Tensor, wShape: readonly number[], p: Conv2dParams): Tensor {
  const out = wrap(
    be(dy, x).conv2dBackwardWeight(
      dataOf(dy, 'conv2d backward'),
      dy.layout,
      dataOf(x, 'conv2d backward'),
      x.layout,
      wShape,
      p,
    ),
    wShape,
    dy.dtype,
  );
  // <gg, B_x^T dy> = <conv(x, gg), dy>
  return record(
    out,
    'ConvolutionBackwardWeight',
    [dy, x],
    (gg) => [dy.requiresGrad ? conv(x, gg, p) : null, x.requiresGrad ? convInput(dy, gg, x.shape, p) : null],
    [dy, x],
  );
}

function addBias(y: Tensor, bias: Tensor | null | undefined, op: string): Tensor {
  if (!bias) return y;
  if (bias.ndim !== 1 || bias.shape[0] !== y.shape[1]) {
    throw new Error(`${op}: expected bias of shape [${y.shape[1]}], got ${fmtShape(bias.shape)}`);
  }
  return y.add(bias.reshape([1, -1, ...Array(y.ndim - 2).fill(1)]));
}

function checkConvArgs(x: Tensor, w: Tensor, groups: number, op: string, transposed = false): void {
  if (x.dtype !== w.dtype)
    throw new Error(`${op}: input (${x.dtype}) and weight (${w.dtype}) must have the same dtype`);
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  const C = x.shape[1];
  const wantC = transposed ? w.shape[0] : w.shape[1] * groups;
  if (C !== wantC) {
    throw new Error(
      `${op}: input ${fmtShape(x.shape)} has ${C} channels, but weight ${fmtShape(w.shape)} with groups=${groups} ` +
        `expects ${wantC}`,
    );
  }
  // weight dim 0 is out_channels for a conv and in_channels for a transposed conv
  if (w.shape[0] % groups !== 0) {
    throw new Error(
      `${op}: ${transposed ? 'in' : 'out'}_channels (${w.shape[0]}) must be divisible by groups (${groups})`,
    );
  }
}

/**
 * 2-D convolution (F.conv2d). padding may be a number, a pair, 'valid' (0) or 'same' (stride 1;
 * an odd total padding puts the extra row/column at the bottom/right, as PyTorch does).
 * @example conv2d(nb.randn([1, 3, 8, 8]), nb.randn([16, 3, 3, 3]), null, 1, 1) // -> [1, 16, 8, 8]
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  stride: Pair = 1,
  padding: ConvPadding = 0,
  dilation: Pair = 1,
  groups = 1,
): Tensor {
  // x (N, C, H, W), weight (OC, C/G, KH, KW) -> (N, OC, OH, OW)
  return batched(x, 4, (xb) => {
    check4d(xb, 'conv2d');
    if (weight.ndim !== 4)
      throw new Error(`conv2d: expected a 4-D weight (OC, C/groups, KH, KW), got ${fmtShape(weight.shape)}`);
    checkConvArgs(xb, weight, groups, 'conv2d');
    const [xp, p] = convParams(xb, weight.shape, stride, padding, dilation, groups, 'conv2d');
    return addBias(conv(xp, weight, p), bias, 'conv2d');
  });
}

/**
 * Resolves a conv's stride, padding ('same' pads an odd total at the bottom/right first, as PyTorch)
 * and dilation for input x and a weight of shape wShape; checks the output is not empty.
 */
function convParams(
  x: Tensor,
  wShape: readonly number[],
  stride: Pair,
  padding: ConvPadding,
  dilation: Pair,
  groups: number,
  op: string,
): [Tensor, Conv2dParams] {
  const [sh, sw] = pair(stride, 'stride', op, true);
  const [dh, dw] = pair(dilation, 'dilation', op, true);
  let ph: number, pw: number;
  if (padding === 'valid') {
    ph = 0;
    pw = 0;
  } else if (padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new Error(`${op}: padding='same' is not supported for strided convolutions`);
    const th = dh * (wShape[2] - 1),
      tw = dw * (wShape[3] - 1);
    ph = th >> 1;
    pw = tw >> 1;
    if (th % 2 || tw % 2) x = pad(x, [0, tw % 2, 0, th % 2]);
  } else [ph, pw] = pair(padding, 'padding', op);
  const p: Conv2dParams = { strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw, groups };
  const OH = convOutSize(x.shape[2], wShape[2], sh, ph, dh),
    OW = convOutSize(x.shape[3], wShape[3], sw, pw, dw);
  if (OH < 1 || OW < 1) {
    throw new Error(
      `${op}: input ${fmtShape(x.shape)} (padded by ${ph}, ${pw}) is smaller than the dilated kernel ` +
        `${fmtShape(wShape)}`,
    );
  }
  return [x, p];
}

/**
 * The gradient of conv2d with respect to its weight (torch.nn.grad.conv2d_weight), differentiable:
 * one backend call, however many groups. Per-sample gradients use it with the batch folded into groups.
 * @example conv2dWeight(x, [16, 3, 3, 3], dy, 1, 1) // x (N, 3, H, W), dy (N, 16, H, W) -> (16, 3, 3, 3)
 */
export function conv2dWeight(
  input: Tensor,
  weightSize: readonly number[],
  gradOutput: Tensor,
  stride: Pair = 1,
  padding: ConvPadding = 0,
  dilation: Pair = 1,
  groups = 1,
): Tensor {
  // input (N, C, H, W), gradOutput (N, OC, OH, OW) -> (OC, C/G, KH, KW)
  const op = 'conv2dWeight';
  check4d(input, op);
  check4d(gradOutput, op, '(N, OC, OH, OW) gradOutput');
  if (input.dtype !== gradOutput.dtype)
    throw new Error(`${op}: input (${input.dtype}) and gradOutput (${gradOutput.dtype}) must have the same dtype`);
  const ws = [...weightSize];
  if (ws.length !== 4 || ws.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`${op}: weightSize must be 4 positive integers (OC, C/groups, KH, KW), got ${fmtShape(ws)}`);
  if (!Number.isInteger(groups) || groups < 1 || ws[0] % groups !== 0 || input.shape[1] !== ws[1] * groups) {
    throw new Error(
      `${op}: input ${fmtShape(input.shape)} and weightSize ${fmtShape(ws)} do not fit groups=${groups} ` +
        '(need C = weightSize[1] * groups and OC divisible by groups)',
    );
  }
  const [xp, p] = convParams(input, ws, stride, padding, dilation, groups, op);
  const want = [
    input.shape[0],
    ws[0],
    convOutSize(xp.shape[2], ws[2], p.strideH, p.padH, p.dilationH),
    convOutSize(xp.shape[3], ws[3], p.strideW, p.padW, p.dilationW),
  ];
  if (gradOutput.shape.some((d, i) => d !== want[i])) {
    throw new Error(
      `${op}: gradOutput ${fmtShape(gradOutput.shape)} does not match the conv output ${fmtShape(want)} of ` +
        `input ${fmtShape(input.shape)} and weightSize ${fmtShape(ws)}`,
    );
  }
  return convWeight(gradOutput, xp, ws, p);
}

/** 1-D convolution (F.conv1d), run as a conv2d over a height-1 image. */
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  stride = 1,
  padding: number | 'same' | 'valid' = 0,
  dilation = 1,
  groups = 1,
): Tensor {
  // x (N, C, L), weight (OC, C/G, K) -> (N, OC, OL)
  return batched(x, 3, (xb) => {
    if (xb.ndim !== 3)
      throw new Error(`conv1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got ${fmtShape(x.shape)}`);
    if (weight.ndim !== 3)
      throw new Error(`conv1d: expected a 3-D weight (OC, C/groups, K), got ${fmtShape(weight.shape)}`);
    const pd: ConvPadding = typeof padding === 'number' ? [0, padding] : padding;
    return conv2d(xb.unsqueeze(2), weight.unsqueeze(2), bias, [1, stride], pd, [1, dilation], groups).squeeze(2);
  });
}

/**
 * Transposed 2-D convolution (F.conv_transpose2d): the adjoint of conv2d in its input.
 * weight (C_in, C_out/G, KH, KW); OH = (H-1)*stride - 2*padding + dilation*(KH-1) + outputPadding + 1.
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  stride: Pair = 1,
  padding: Pair = 0,
  outputPadding: Pair = 0,
  groups = 1,
  dilation: Pair = 1,
): Tensor {
  // x (N, C_in, H, W), weight (C_in, C_out/G, KH, KW) -> (N, C_out, OH, OW)
  return batched(x, 4, (xb) => {
    const op = 'convTranspose2d';
    check4d(xb, op);
    if (weight.ndim !== 4)
      throw new Error(`${op}: expected a 4-D weight (C_in, C_out/groups, KH, KW), got ${fmtShape(weight.shape)}`);
    checkConvArgs(xb, weight, groups, op, true);
    const [sh, sw] = pair(stride, 'stride', op, true),
      [dh, dw] = pair(dilation, 'dilation', op, true);
    const [ph, pw] = pair(padding, 'padding', op),
      [oph, opw] = pair(outputPadding, 'outputPadding', op);
    if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw)) {
      throw new Error(
        `${op}: outputPadding (${oph}, ${opw}) must be smaller than either stride (${sh}, ${sw}) or dilation ` +
          `(${dh}, ${dw})`,
      );
    }
    const [N, , H, W] = xb.shape,
      [, OCg, KH, KW] = weight.shape;
    const OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1,
      OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1;
    if (OH < 1 || OW < 1)
      throw new Error(`${op}: output size (${OH}, ${OW}) is too small for input ${fmtShape(xb.shape)}`);
    const p: Conv2dParams = { strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw, groups };
    return addBias(convInput(xb, weight, [N, OCg * groups, OH, OW], p), bias, op);
  });
}

// ---- pooling ----

function poolParams(
  x: Tensor,
  kernelSize: Pair,
  stride: Pair | null | undefined,
  padding: Pair,
  dilation: Pair,
  ceilMode: boolean,
  op: string,
): Pool2dParams {
  const [kH, kW] = pair(kernelSize, 'kernelSize', op, true);
  const [strideH, strideW] =
    stride === null || stride === undefined || (Array.isArray(stride) && stride.length === 0)
      ? [kH, kW]
      : pair(stride, 'stride', op, true);
  const [padH, padW] = pair(padding, 'padding', op);
  const [dilationH, dilationW] = pair(dilation, 'dilation', op, true);
  if (padH > kH / 2 || padW > kW / 2) {
    throw new Error(
      `${op}: pad should be at most half of effective kernel size, but got pad=(${padH}, ${padW}) and ` +
        `kernel_size=(${kH}, ${kW})`,
    );
  }
  const p = { kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode };
  const OH = poolOutSize(x.shape[2], kH, strideH, padH, dilationH, ceilMode),
    OW = poolOutSize(x.shape[3], kW, strideW, padW, dilationW, ceilMode);
  if (OH < 1 || OW < 1)
    throw new Error(`${op}: output size is too small: input ${fmtShape(x.shape)} with kernel (${kH}, ${kW})`);
  return p;
}

// x (N, C, H, W) -> values (N, C, OH, OW), indices (N, C, OH, OW) flat into each H*W plane
function maxPoolRaw(x: Tensor, p: Pool2dParams, returnIndices: boolean): [Tensor, Tensor | null] {
  if (!isKernelDtype(x.dtype)) {
    // a window's max is one of its elements: float32 values round back exactly
    let idx: Tensor | null = null;
    const v = viaFloat32(x, (x32) => {
      const r = maxPoolRaw(x32, p, returnIndices);
      idx = r[1];
      return r[0];
    });
    return [v, idx];
  }
  const [N, C, H, W] = x.shape;
  // indices only when asked for or for a backward to record: values alone take a faster pass
  const needIdx = returnIndices || (isGradEnabled() && x.requiresGrad);
  const r = be(x).maxPool2d(dataOf(x, 'maxPool2d'), x.layout, p, needIdx);
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, p.dilationH, p.ceilMode),
    OW = poolOutSize(W, p.kW, p.strideW, p.padW, p.dilationW, p.ceilMode);
  const out = wrap(r.values, [N, C, OH, OW], x.dtype);
  if (!r.indices) return [out, null];
  const idx = r.indices,
    indices = wrap(idx, [N, C, OH, OW], 'int32');
  // dx = zeros with dy added at the argmax of each window: one kernel, or (when the backward is itself
  // recorded, for double backward) a scatterAdd, which is differentiable in dy
  record(out, 'MaxPool2DWithIndicesBackward', [x], (g) => {
    if (!isGradEnabled())
      return [
        wrap(be(g).maxPool2dBackward(dataOf(g, 'maxPool2d backward'), g.layout, idx, x.shape), [N, C, H, W], g.dtype),
      ];
    const base = wrap(zerosOn(g, g.dtype, N * C * H * W), [N, C, H * W], g.dtype);
    return [scatterAdd(base, 2, indices.reshape([N, C, OH * OW]), g.reshape([N, C, OH * OW])).reshape([N, C, H, W])];
  });
  return [out, indices];
}

/**
 * 2-D max pooling (F.max_pool2d). stride defaults to kernelSize. With returnIndices, returns
 * [values, indices] where indices are flat positions in each input H*W plane (int32).
 */
export function maxPool2d(
  x: Tensor,
  kernelSize: Pair,
  stride?: Pair | null,
  padding?: Pair,
  dilation?: Pair,
  ceilMode?: boolean,
  returnIndices?: false,
): Tensor;
export function maxPool2d(
  x: Tensor,
  kernelSize: Pair,
  stride: Pair | null | undefined,
  padding: Pair,
  dilation: Pair,
  ceilMode: boolean,
  returnIndices: true,
): [Tensor, Tensor];
export function maxPool2d(
  x: Tensor,
  kernelSize: Pair,
  stride: Pair | null = null,
  padding: Pair = 0,
  dilation: Pair = 1,
  ceilMode = false,
  returnIndices = false,
): Tensor | [Tensor, Tensor] {
  // x (N, C, H, W) -> (N, C, OH, OW)
  const unbatched = x.ndim === 3;
  const xb = unbatched ? x.unsqueeze(0) : x;
  check4d(xb, 'maxPool2d');
  const [out, idx] = maxPoolRaw(
    xb,
    poolParams(xb, kernelSize, stride, padding, dilation, ceilMode, 'maxPool2d'),
    returnIndices,
  );
  const o = unbatched ? out.squeeze(0) : out;
  if (!returnIndices) return o;
  return [o, unbatched ? idx!.squeeze(0) : idx!];
}

/** 1-D max pooling (F.max_pool1d); indices index the input length L. */
export function maxPool1d(
  x: Tensor,
  kernelSize: number,
  stride?: number | null,
  padding?: number,
  dilation?: number,
  ceilMode?: boolean,
  returnIndices?: false,
): Tensor;
export function maxPool1d(
  x: Tensor,
  kernelSize: number,
  stride: number | null | undefined,
  padding: number,
  dilation: number,
  ceilMode: boolean,
  returnIndices: true,
): [Tensor, Tensor];
export function maxPool1d(
  x: Tensor,
  kernelSize: number,
  stride: number | null = null,
  padding = 0,
  dilation = 1,
  ceilMode = false,
  returnIndices = false,
): Tensor | [Tensor, Tensor] {
  // x (N, C, L) -> (N, C, OL)
  if (x.ndim !== 2 && x.ndim !== 3)
    throw new Error(`maxPool1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got ${fmtShape(x.shape)}`);
  const x4 = x.unsqueeze(-2);
  if (!returnIndices)
    return maxPool2d(x4, [1, kernelSize], [1, stride ?? kernelSize], [0, padding], [1, dilation], ceilMode).squeeze(-2);
  const [out, idx] = maxPool2d(
    x4,
    [1, kernelSize],
    [1, stride ?? kernelSize],
    [0, padding],
    [1, dilation],
    ceilMode,
    true,
  );
  return [out.squeeze(-2), idx.squeeze(-2)];
}

// x (N, C, H, W) -> (N, C, OH, OW); its adjoint avgPoolBackward maps back, and each differentiates to the other
function avgPoolRaw(x: Tensor, p: Pool2dParams, cip: boolean): Tensor {
  if (!isKernelDtype(x.dtype)) return viaFloat32(x, (x32) => avgPoolRaw(x32, p, cip));
  const [N, C, H, W] = x.shape;
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, 1, p.ceilMode),
    OW = poolOutSize(W, p.kW, p.strideW, p.padW, 1, p.ceilMode);
  const out = wrap(be(x).avgPool2d(dataOf(x, 'avgPool2d'), x.layout, p, cip), [N, C, OH, OW], x.dtype);
  return record(out, 'AvgPool2DBackward', [x], (g) => [avgPoolBackward(g, x.shape, p, cip)]);
}

function avgPoolBackward(dy: Tensor, xShape: readonly number[], p: Pool2dParams, cip: boolean): Tensor {
  const out = wrap(
    be(dy).avgPool2dBackward(dataOf(dy, 'avgPool2d backward'), dy.layout, xShape, p, cip),
    xShape,
    dy.dtype,
  );
  return record(out, 'AvgPool2DBackwardBackward', [dy], (gg) => [avgPoolRaw(gg, p, cip)]);
}

/** 2-D average pooling (F.avg_pool2d). stride defaults to kernelSize. */
export function avgPool2d(
  x: Tensor,
  kernelSize: Pair,
  stride: Pair | null = null,
  padding: Pair = 0,
  ceilMode = false,
  countIncludePad = true,
): Tensor {
  // x (N, C, H, W) -> (N, C, OH, OW)
  return batched(x, 4, (xb) => {
    check4d(xb, 'avgPool2d');
    return avgPoolRaw(xb, poolParams(xb, kernelSize, stride, padding, 1, ceilMode, 'avgPool2d'), countIncludePad);
  });
}

/** (O, I) matrix averaging PyTorch's adaptive windows [floor(o*I/O), ceil((o+1)*I/O)). */
function adaptiveMatrix(I: number, O: number, x: Tensor): Tensor {
  const m = allocate(x.dtype, O * I);
  for (let o = 0; o < O; o++) {
    const s = Math.floor((o * I) / O),
      e = Math.ceil(((o + 1) * I) / O);
    for (let i = s; i < e; i++) m[o * I + i] = 1 / (e - s);
  }
  // made on the host: it joins x on x's device (a no-op on the CPU)
  return wrap(m, [O, I], x.dtype).to(x.device);
}

/** Adaptive average pooling to outputSize (F.adaptive_avg_pool2d); null keeps that input size. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  // x (N, C, H, W) -> (N, C, OH, OW), as Ph (OH, H) @ x @ Pw^T (W, OW)
  return batched(x, 4, (xb) => {
    check4d(xb, 'adaptiveAvgPool2d');
    const [H, W] = [xb.shape[2], xb.shape[3]];
    const os = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
    const OH = os[0] ?? H,
      OW = os[1] ?? W;
    if (!(OH > 0 && OW > 0))
      throw new Error(`adaptiveAvgPool2d: outputSize must be positive, got ${JSON.stringify(outputSize)}`);
    if (OH === 1 && OW === 1) return xb.mean([2, 3], true);
    return adaptiveMatrix(H, OH, xb).matmul(xb.matmul(adaptiveMatrix(W, OW, xb).t()));
  });
}

// ---- resampling ----

export type InterpolateMode = 'nearest' | 'linear' | 'bilinear';

export interface InterpolateOptions {
  size?: number | readonly number[];
  scaleFactor?: number | readonly number[];
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
}

/** (O, I) linear interpolation matrix along one axis, with PyTorch's source-index rule. */
function linearMatrix(I: number, O: number, scale: number | undefined, alignCorners: boolean, x: Tensor): Tensor {
  const m = allocate(x.dtype, O * I);
  const ratio = alignCorners ? (O > 1 ? (I - 1) / (O - 1) : 0) : scale !== undefined ? 1 / scale : I / O;
  for (let o = 0; o < O; o++) {
    const src = alignCorners ? o * ratio : Math.max(0, (o + 0.5) * ratio - 0.5);
    const i0 = Math.min(Math.floor(src), I - 1),
      i1 = Math.min(i0 + 1, I - 1),
      l = src - i0;
    m[o * I + i0] += 1 - l;
    m[o * I + i1] += l;
  }
  return wrap(m, [O, I], x.dtype).to(x.device);
}

/** Source indices of nearest-neighbour resampling: floor(o * I / O), or floor(o / scale). */
function nearestIndex(I: number, O: number, scale: number | undefined): Tensor {
  const idx = new Int32Array(O);
  const r = scale !== undefined ? 1 / scale : I / O;
  for (let o = 0; o < O; o++) idx[o] = Math.min(Math.floor(o * r), I - 1);
  return wrap(idx, [O], 'int32');
}

/**
 * Up/down-sampling (F.interpolate) of (N, C, L) or (N, C, H, W) inputs: 'nearest', 'linear' (3-D)
 * or 'bilinear' (4-D), with alignCorners for the linear modes. Give size or scaleFactor.
 */
export function interpolate(x: Tensor, opts: InterpolateOptions = {}): Tensor {
  // x (N, C, *S) -> (N, C, *OS)
  const mode = opts.mode ?? 'nearest';
  const sp = x.ndim - 2;
  if (sp < 1 || sp > 2)
    throw new Error(`interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got ${fmtShape(x.shape)}`);
  checkFloat(x, 'interpolate');
  if ((mode === 'linear' && sp !== 1) || (mode === 'bilinear' && sp !== 2)) {
    throw new Error(
      `interpolate: mode '${mode}' expects a ${mode === 'linear' ? '3' : '4'}-D input, got ${fmtShape(x.shape)}`,
    );
  }
  if (mode === 'nearest' && opts.alignCorners != null) {
    throw new Error('interpolate: alignCorners option can only be set with the interpolating modes: linear | bilinear');
  }
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new Error('interpolate: exactly one of size or scaleFactor must be given');
  }
  const list = (v: number | readonly number[]) => (typeof v === 'number' ? Array(sp).fill(v) : [...v]);
  const inSize = x.shape.slice(2);
  const scales = opts.scaleFactor !== undefined ? list(opts.scaleFactor) : undefined;
  const outSize = opts.size !== undefined ? list(opts.size) : inSize.map((s, i) => Math.floor(s * scales![i]));
  if (outSize.length !== sp || outSize.some((s) => !(Number.isInteger(s) && s > 0))) {
    throw new Error(`interpolate: output size ${fmtShape(outSize)} is invalid for input ${fmtShape(x.shape)}`);
  }
  let y = x;
  for (let i = 0; i < sp; i++) {
    const d = 2 + i,
      I = inSize[i],
      O = outSize[i],
      s = scales?.[i];
    if (mode === 'nearest') {
      y = indexSelect(y, d, nearestIndex(I, O, s));
      continue;
    }
    const A = linearMatrix(I, O, s, opts.alignCorners ?? false, x);
    // along the last dim: y @ A^T; along H: A @ y
    y = d === x.ndim - 1 ? y.matmul(A.t()) : A.matmul(y);
  }
  return y;
}

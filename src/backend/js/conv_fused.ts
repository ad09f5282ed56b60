// Convolution with an epilogue for the JS backend: y = act(conv2d(x, w) * scale[oc] + shift[oc] +
// residual), act relu (NaN kept, as the native kernels' nb_keep_positive) or identity. The JS backend
// keeps no transformed weights, so reuseWeights and weightsStamp change nothing here.
// Glossary: N batch, OC output channels, OH,OW output size.

import type { TypedArray } from '../../tensor/dtype.js';
import { dtypeOfArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import type { Conv2dParams } from '../backend.js';
import { conv2d } from './conv.js';
import { asContiguous } from './strided.js';

/** x (N,C,H,W), w (OC,C/G,KH,KW), scale/shift (OC) or null, residual (N,OC,OH,OW) or null -> y (N,OC,OH,OW). */
export function conv2dFused(
  x: TypedArray,
  lx: Layout,
  w: TypedArray,
  lw: Layout,
  p: Conv2dParams,
  scale: TypedArray | null,
  shift: TypedArray | null,
  residual: { data: TypedArray; layout: Layout } | null,
  relu: boolean,
): TypedArray {
  const y = conv2d(x, lx, w, lw, p);
  const [N, OC] = [lx.shape[0], lw.shape[0]];
  const L = N * OC > 0 ? y.length / (N * OC) : 0;
  if ((scale && scale.length !== OC) || (shift && shift.length !== OC)) {
    const n = (a: TypedArray | null) => a?.length ?? 'none';
    throw new Error(`conv2dFused: expected scale and shift of ${OC} values, got ${n(scale)} and ${n(shift)}`);
  }
  if (residual && residual.layout.numel !== y.length) {
    throw new Error(
      `conv2dFused: expected a residual of the output's shape (${N}, ${OC}, ...), got ` + `[${residual.layout.shape}]`,
    );
  }
  if (!scale && !shift && !residual && !relu) return y;
  const res = residual ? asContiguous(residual.data, residual.layout, dtypeOfArray(y)) : null;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < OC; c++) {
      const sc = scale ? scale[c] : 1,
        sh = shift ? shift[c] : 0;
      for (let i = (n * OC + c) * L, end = i + L; i < end; i++) {
        const v = y[i] * sc + sh + (res ? res[i] : 0);
        y[i] = relu && v <= 0 ? 0 : v;
      }
    }
  }
  return y;
}

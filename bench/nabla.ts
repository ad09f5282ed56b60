// nabla's own rows: the same kernels timed on the native backend and on the JS reference backend,
// called at the backend seam (what every nabla op dispatches to).
import type { Conv2dParams, Kernels } from '../src/backend/backend.js';
import { BinaryOp, ReduceOp, UnaryOp } from '../src/backend/op_codes.js';
import type { NativeBackend } from '../src/backend/native/index.js';
import { Layout } from '../src/tensor/layout.js';
import { randomArray, type Row } from './rows.js';

type K = Pick<
  Kernels,
  'matmul' | 'binary' | 'unary' | 'reduce' | 'softmax' | 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight'
>;

const CONV: Conv2dParams = { strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1 };

// layerNorm over the last dim composed from primitive kernels, as src/ops/nn_ops.ts does it:
// x (R,C) -> (x - mean) * rsqrt(var + eps) * g + b
function composedLayerNorm(k: K, x: Float32Array, R: number, C: number, g: Float32Array, b: Float32Array): unknown {
  const lx = Layout.contiguous([R, C]),
    lr = Layout.contiguous([R, 1]);
  const col = new Layout([R, C], [1, 0]),
    row = new Layout([R, C], [0, 1]);
  const inv = Float32Array.of(1 / C),
    eps = Float32Array.of(1e-5),
    scalar = new Layout([R, 1], [0, 0]);
  const mu = k.binary(BinaryOp.MUL, k.reduce(ReduceOp.SUM, x, lx, [1], 'float32'), lr, inv, scalar, 'float32');
  const d = k.binary(BinaryOp.SUB, x, lx, mu, col, 'float32');
  const v = k.binary(
    BinaryOp.MUL,
    k.reduce(ReduceOp.SUM, k.binary(BinaryOp.MUL, d, lx, d, lx, 'float32'), lx, [1], 'float32'),
    lr,
    inv,
    scalar,
    'float32',
  );
  const r = k.unary(UnaryOp.RSQRT, k.binary(BinaryOp.ADD, v, lr, eps, scalar, 'float32'), lr, 'float32');
  const y = k.binary(BinaryOp.MUL, d, lx, r, col, 'float32');
  return k.binary(BinaryOp.ADD, k.binary(BinaryOp.MUL, y, lx, g, row, 'float32'), lx, b, row, 'float32');
}

/** A closure running `row` on backend k, or null when the row does not apply. */
export function nablaRunner(k: K, row: Row, native?: NativeBackend): (() => unknown) | null {
  const a = row.args;
  switch (row.kind) {
    case 'matmul': {
      const x = randomArray(a.M * a.K, 1),
        w = randomArray(a.K * a.N, 2);
      const lx = Layout.contiguous([a.M, a.K]),
        lw = Layout.contiguous([a.K, a.N]);
      return () => k.matmul(x, lx, w, lw, 'float32');
    }
    case 'conv':
    case 'convBackward': {
      const xs = [a.N, a.C, a.H, a.W],
        ws = [a.OC, a.C, 3, 3];
      const x = randomArray(a.N * a.C * a.H * a.W, 3),
        w = randomArray(a.OC * a.C * 9, 4),
        dy = randomArray(a.N * a.OC * a.H * a.W, 5);
      const lx = Layout.contiguous(xs),
        lw = Layout.contiguous(ws),
        ly = Layout.contiguous([a.N, a.OC, a.H, a.W]);
      if (row.kind === 'conv') return () => k.conv2d(x, lx, w, lw, CONV);
      return () => [k.conv2dBackwardInput(dy, ly, w, lw, xs, CONV), k.conv2dBackwardWeight(dy, ly, x, lx, ws, CONV)];
    }
    case 'softmax': {
      const x = randomArray(a.R * a.C, 6),
        lx = Layout.contiguous([a.R, a.C]);
      return () => k.softmax(x, lx, 1, false);
    }
    case 'layerNorm': {
      const x = randomArray(a.R * a.C, 7),
        g = randomArray(a.C, 8),
        b = randomArray(a.C, 9);
      const fused = native as unknown as {
        layerNorm?: (x: Float32Array, lx: Layout, g: Float32Array, b: Float32Array, eps: number) => unknown;
      };
      if (fused?.layerNorm) {
        const lx = Layout.contiguous([a.R, a.C]);
        return () => fused.layerNorm!(x, lx, g, b, 1e-5);
      }
      return () => composedLayerNorm(k, x, a.R, a.C, g, b);
    }
    case 'add': {
      const x = randomArray(a.n, 10),
        y = randomArray(a.n, 11),
        l = Layout.contiguous([a.n]);
      if (a.into && native) {
        const z = new Float32Array(a.n);
        return () => native.addon.binary(BinaryOp.ADD, z, x, l, y, l);
      }
      return () => k.binary(BinaryOp.ADD, x, l, y, l, 'float32');
    }
  }
}

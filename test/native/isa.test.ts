// Every SIMD path the CPU has (scalar, avx2, avx512) against the JS backend on the kernels whose
// code differs per ISA: GEMM/GEMV microkernels and the per-ISA elementwise table (unary math,
// binary, reductions, softmax, layer norm, Adam). NABLA_ISA or setIsa caps the path.
import { test } from 'node:test';
import { BinaryOp, ReduceOp, UnaryOp } from '../../src/backend/op_codes.js';
import { Layout } from '../../src/tensor/layout.js';
import { abs, assertClose, assertWithin, fill, js, native, rng, skip } from './helpers.js';

const ISAS = ['scalar', 'avx2', 'avx512'] as const;

test('every ISA path the CPU has agrees with JS (gemm, gemv, unary, binary, reduce, softmax)', { skip }, () => {
  const start = native!.addon.cpuInfo().isa as (typeof ISAS)[number];
  try {
    for (const isa of ISAS) {
      native!.addon.setIsa(isa);
      const r = rng(60);
      for (const [M, N, K] of [
        [33, 47, 129],
        [128, 96, 64],
        [1, 300, 77],
        [77, 1, 300],
        [200, 130, 20],
      ]) {
        for (const tb of [false, true]) {
          const a = fill(M * K, r, 1),
            b = fill(K * N, r, 1);
          const la = Layout.contiguous([M, K]),
            lb = tb ? new Layout([K, N], [1, K]) : Layout.contiguous([K, N]);
          const bound = js.matmul(abs(a), la, abs(b), lb, 'float32').map((v) => 1e-5 * v + 1e-30);
          assertWithin(
            native!.matmul(a, la, b, lb, 'float32')!,
            js.matmul(a, la, b, lb, 'float32'),
            bound,
            `${isa} matmul ${M}x${N}x${K} tb=${tb}`,
          );
        }
      }
      const x = Float32Array.from({ length: 4099 }, (_, i) => (i - 2049) * 0.03);
      const lx = Layout.contiguous([x.length]);
      for (const op of [
        UnaryOp.EXP,
        UnaryOp.LOG,
        UnaryOp.TANH,
        UnaryOp.SIGMOID,
        UnaryOp.GELU,
        UnaryOp.SILU,
        UnaryOp.ERF,
      ]) {
        assertClose(
          native!.unary(op, x, lx, 'float32')!,
          js.unary(op, x, lx, 'float32'),
          4e-7,
          1e-7,
          `${isa} ${UnaryOp[op]}`,
        );
      }
      const y = fill(x.length, r, 2, true);
      for (const op of [BinaryOp.ADD, BinaryOp.MUL, BinaryOp.MAXIMUM, BinaryOp.DIV, BinaryOp.THRESHOLD_BACKWARD]) {
        assertClose(
          native!.binary(op, x, lx, y, lx, 'float32')!,
          js.binary(op, x, lx, y, lx, 'float32'),
          0,
          0,
          `${isa} ${BinaryOp[op]}`,
        );
      }
      const l2 = Layout.contiguous([61, 67]);
      for (const op of [ReduceOp.SUM, ReduceOp.MAX, ReduceOp.MIN])
        for (const axes of [[0], [1]]) {
          assertClose(
            native!.reduce(op, y, l2, axes, 'float32')!,
            js.reduce(op, y, l2, axes, 'float32'),
            1e-6,
            1e-6,
            `${isa} ${ReduceOp[op]} [${axes}]`,
          );
        }
      for (const log of [false, true]) {
        assertClose(
          native!.softmax(x, l2, 1, log)!,
          js.softmax(x, l2, 1, log),
          2e-6,
          1e-6,
          `${isa} softmax log=${log}`,
        );
      }
    }
  } finally {
    native!.addon.setIsa(start);
  }
});

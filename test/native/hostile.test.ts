// Calls the addon directly with hostile arguments: every one must throw a JS Error naming the
// kernel ("nabla.<kernel>: ..."), never crash the process or touch memory out of bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Layout } from '../../src/tensor/layout.js';
import type { NablaAddon } from '../../src/backend/native/contract.js';
import { native, skip } from './helpers.js';

const f = (n: number) => new Float32Array(n);
const L = (shape: number[], strides: number[], offset = 0) => ({ shape, strides, offset });
const C = (shape: number[]) => Layout.contiguous(shape);

function throwsNamed(kernel: string, fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'must throw an Error');
    assert.match(e.message, new RegExp(`^nabla\\.${kernel}: `));
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('hostile: wrong argument types and counts', { skip }, () => {
  const A = native!.addon as unknown as Record<string, (...a: unknown[]) => unknown>;
  throwsNamed('matmul', () => A.matmul(1, 2, 3, 4, 5), /c must be a Float32Array/);
  throwsNamed('matmul', () => A.matmul(f(4), f(4), C([2, 2])), /expected 5 arguments, got 3/);
  throwsNamed('linear', () => A.linear(f(4), f(6), C([2, 3]), f(6), C([2, 3]), null, -1), /inner dims differ/);
  throwsNamed('linear', () => A.linear(f(4), f(8), C([2, 2, 2]), f(4), C([2, 2]), null, -1), /must be 2-D/);
  throwsNamed('linear', () => A.linear(f(3), f(4), C([2, 2]), f(4), C([2, 2]), null, -1), /c has 3 elements, needs 4/);
  throwsNamed(
    'linear',
    () => A.linear(f(4), f(4), C([2, 2]), f(4), C([2, 2]), f(1), -1),
    /bias has 1 elements, needs 2/,
  );
  throwsNamed(
    'linear',
    () => A.linear(f(4), f(4), C([2, 2]), f(4), C([2, 2]), null, 2),
    /act 2 \(EXP\) is not implemented natively/,
  );
  throwsNamed('linear', () => A.linear(f(4), f(4), C([2, 2]), f(4), C([2, 2]), null, 999), /act/);
  throwsNamed('matmul', () => A.matmul(f(4), f(4), C([2, 2]), f(4), C([2, 2]), 'extra'), /expected 5 arguments/);
  throwsNamed('matmul', () => A.matmul(new Float64Array(4), f(4), C([2, 2]), f(4), C([2, 2])), /Float32Array/);
  throwsNamed('matmul', () => A.matmul(f(4), [1, 2, 3, 4], C([2, 2]), f(4), C([2, 2])), /a must be a Float32Array/);
  throwsNamed('matmul', () => A.matmul(f(4), f(4), 'layout', f(4), C([2, 2])), /a must be a layout object/);
  throwsNamed('matmul', () => A.matmul(f(4), f(4), { shape: [2, 2] }, f(4), C([2, 2])), /strides must be an array/);
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(4), L([2, '2' as unknown as number], [2, 1]), f(4), C([2, 2])),
    /shape\[1\] must be a number/,
  );
  throwsNamed('unary', () => A.unary('exp', f(2), f(2), C([2]), 0, 0), /op must be a number/);
  throwsNamed('unary', () => A.unary(2, f(2), f(2), C([2]), 'p0', 0), /p0 must be a number/);
  throwsNamed('softmax', () => A.softmax(f(2), f(2), C([2]), 0, 'yes'), /log must be a boolean/);
  throwsNamed('setNumThreads', () => A.setNumThreads('4'));
  throwsNamed('setIsa', () => A.setIsa('sse9'), /unknown isa/);
  throwsNamed('cpuInfo', () => A.cpuInfo(1));
  throwsNamed('adviseHugePages', () => A.adviseHugePages([1, 2]), /x must be a TypedArray/);
  throwsNamed('adviseHugePages', () => A.adviseHugePages(), /expected 1 argument/);
});

test('hostile: sizes, strides and offsets outside the buffers', { skip }, () => {
  const A: NablaAddon = native!.addon;
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(5), C([2, 3]), f(6), C([3, 2])),
    /a: layout reaches element 5 but the buffer has 5/,
  );
  throwsNamed('matmul', () => A.matmul(f(3), f(6), C([2, 3]), f(6), C([3, 2])), /c has 3 elements, needs 4/);
  throwsNamed('matmul', () => A.matmul(f(4), f(6), L([2, 3], [3, 1], 1), f(6), C([3, 2])), /reaches element 6/);
  throwsNamed('matmul', () => A.matmul(f(4), f(6), L([2, 3], [-3, 1], 0), f(6), C([3, 2])), /before the start/);
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(6), L([2, 3], [3, 1], -1), f(6), C([3, 2])),
    /offset = -1 is out of range/,
  );
  throwsNamed('matmul', () => A.matmul(f(4), f(6), L([2, 3], [3, 1], 1e300), f(6), C([3, 2])), /offset/);
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(6), L([2, 3], [3, 1], NaN), f(6), C([3, 2])),
    /offset must be an integer/,
  );
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(6), L([2, 3], [2 ** 41, 1]), f(6), C([3, 2])),
    /strides\[0\].*out of range/,
  );
  throwsNamed('matmul', () => A.matmul(f(4), f(6), L([2, 3.5], [3, 1]), f(6), C([3, 2])), /must be an integer/);
  throwsNamed('matmul', () => A.matmul(f(4), f(6), L([-2, 3], [3, 1]), f(6), C([3, 2])), /out of range/);
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(6), L([2, 3], [3]), f(6), C([3, 2])),
    /shape has 2 dims but strides has 1/,
  );
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(6), L([2 ** 30, 2 ** 30], [0, 0]), f(6), C([3, 2])),
    /element count exceeds/,
  );
  throwsNamed('matmul', () => A.matmul(f(4), f(6), L([2 ** 20, 2 ** 20, 3], [0, 0, 1]), f(6), C([3, 2])), /exceeds/);
  throwsNamed('matmul', () => A.matmul(f(4), f(6), C([2, 3]), f(6), C([2, 3])), /inner dims differ/);
  throwsNamed('matmul', () => A.matmul(f(16), f(12), C([2, 2, 3]), f(18), C([3, 3, 2])), /batch dim 0 differs/);
  throwsNamed('matmul', () => A.matmul(f(4), f(6), C([6]), f(6), C([6])), /rank >= 2/);
  // c large enough by length only if the product overflowed: batch*M*N beyond 2^40
  throwsNamed(
    'matmul',
    () => A.matmul(f(4), f(1), L([2 ** 20, 2 ** 20, 1], [0, 0, 0]), f(1), L([2 ** 20, 1, 2 ** 20], [0, 0, 0])),
    /too large|exceeds/,
  );
  throwsNamed('unary', () => A.unary(2, f(2), f(3), C([3]), 0, 0), /y has 2 elements, needs 3/);
  throwsNamed('unary', () => A.unary(999, f(3), f(3), C([3]), 0, 0), /op = 999 is out of range/);
  throwsNamed('unary', () => A.unary(8, f(3), f(3), C([3]), 0, 0), /not implemented natively/);
  throwsNamed(
    'unary',
    () => A.unary(2, f(9), f(9), L([1, 1, 1, 1, 1, 1, 1, 1, 9], [0, 0, 0, 0, 0, 0, 0, 0, 1]), 0, 0),
    /at most 8/,
  );
  throwsNamed('binary', () => A.binary(0, f(4), f(4), C([4]), f(4), C([2, 2])), /same shape/);
  throwsNamed('binary', () => A.binary(0, f(4), f(4), C([4]), f(1), L([4], [1])), /b: layout reaches element 3/);
  throwsNamed('binary', () => A.binary(7, f(4), f(4), C([4]), f(4), C([4])), /not implemented natively/);
  throwsNamed('reduce', () => A.reduce(0, f(1), f(6), C([2, 3]), [1, 1]), /unique/);
  throwsNamed('reduce', () => A.reduce(0, f(1), f(6), C([2, 3]), [2]), /axes\[0\] = 2 is out of range/);
  throwsNamed('reduce', () => A.reduce(0, f(1), f(6), C([2, 3]), [1]), /y has 1 elements, needs 2/);
  throwsNamed('reduce', () => A.reduce(4, f(2), f(6), C([2, 3]), [1]), /op = 4 is out of range/);
  throwsNamed('copy', () => A.copy(f(6), L([2, 3], [1, 2], 1), f(6), C([2, 3])), /y: layout reaches element 6/);
  throwsNamed(
    'compare',
    () => A.compare(0, new Uint8Array(4), f(4), C([4]), f(4), C([4])),
    /op = 0 is out of range \[7, 12\]/,
  );
  throwsNamed('compare', () => A.compare(9, f(4) as never, f(4), C([4]), f(4), C([4])), /y must be a Uint8Array/);
  throwsNamed(
    'compare',
    () => A.compare(9, new Uint8Array(3), f(4), C([4]), f(4), C([4])),
    /y has 3 elements, needs 4/,
  );
  throwsNamed(
    'where',
    () => A.where(f(4), new Uint8Array(2), C([4]), f(4), C([4]), f(4), C([4])),
    /cond: layout reaches element 3/,
  );
  throwsNamed('where', () => A.where(f(4), new Uint8Array(4), C([4]), f(4), C([2, 2]), f(4), C([4])), /same shape/);
  throwsNamed('castToF32', () => A.castToF32(f(4), f(4) as never, C([4])), /x must be a Uint8Array/);
  throwsNamed('castToF32', () => A.castToF32(f(4), new Int32Array(3), C([4])), /x: layout reaches element 3/);
  throwsNamed('softmax', () => A.softmax(f(6), f(6), C([2, 3]), 2, false), /axis = 2 is out of range/);
  throwsNamed('setNumThreads', () => A.setNumThreads(0), /out of range/);
  throwsNamed('setNumThreads', () => A.setNumThreads(1e9), /out of range/);
});

test('hostile: conv and pooling geometry', { skip }, () => {
  const A: NablaAddon = native!.addon;
  const P7 = [1, 1, 0, 0, 1, 1, 1] as [number, number, number, number, number, number, number];
  const P9 = [2, 2, 2, 2, 0, 0, 1, 1, 0] as [number, number, number, number, number, number, number, number, number];
  throwsNamed(
    'conv2d',
    () => A.conv2d(f(3), f(16), C([1, 1, 4, 4]), f(9), C([1, 1, 3, 3]), P7),
    /y has 3 elements, needs 4/,
  );
  throwsNamed(
    'conv2d',
    () => A.conv2d(f(16), f(16), C([1, 1, 4, 4]), f(9), C([1, 1, 3, 3]), [1, 1, 0, 0, 1, 1, 0] as never),
    />= 1/,
  );
  throwsNamed('conv2d', () => A.conv2d(f(16), f(16), C([1, 2, 2, 4]), f(9), C([1, 1, 3, 3]), P7), /C\/groups/);
  throwsNamed('conv2d', () => A.conv2d(f(16), f(16), C([1, 1, 2, 2]), f(9), C([1, 1, 3, 3]), P7), /empty/);
  throwsNamed('conv2d', () => A.conv2d(f(16), f(16), C([4, 4]), f(9), C([1, 1, 3, 3]), P7), /4-D/);
  throwsNamed(
    'conv2d',
    () => A.conv2d(f(16), f(16), L([1, 1, 4, 4], [16, 16, 1, 4]), f(9), C([1, 1, 3, 3]), P7),
    /contiguous/,
  );
  throwsNamed(
    'conv2d',
    () => A.conv2d(f(16), f(16), C([1, 1, 4, 4]), f(9), C([1, 1, 3, 3]), [1, 1, 2 ** 21, 0, 1, 1, 1] as never),
    /out of range/,
  );
  const x16 = f(16),
    xl = C([1, 1, 4, 4]),
    w9 = f(9),
    wl = C([1, 1, 3, 3]);
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(f(4), x16, xl, w9, wl, P7, f(0), null, null, false, false, 0),
    /scale has 0 elements, needs 1/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(f(4), x16, xl, w9, wl, P7, null, f(0), null, false, false, 0),
    /shift has 0 elements, needs 1/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(f(4), x16, xl, w9, wl, P7, null, null, f(3), false, false, 0),
    /residual has 3 elements, needs 4/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(f(4), x16, xl, w9, wl, P7, null, null, [1, 2, 3, 4] as never, false, false, 0),
    /residual must be a Float32Array/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(f(4), x16, xl, w9, wl, P7, null, null, null, 1 as never, false, 0),
    /relu must be a boolean/,
  );
  throwsNamed(
    'conv2dFused',
    () => (A.conv2dFused as (...a: unknown[]) => void)(f(4), x16, xl, w9, wl, P7, null, null, null),
    /expected 12 arguments, got 9/,
  );
  const y4 = f(4);
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(y4, x16, xl, w9, wl, P7, null, null, y4, true, false, 0),
    /residual must not be the output/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(y4, x16, xl, w9, wl, P7, null, null, null, true, 0 as never, 0),
    /reuseWeights must be a boolean/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(y4, x16, xl, w9, wl, P7, null, null, null, true, true, -1),
    /weightsStamp = -1 is out of range/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(y4, x16, xl, w9, wl, P7, null, null, null, true, true, 0.5),
    /weightsStamp must be an integer/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(y4, x16, xl, w9, wl, P7, null, null, null, true, true, 2 ** 60),
    /weightsStamp = \d+ is out of range/,
  );
  throwsNamed(
    'conv2dFused',
    () => A.conv2dFused(y4, x16, xl, w9, wl, P7, null, null, null, true, true, '1' as never),
    /weightsStamp must be a number/,
  );
  throwsNamed('nextStamp', () => (A.nextStamp as (...a: unknown[]) => number)(1), /expected 0 arguments, got 1/);
  throwsNamed(
    'conv2dBackwardInput',
    () => A.conv2dBackwardInput(f(16), f(4), C([1, 1, 2, 2]), f(9), C([1, 1, 3, 3]), [1, 1, 5, 5], P7),
    /dy must be/,
  );
  throwsNamed(
    'conv2dBackwardInput',
    () => A.conv2dBackwardInput(f(15), f(4), C([1, 1, 2, 2]), f(9), C([1, 1, 3, 3]), [1, 1, 4, 4], P7),
    /dx has 15 elements, needs 16/,
  );
  throwsNamed(
    'conv2dBackwardWeight',
    () => A.conv2dBackwardWeight(f(8), f(4), C([1, 1, 2, 2]), f(16), C([1, 1, 4, 4]), [1, 1, 3, 3], P7),
    /dw has 8/,
  );
  throwsNamed(
    'conv2dBackwardWeight',
    () => A.conv2dBackwardWeight(f(9), f(4), C([1, 1, 2, 2]), f(16), C([1, 1, 4, 4]), [1, 1, 3], P7),
    /wShape must have 4/,
  );
  throwsNamed('maxPool2d', () => A.maxPool2d(f(4), new Int32Array(3), f(16), C([1, 1, 4, 4]), P9), /indices has 3/);
  throwsNamed(
    'maxPool2d',
    () => A.maxPool2d(f(4), new Float32Array(4) as never, f(16), C([1, 1, 4, 4]), P9),
    /Int32Array/,
  );
  throwsNamed(
    'maxPool2d',
    () => A.maxPool2d(f(4), new Int32Array(4), f(16), C([1, 1, 4, 4]), [2, 2, 2, 2, 2, 2, 1, 1, 0] as never),
    /half the kernel/,
  );
  throwsNamed(
    'avgPool2d',
    () => A.avgPool2d(f(4), f(16), C([1, 1, 4, 4]), P9.slice(0, 8) as never, false),
    /params must be/,
  );
  const dx16 = f(16).fill(7);
  throwsNamed(
    'maxPool2dBackward',
    () => A.maxPool2dBackward(dx16, f(4), C([1, 1, 2, 2]), Int32Array.from([0, 5, 16, 3]), [1, 1, 4, 4]),
    /index is outside \[-1, H\*W = 16\)/,
  );
  if (dx16.some((v) => v !== 7)) throw new Error('maxPool2dBackward wrote dx before rejecting an index');
  throwsNamed(
    'maxPool2dBackward',
    () => A.maxPool2dBackward(f(16), f(4), C([1, 1, 2, 2]), new Int32Array(3), [1, 1, 4, 4]),
    /indices has 3 elements, needs 4/,
  );
  throwsNamed(
    'maxPool2dBackward',
    () => A.maxPool2dBackward(f(16), f(8), C([2, 1, 2, 2]), new Int32Array(8), [1, 1, 4, 4]),
    /dy \(N, C\) must equal/,
  );
  throwsNamed(
    'avgPool2dBackward',
    () => A.avgPool2dBackward(f(16), f(4), C([1, 1, 2, 2]), [1, 1, 4, 4], P9, 1 as never),
    /countIncludePad must be a boolean/,
  );
});

test('hostile: indices, fused layer norm and optimizer steps', { skip }, () => {
  const A: NablaAddon = native!.addon;
  const i32 = (...v: number[]) => Int32Array.from(v);
  throwsNamed(
    'indexSelect',
    () => A.indexSelect(f(6), f(12), C([4, 3]), 0, i32(0, 4)),
    /index 4 at position 1 is out of range for size 4/,
  );
  throwsNamed('indexSelect', () => A.indexSelect(f(6), f(12), C([4, 3]), 0, i32(-1, 0)), /index -1/);
  throwsNamed('indexSelect', () => A.indexSelect(f(5), f(12), C([4, 3]), 0, i32(0, 1)), /y has 5 elements, needs 6/);
  throwsNamed('indexSelect', () => A.indexSelect(f(6), f(12), C([4, 3]), 2, i32(0)), /dim = 2 is out of range/);
  throwsNamed(
    'indexSelect',
    () => A.indexSelect(f(6), f(12), C([4, 3]), 0, [0, 1] as never),
    /idx must be a Int32Array/,
  );
  throwsNamed(
    'indexAdd',
    () => A.indexAdd(f(12), C([4, 3]), 0, i32(0, 1), f(3), C([1, 3])),
    /src must have dst's shape/,
  );
  throwsNamed('indexAdd', () => A.indexAdd(f(12), C([4, 3]), 0, i32(2 ** 31 - 1), f(3), C([1, 3])), /out of range/);
  throwsNamed(
    'layerNorm',
    () => A.layerNorm(f(6), f(2), f(2), f(6), C([2, 3]), f(2), null, 1e-5),
    /w has 2 elements, needs 3/,
  );
  throwsNamed(
    'layerNorm',
    () => A.layerNorm(f(6), f(1), f(2), f(6), C([2, 3]), null, null, 1e-5),
    /mean has 1 elements, needs 2/,
  );
  throwsNamed(
    'layerNorm',
    () => A.layerNorm(f(6), f(2), f(2), f(6), C([2, 0]), null, null, 1e-5),
    /non-empty last dim/,
  );
  throwsNamed(
    'batchNorm',
    () => A.batchNorm(f(6), f(3), f(3), f(6), C([6]), null, null, 1e-5, null, false),
    /\(N, C, \*\) with C > 0/,
  );
  throwsNamed(
    'batchNorm',
    () => A.batchNorm(f(6), f(2), f(3), f(6), C([2, 3]), null, null, 1e-5, null, false),
    /mean has 2 elements, needs 3/,
  );
  throwsNamed(
    'batchNorm',
    () => A.batchNorm(f(0), f(3), f(3), f(0), C([0, 3]), null, null, 1e-5, null, false),
    /no values per channel/,
  );
  throwsNamed(
    'batchNorm',
    () => A.batchNorm(f(6), f(3), f(3), f(6), C([2, 3]), null, f(2), 1e-5, null, false),
    /b has 2 elements, needs 3/,
  );
  throwsNamed(
    'batchNorm',
    () => A.batchNorm(f(6), f(3), f(3), f(6), C([2, 3]), null, null, 1e-5, f(5), true),
    /residual has 5 elements, needs 6/,
  );
  throwsNamed(
    'batchNorm',
    () => A.batchNorm(f(6), f(3), f(3), f(6), C([2, 3]), null, null, 1e-5, null, 'yes' as never),
    /relu must be a boolean/,
  );
  throwsNamed(
    'batchNormBackward',
    () => A.batchNormBackward(f(6), null, null, null, f(6), C([3, 2]), f(6), C([2, 3]), null, f(3), f(3), null, 1e-5),
    /same shape|shape/,
  );
  throwsNamed(
    'batchNormBackward',
    () => A.batchNormBackward(f(5), null, null, null, f(6), C([2, 3]), f(6), C([2, 3]), null, f(3), f(3), null, 1e-5),
    /dx has 5 elements, needs 6/,
  );
  throwsNamed(
    'batchNormBackward',
    () => A.batchNormBackward(f(6), f(1), null, null, f(6), C([2, 3]), f(6), C([2, 3]), null, f(3), f(3), null, 1e-5),
    /dw has 1 elements, needs 3/,
  );
  throwsNamed(
    'batchNormBackward',
    () => A.batchNormBackward(f(6), null, null, null, f(6), C([2, 3]), f(6), C([2, 3]), f(4), f(3), f(3), null, 1e-5),
    /yact has 4 elements, needs 6/,
  );
  throwsNamed(
    'layerNormBackward',
    () => A.layerNormBackward(f(6), null, null, f(6), C([3, 2]), f(6), C([2, 3]), f(2), f(2), null),
    /same shape/,
  );
  const q8 = f(8),
    lq8 = C([1, 2, 1, 4]);
  throwsNamed(
    'attentionKv',
    () => A.attentionKv(f(8), f(2), q8, lq8, f(24), C([1, 3, 2, 4]), f(24), C([1, 3, 2, 4]), 1, false),
    /not a multiple of 3 key\/value heads/,
  );
  throwsNamed(
    'attentionKv',
    () => A.attentionKv(f(8), f(2), q8, lq8, f(16), L([1, 2, 2, 4], [16, 8, 1, 2]), f(16), C([1, 2, 2, 4]), 1, false),
    /rows of D contiguous/,
  );
  throwsNamed(
    'attentionKv',
    () => A.attentionKv(f(8), f(2), q8, lq8, f(8), C([1, 2, 2, 4]), f(16), C([1, 2, 2, 4]), 1, false),
    /k/,
  );
  throwsNamed(
    'attentionKv',
    () => A.attentionKv(f(24), f(6), f(24), C([1, 2, 3, 4]), f(16), C([1, 2, 2, 4]), f(16), C([1, 2, 2, 4]), 1, true),
    /at least as many keys \(2\) as queries \(3\)/,
  );
  throwsNamed(
    'attentionKv',
    () => A.attentionKv(f(8), f(2), q8, lq8, f(0), C([1, 2, 0, 4]), f(0), C([1, 2, 0, 4]), 1, false),
    /no keys/,
  );
  throwsNamed(
    'adamStep',
    () => A.adamStep(f(4), f(3), f(4), f(4), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1),
    /m has 3 elements, needs 4/,
  );
  throwsNamed('adamStep', () => A.adamStep(f(4), f(4), f(4), f(4), 1e-3, 1, 0.999, 1e-8, 0, false, 1), /betas/);
  throwsNamed(
    'adamStep',
    () => A.adamStep(f(4), f(4), f(4), f(4), 1e-3, 0.9, 0.999, 1e-8, 0, false, 0),
    /step = 0 is out of range/,
  );
  throwsNamed('sgdStep', () => A.sgdStep(f(4), f(2), f(4), 0.1, 0.9, 0, 0, false, true), /buf has 2 elements, needs 4/);
});

test('hostile: attention shapes and buffers', { skip }, () => {
  const A: NablaAddon = native!.addon;
  const l = C([1, 2, 3, 4]);
  throwsNamed(
    'attention',
    () => A.attention(f(24), f(6), f(24), l, f(24), l, f(24), C([1, 2, 4, 3]), 0.5, true),
    /v and q must have the same shape/,
  );
  throwsNamed(
    'attention',
    () => A.attention(f(23), f(6), f(24), l, f(24), l, f(24), l, 0.5, true),
    /out has 23 elements, needs 24/,
  );
  throwsNamed('attention', () => A.attention(f(24), f(5), f(24), l, f(24), l, f(24), l, 0.5, true), /lse has 5/);
  throwsNamed(
    'attention',
    () => A.attention(f(24), f(6), f(24), C([2, 3, 4]), f(24), l, f(24), l, 0.5, true),
    /must be \(B,H,T,D\)/,
  );
  throwsNamed(
    'attention',
    () => A.attention(f(24), f(6), f(20), l, f(24), l, f(24), l, 0.5, true),
    /q: layout reaches element 23/,
  );
  throwsNamed(
    'attentionBackward',
    () => A.attentionBackward(f(24), f(24), f(24), f(24), l, f(24), l, f(24), l, f(24), l, f(24), l, f(5), 0.5, true),
    /lse has 5/,
  );
  throwsNamed(
    'attentionBackward',
    () => (A.attentionBackward as (...a: unknown[]) => void)(f(24)),
    /expected 16 arguments, got 1/,
  );
});

test('hostile: a detached buffer is rejected, not read', { skip }, () => {
  const buf = new ArrayBuffer(64);
  const x = new Float32Array(buf);
  structuredClone(buf, { transfer: [buf] });
  throwsNamed('unary', () => native!.addon.unary(2, f(16), x, C([16]), 0, 0), /x: its buffer is detached/);
});

test('negative strides inside the buffer are valid (reversed views)', { skip }, () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const y = f(6);
  native!.addon.copy(y, C([6]), x, L([6], [-1], 5));
  assert.deepEqual([...y], [6, 5, 4, 3, 2, 1]);
  const c = f(4);
  native!.addon.matmul(c, x, L([2, 3], [-3, -1], 5), x, L([3, 2], [2, 1], 0)); // [[6,5,4],[3,2,1]] @
  // [[1,2],[3,4],[5,6]]
  assert.deepEqual([...c], [41, 56, 14, 20]);
});

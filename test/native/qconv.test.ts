// The quantized network ops on uint8 NHWC codes (native/src/quant/qconv.c) against the JS references
// (src/backend/js/qconv.ts), bit for bit: the int8 convolution on every int8 GEMM path this machine has
// (odd sizes, strides, padding, dilation, fused ReLU at a nonzero zero point, thread splits by rows and
// by channels), and the input quantization, residual addition and pooling on every ISA's row loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeSymmetricInt8 } from '../../src/util/quant.js';
import { fill, js, native, paths, rng, skip } from './helpers.js';

const INT8_PATHS = ['scalar', 'avx2', 'avxvnni', 'avx512', 'amx'] as const;
// [B, H, W, C, OC, kh, kw, sh, sw, ph, pw, dh, dw]
const CONVS: number[][] = [
  [2, 9, 7, 5, 19, 3, 3, 1, 1, 1, 1, 1, 1],
  [1, 13, 11, 3, 33, 7, 5, 2, 2, 3, 2, 1, 1],
  [1, 8, 8, 64, 40, 1, 1, 2, 2, 0, 0, 1, 1],
  [1, 10, 9, 7, 16, 3, 3, 1, 1, 2, 2, 2, 2],
  [1, 15, 15, 70, 130, 3, 3, 1, 1, 1, 1, 1, 1], // 225 rows: split by rows
  [1, 5, 5, 64, 100, 3, 3, 1, 1, 1, 1, 1, 1], // 25 rows: split by channels
  [3, 6, 11, 1, 1, 2, 3, 1, 2, 1, 0, 1, 1],
];

const codes = (n: number, r: () => number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

function checkConvs(what: string): void {
  const r = rng(18);
  for (const [B, H, W, C, OC, ...win] of CONVS) {
    const [kh, kw] = win;
    const K = kh * kw * C;
    const x = codes(B * H * W * C, r);
    const w = quantizeSymmetricInt8(fill(OC * K, r, 1)).q;
    const ws = fill(OC, r, 0.01).map((v) => Math.abs(v) + 1e-3),
      bias = fill(OC, r, 2);
    const xp = { scale: 0.04, zeroPoint: 117 };
    for (const [out, relu] of [
      [{ scale: 0.9, zeroPoint: 0 }, true],
      [{ scale: 0.6, zeroPoint: 97 }, true],
      [{ scale: 0.3, zeroPoint: 140 }, false],
    ] as const) {
      for (const b of [bias, null]) {
        const shape = [B, H, W, C];
        assert.deepEqual(
          native!.conv2dU8(x, shape, xp, w, ws, b, win, out, relu),
          js.conv2dU8(x, shape, xp, w, ws, b, win, out, relu),
          `${what} conv [${shape}] -> ${OC} win [${win}] zp ${out.zeroPoint} relu ${relu} bias ${!!b}`,
        );
      }
    }
  }
}

for (const path of INT8_PATHS) {
  const avail = native ? native.addon.quantInfo().available : [];
  const why =
    skip || (!avail.includes(path) && `this machine has no ${path} int8 path (available: ${avail.join(', ')})`);
  test(`conv2dU8 on the ${path} int8 path agrees with JS`, { skip: why }, () => {
    assert.equal(native!.addon.setQuantPath(path), true);
    try {
      checkConvs(path);
    } finally {
      native!.addon.setQuantPath('auto');
    }
  });
}

test('quantizeNhwcU8, addU8 and pool2dU8 agree with JS on every ISA', { skip }, () => {
  const start = native!.addon.cpuInfo().isa as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const isa of paths(['scalar', 'avx2', 'avx512'] as const)) {
      native!.addon.setIsa(isa);
      const r = rng(7);
      for (const [B, C, H, W] of [
        [1, 3, 17, 13],
        [2, 67, 9, 10],
        [1, 1, 1, 1],
      ]) {
        const x = fill(B * C * H * W, r, 4, true);
        const p = { scale: 0.031, zeroPoint: 121 };
        assert.deepEqual(
          native!.quantizeNhwcU8(x, [B, C, H, W], p),
          js.quantizeNhwcU8(x, [B, C, H, W], p),
          `${isa} quantize`,
        );
        const a = codes(x.length, r),
          b = codes(x.length, r);
        const ap = { scale: 0.02, zeroPoint: 3 },
          bp = { scale: 0.11, zeroPoint: 200 };
        for (const [out, relu] of [
          [{ scale: 0.07, zeroPoint: 60 }, true],
          [{ scale: 0.05, zeroPoint: 130 }, false],
        ] as const) {
          assert.deepEqual(native!.addU8(a, ap, b, bp, out, relu), js.addU8(a, ap, b, bp, out, relu), `${isa} add`);
        }
        const shape = [B, H, W, C];
        for (const win of [
          [3, 3, 2, 2, 1, 1, 1, 1],
          [2, 3, 1, 2, 0, 1, 1, 1],
          [3, 2, 1, 1, 1, 0, 2, 2],
          [H, W, H, W, 0, 0, 1, 1],
        ]) {
          if (H + 2 * win[4] < win[6] * (win[0] - 1) + 1 || W + 2 * win[5] < win[7] * (win[1] - 1) + 1) continue;
          assert.deepEqual(
            native!.pool2dU8(a, shape, win, 'max'),
            js.pool2dU8(a, shape, win, 'max'),
            `${isa} max [${win}]`,
          );
          if (win[4] || win[5] || win[6] > 1) continue;
          assert.deepEqual(
            native!.pool2dU8(a, shape, win, 'avg'),
            js.pool2dU8(a, shape, win, 'avg'),
            `${isa} avg [${win}]`,
          );
        }
      }
    }
  } finally {
    native!.addon.setIsa(start);
  }
});

test('the quantized network kernels name the kernel and the sizes on bad arguments', { skip }, () => {
  const a = native!.addon;
  assert.throws(
    () => a.q8Pool2d(new Uint8Array(4), new Uint8Array(16), [1, 4, 4, 1], [3, 3, 1, 1, 1, 1, 1, 1], 'avg'),
    /q8Pool2d: average pooling takes no padding and no dilation/,
  );
  assert.throws(
    () => a.q8Pool2d(new Uint8Array(4), new Uint8Array(16), [1, 4, 4, 1], [3, 3, 1, 1, 1, 1, 1, 1], 'max'),
    /q8Pool2d: y has 4 elements, needs 16/,
  );
  assert.throws(
    () =>
      a.q8Conv2d(
        new Uint8Array(16),
        new Uint8Array(16),
        [1, 4, 4, 1],
        0,
        0.1,
        new Int8Array(16),
        new Int32Array(1),
        new Float32Array(1),
        null,
        1,
        [3, 3, 1, 1, 1, 1, 1, 1],
        0.1,
        0,
        false,
      ),
    /q8Conv2d: bp has 16 elements, needs 1024/,
  );
});

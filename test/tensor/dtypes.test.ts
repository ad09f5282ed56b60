// The storage dtypes float16, bfloat16, int8, uint8 and int64 against Debian PyTorch 1.13
// (tools/golden/dtypes.py -> test/golden/dtypes.json): casts with their rounding and overflow, int8/uint8
// wraparound, half arithmetic rounded once, torch.result_type, integer reductions; then creation,
// readback, indexing with int64 indices, gradients in the parameter's dtype and the errors of ops
// without a path. Runs on every CPU backend (they compute the storage dtypes by widening).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { DType } from '../../src/tensor/dtype.js';
import { backends, withBackend } from '../helpers/backends.js';
import { golden } from '../helpers/data.js';
import { dataOf } from '../../src/ops/util.js';

type Out = { dtype: string; bits?: number[]; values?: (number | null | string)[] };
const G: any = JSON.parse(readFileSync(golden('dtypes.json'), 'utf8'));

const num = (v: number | null | string): number =>
  v === null ? Number.NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number);
const bitsOf = (t: nb.Tensor): number[] => Array.from(t.contiguous().toTypedArray());
/** nabla has no int16: torch's int8 + uint8 -> int16 is int32 here (tensor/dtype.ts promoteTypes). */
const mapped = (d: string): string => (d === 'int16' ? 'int32' : d);

/** t equals torch's output: bit patterns for the half types (NaN compared as NaN), values otherwise. */
function assertOut(t: nb.Tensor, exp: Out, what: string): void {
  assert.equal(t.dtype, exp.dtype, `${what}: dtype`);
  if (exp.bits) {
    const got = bitsOf(t);
    const nan = (b: number) =>
      t.dtype === 'float16'
        ? (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0
        : (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
    for (let i = 0; i < got.length; i++) {
      if (nan(exp.bits[i])) assert.ok(nan(got[i]), `${what}[${i}]: NaN expected, got bits ${got[i]}`);
      else assert.equal(got[i], exp.bits[i], `${what}[${i}]: bits`);
    }
    return;
  }
  const got = t.reshape([-1]).tolist() as (number | boolean)[];
  assert.deepEqual(
    got.map((v) => Number(v)),
    exp.values!.map(num),
    `${what}: values`,
  );
}

for (const be of backends()) {
  describe(`dtypes [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'casts from float32 and float64 to every dtype match PyTorch (ties to even, overflow, NaN, INT_MIN)',
      run(() => {
        for (const src of ['float32', 'float64'] as const) {
          const c = G.casts[src];
          const x = nb.tensor(c.input.map(num), { dtype: src });
          for (const [to, exp] of Object.entries<Out>(c)) {
            if (to === 'input') continue;
            if (to === 'int64') {
              // values torch maps beyond 2^53 (or NaN/inf -> INT64_MIN) are refused: checked one at a time
              const vals = exp.values!;
              vals.forEach((v, i) => {
                const xi = x.narrow(0, i, 1);
                if (v === null) assert.throws(() => xi.to('int64'), /does not fit in nabla's int64/);
                else assert.equal(xi.to('int64').item(), v, `${src}[${i}] -> int64`);
              });
              continue;
            }
            assertOut(x.to(to as DType), exp, `${src} -> ${to}`);
          }
        }
      }),
    );

    test(
      'integer narrowing wraps as PyTorch; int64 -> half types round once',
      run(() => {
        const c = G.int_casts;
        const x = nb.tensor(c.input, { dtype: 'int64' });
        for (const [to, exp] of Object.entries<Out>(c))
          if (to !== 'input') assertOut(x.to(to as DType), exp, `int64 -> ${to}`);
      }),
    );

    test(
      'int8/uint8 arithmetic overflows with wraparound; half arithmetic rounds once per op',
      run(() => {
        for (const d of ['int8', 'uint8'] as const) {
          const e = G.arith[d];
          const a = nb.tensor(e.a, { dtype: d }),
            b = nb.tensor(e.b, { dtype: d });
          assertOut(a.add(b), e.add, `${d} add`);
          assertOut(a.sub(b), e.sub, `${d} sub`);
          assertOut(a.mul(b), e.mul, `${d} mul`);
          assertOut(a.neg(), e.neg, `${d} neg`);
          assertOut(a.add(300), e.add_scalar_300, `${d} + 300`);
          assertOut(a.mul(3), e.mul_scalar, `${d} * 3`);
        }
        for (const d of ['float16', 'bfloat16'] as const) {
          const e = G.arith[d];
          const x = halfFromBits(e.a.bits, d),
            y = halfFromBits(e.b.bits, d);
          assertOut(x.add(y), e.add, `${d} add`);
          assertOut(x.sub(y), e.sub, `${d} sub`);
          assertOut(x.mul(y), e.mul, `${d} mul`);
          assertOut(x.div(y), e.div, `${d} div`);
          assertOut(x.add(2 ** -11 + 1e-7), e.add_scalar, `${d} + scalar (the scalar rounds to ${d} first)`);
          assertOut(x.sum().reshape([1]), e.sum, `${d} sum`);
          assertOut(x.mean().reshape([1]), e.mean, `${d} mean`);
          const m = halfFromBits(e.m.bits, d).reshape([3, 4]),
            n = halfFromBits(e.n.bits, d).reshape([4, 2]);
          const once = m.float().matmul(n.float()).to(d);
          assert.deepEqual(bitsOf(m.matmul(n)), bitsOf(once), `${d} matmul = float32 product rounded once`);
          if (e.matmul) {
            // NOTE: torch 1.13's bfloat16 gemm (oneDNN) sums in another order: within one bfloat16 ulp
            const got = bitsOf(m.matmul(n));
            for (const [k, b] of (e.matmul.bits as number[]).entries())
              assert.ok(Math.abs(got[k] - b) <= 1, `${d} matmul[${k}]`);
          }
          if (e.exp) assertOut(y.exp(), e.exp, `${d} exp`);
        }
      }),
    );

    test(
      'type promotion is torch.result_type (int8 + uint8 gives int32 where torch has int16)',
      run(() => {
        const P = G.promotion;
        for (const [pair, want] of Object.entries<string>(P.tensor_tensor)) {
          const [p, q] = pair.split(',') as DType[];
          const r = nb.ones([2], { dtype: p }).add(nb.ones([2], { dtype: q }));
          assert.equal(r.dtype, mapped(want), `${p} + ${q}`);
        }
        for (const [pair, want] of Object.entries<string>(P.tensor_zerodim)) {
          const [p, q] = pair.split(',') as DType[];
          const r = nb.ones([2], { dtype: p }).mul(nb.ones([], { dtype: q }));
          assert.equal(r.dtype, mapped(want), `${p} * 0-dim ${q}`);
        }
        for (const [p, want] of Object.entries<string>(P.tensor_int)) {
          // PyTorch's default integer dtype is int64, nabla's int32 (bool + 2)
          assert.equal(
            nb.ones([2], { dtype: p as DType }).add(2).dtype,
            want === 'int64' && p === 'bool' ? 'int32' : want,
          );
        }
        for (const [p, want] of Object.entries<string>(P.tensor_float))
          assert.equal(nb.ones([2], { dtype: p as DType }).add(2.5).dtype, want, `${p} + 2.5`);
      }),
    );

    test(
      'sum, prod and cumsum of int8/uint8/int64 give int64; max keeps the dtype; argmax',
      run(() => {
        for (const [d, e] of Object.entries<any>(G.reductions)) {
          const x = nb.tensor(e.input, { dtype: d as DType });
          if (d === 'bool') {
            // nabla: bool sums to int32, its default integer dtype (torch: int64)
            assert.equal(x.sum().dtype, 'int32');
            assert.deepEqual([x.sum().item()], e.sum.values);
            continue;
          }
          assertOut(x.sum().reshape([1]), e.sum, `${d} sum`);
          assertOut(x.sum(0), e.sum0, `${d} sum(0)`);
          assertOut(x.cumsum(1).reshape([-1]), e.cumsum1, `${d} cumsum(1)`);
          assertOut(x.prod().reshape([1]), e.prod, `${d} prod`);
          assertOut(x.max().reshape([1]), e.max, `${d} max`);
          assert.equal(x.argmax().item(), e.argmax);
        }
        assert.throws(() => nb.tensor([1, 2], { dtype: 'int8' }).mean(), /mean: could not infer output dtype/);
      }),
    );

    test(
      'creation, readback and printing',
      run(() => {
        for (const d of ['float16', 'bfloat16', 'int8', 'uint8', 'int64'] as const) {
          assert.deepEqual(nb.zeros([2], { dtype: d }).tolist(), [0, 0]);
          assert.deepEqual(nb.ones([2], { dtype: d }).tolist(), [1, 1]);
          assert.deepEqual(nb.full([2], 3, { dtype: d }).tolist(), [3, 3]);
          assert.deepEqual(nb.arange(0, 5, 2, { dtype: d }).tolist(), [0, 2, 4]);
          assert.equal(nb.tensor([7], { dtype: d }).item(), 7);
          assert.equal(nb.tensor([7], { dtype: d }).type(), d);
        }
        assert.equal(nb.tensor([0.1], { dtype: 'float16' }).item(), 0.0999755859375);
        assert.equal(nb.tensor([0.1], { dtype: 'bfloat16' }).item(), 0.10009765625);
        assert.ok(nb.tensor([1], { dtype: 'float16' }).toTypedArray() instanceof Uint16Array);
        assert.ok(nb.tensor([1], { dtype: 'int64' }).toTypedArray() instanceof Float64Array);
        assert.deepEqual(nb.arange(0, 300, 100, { dtype: 'int8' }).tolist(), [0, 100, -56]);
        assert.throws(
          () => nb.tensor([300], { dtype: 'int8' }),
          /value 300 cannot be converted to type int8 without overflow/,
        );
        assert.throws(() => nb.full([1], -1, { dtype: 'uint8' }), /cannot be converted to type uint8/);
        assert.equal(
          nb.tensor([1.5, -2], { dtype: 'float16' }).toString(),
          'tensor([ 1.5000, -2.0000], dtype=float16)',
        );
        assert.equal(nb.tensor([1, -2], { dtype: 'int8' }).toString(), 'tensor([ 1, -2], dtype=int8)');
        assert.equal(nb.tensor(new BigInt64Array([2n ** 40n]), { dtype: 'int64' }).item(), 2 ** 40);
        const big = nb.tensor([[1n, -(2n ** 53n) + 1n]]);
        assert.equal(big.dtype, 'int64');
        assert.deepEqual(big.tolist(), [[1, -(2 ** 53) + 1]]);
        assert.throws(() => nb.tensor([2n ** 53n]), /9007199254740992 does not fit in nabla's int64/);
        assert.throws(
          () => nb.tensor(new BigInt64Array([2n ** 60n]), { dtype: 'int64' }),
          /does not fit in nabla's int64/,
        );
        // the torch-named casts
        const x = nb.tensor([1.7, -1.7]);
        assert.deepEqual(
          [x.half().dtype, x.bfloat16().dtype, x.long().dtype, x.char().dtype, x.byte().dtype],
          ['float16', 'bfloat16', 'int64', 'int8', 'uint8'],
        );
        assert.deepEqual(x.long().tolist(), [1, -1]);
        assert.deepEqual(x.byte().tolist(), [1, 255]);
      }),
    );

    test(
      'int64 arithmetic is exact within 2^53 and refuses a result beyond it',
      run(() => {
        const a = nb.tensor([2 ** 52, -(2 ** 52) + 1, 3], { dtype: 'int64' });
        assert.deepEqual(a.add(a.sub(1)).tolist(), [2 ** 53 - 1, -(2 ** 53) + 1, 5]);
        assert.deepEqual(a.floorDivide(2).tolist(), [2 ** 51, -(2 ** 51), 1]);
        assert.throws(() => a.mul(4), /mul\(int64\): element 0: 18014398509481984 does not fit in nabla's int64/);
      }),
    );

    test(
      'indexing accepts int64 indices: gather, indexSelect, embedding, crossEntropy targets',
      run(() => {
        const x = nb.tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]);
        const i64 = nb.tensor([2, 0], { dtype: 'int64' });
        assert.deepEqual(x.indexSelect(1, i64).tolist(), [
          [3, 1],
          [6, 4],
        ]);
        assert.deepEqual(x.gather(1, nb.tensor([[1], [2]], { dtype: 'int64' })).tolist(), [[2], [6]]);
        const emb = new nb.nn.Embedding(4, 2);
        assert.deepEqual(emb.forward(i64).shape, [2, 2]);
        const logits = nb.tensor([
          [2, 0.5, -1],
          [0.1, 0.2, 3],
        ]);
        const l64 = nb.nn.functional.crossEntropy(logits, i64.to('int64'));
        const l32 = nb.nn.functional.crossEntropy(logits, i64.to('int32'));
        assert.equal(l64.item(), l32.item());
        // a float16 table gathers its rows bit for bit
        const h = nb.tensor([0.1, 0.2, 0.3], { dtype: 'float16' });
        assert.deepEqual(bitsOf(h.indexSelect(0, i64)), [bitsOf(h)[2], bitsOf(h)[0]]);
      }),
    );

    test(
      'gradients flow through float16/bfloat16 elementwise ops and matmul, in the parameter dtype',
      run(() => {
        for (const d of ['float16', 'bfloat16'] as const) {
          const w = nb.tensor(
            [
              [0.5, -1.25],
              [2, 0.75],
            ],
            { dtype: d, requiresGrad: true },
          );
          const x = nb.tensor(
            [
              [1, 2],
              [3, 4],
            ],
            { dtype: d },
          );
          const y = x.matmul(w).mul(w).tanh().sum();
          assert.equal(y.dtype, d);
          y.backward();
          assert.equal(w.grad!.dtype, d, `${d}: grad dtype = param dtype`);
          // reference: the same graph in float64, rounded to d
          const w64 = w.detach().double().requiresGrad_(),
            x64 = x.double();
          x64.matmul(w64).mul(w64).tanh().sum().backward();
          const want = w64.grad!.tolist() as number[][],
            got = w.grad!.tolist() as number[][];
          const tol = d === 'float16' ? 1e-2 : 6e-2;
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 2; j++)
              assert.ok(
                Math.abs(got[i][j] - want[i][j]) <= tol * Math.max(1, Math.abs(want[i][j])),
                `${d} grad[${i}][${j}]`,
              );
        }
      }),
    );

    test(
      'convolution and pooling of the half types compute in float32 and round once',
      run(() => {
        nb.manualSeed(3);
        const x = nb.randn([1, 2, 5, 5]),
          w = nb.randn([3, 2, 3, 3]);
        for (const d of ['float16', 'bfloat16'] as const) {
          const xd = x.to(d),
            wd = w.to(d).requiresGrad_();
          const y = nb.nn.functional.conv2d(xd, wd, null, 1, 1);
          assert.equal(y.dtype, d);
          assert.deepEqual(
            bitsOf(y),
            bitsOf(nb.nn.functional.conv2d(xd.float(), wd.detach().float(), null, 1, 1).to(d)),
          );
          nb.nn.functional.maxPool2d(y, 2).sum().backward();
          assert.equal(wd.grad!.dtype, d);
          const p = nb.nn.functional.avgPool2d(xd, 2);
          assert.deepEqual(bitsOf(p), bitsOf(nb.nn.functional.avgPool2d(xd.float(), 2).to(d)));
        }
      }),
    );

    test(
      'an op without a path for a dtype says so, naming the op and the dtype',
      run(() => {
        // every kernel call goes through dataOf, which refuses a storage dtype an op did not widen
        const h = nb.ones([1, 1, 2, 2], { dtype: 'float16' });
        assert.throws(
          () => dataOf(h, 'someKernel'),
          /someKernel: no kernel computes float16 tensors \(the input of shape \[1, 1, 2, 2\]\).*cast it first/,
        );
        assert.ok(dataOf(h, 'copy', true) instanceof Uint16Array);
        // the optimisers update float32/float64 storage: a half parameter is refused, not read as bits
        const p = nb.tensor([1, 2], { dtype: 'bfloat16', requiresGrad: true });
        p.sum().backward();
        assert.throws(
          () => new nb.optim.SGD([p], { lr: 0.1 }).step(),
          /optimizer: the update has no path for bfloat16/,
        );
        assert.deepEqual(p.tolist(), [1, 2]);
      }),
    );
  });
}

/** A tensor of dtype d over the given bit patterns (fromTypedArray reads a Uint16Array as float16 bits). */
function halfFromBits(bits: number[], d: 'float16' | 'bfloat16'): nb.Tensor {
  if (d === 'float16') return nb.fromTypedArray(Uint16Array.from(bits));
  // every bfloat16 value is a float32 value: the cast back is exact
  return nb.tensor(
    Array.from(bits, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]),
    { dtype: d },
  );
}

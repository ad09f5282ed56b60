// Acceptance (issue 2): gradcheck in float64 for every differentiable op, on shapes with broadcasting,
// size-1 dims and non-contiguous inputs (transposed and strided views), inputs kept away from kinks;
// gradgradcheck for elementwise ops, reductions and matmul. Runs on every registered backend.
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Generator } from '../../src/tensor/random.js';
import { backends, withBackend } from '../helpers/backends.js';
import { checkOp, type InputSpec, type LayoutKind } from '../helpers/check.js';

const LAYOUTS: LayoutKind[] = ['contiguous', 'transposed', 'sliced'];

/** The shapes each unary op is checked on: a matrix in every layout, a size-1 dim, a 0-dim tensor. */
function unarySpecs(base: Omit<InputSpec, 'shape'>): InputSpec[][] {
  return [
    ...LAYOUTS.map((layout) => [{ ...base, shape: [3, 4], layout }]),
    [{ ...base, shape: [2, 1, 3], layout: 'sliced' }],
    [{ ...base, shape: [] }],
  ];
}

type Un = (x: Tensor) => Tensor;
const UNARY: [string, Un, Omit<InputSpec, 'shape'>, ((v: number) => number) | null][] = [
  ['neg', nb.neg, {}, (v) => -v],
  ['abs', nb.abs, { avoid: [0] }, Math.abs],
  ['exp', nb.exp, {}, Math.exp],
  ['log', nb.log, { lo: 0.2, hi: 3 }, Math.log],
  ['log2', nb.log2, { lo: 0.2, hi: 3 }, Math.log2],
  ['log1p', nb.log1p, { lo: -0.8, hi: 3 }, Math.log1p],
  ['expm1', nb.expm1, {}, Math.expm1],
  ['sqrt', nb.sqrt, { lo: 0.2, hi: 3 }, Math.sqrt],
  ['rsqrt', nb.rsqrt, { lo: 0.2, hi: 3 }, (v) => 1 / Math.sqrt(v)],
  ['square', nb.square, {}, (v) => v * v],
  ['reciprocal', nb.reciprocal, { avoid: [0], margin: 0.3 }, (v) => 1 / v],
  ['sin', nb.sin, {}, Math.sin],
  ['cos', nb.cos, {}, Math.cos],
  ['tan', nb.tan, { lo: -1.2, hi: 1.2 }, Math.tan],
  ['atan', nb.atan, {}, Math.atan],
  ['asin', nb.asin, { lo: -0.9, hi: 0.9 }, Math.asin],
  ['acos', nb.acos, { lo: -0.9, hi: 0.9 }, Math.acos],
  ['sinh', nb.sinh, {}, Math.sinh],
  ['cosh', nb.cosh, {}, Math.cosh],
  ['tanh', nb.tanh, {}, Math.tanh],
  ['sigmoid', nb.sigmoid, {}, (v) => 1 / (1 + Math.exp(-v))],
  ['relu', nb.relu, { avoid: [0] }, (v) => Math.max(v, 0)],
  ['gelu', (x) => nb.gelu(x), {}, null],
  [
    'gelu tanh',
    (x) => nb.gelu(x, 'tanh'),
    {},
    (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  ],
  ['silu', nb.silu, {}, (v) => v / (1 + Math.exp(-v))],
  ['erf', nb.erf, {}, null],
  ['leakyRelu', (x) => nb.leakyRelu(x, 0.2), { avoid: [0] }, (v) => (v > 0 ? v : 0.2 * v)],
  ['elu', (x) => nb.elu(x, 0.7), { avoid: [0] }, (v) => (v > 0 ? v : 0.7 * Math.expm1(v))],
  ['softplus', (x) => nb.softplus(x), {}, (v) => Math.log1p(Math.exp(v))],
  [
    'hardswish',
    nb.nn.functional.hardswish,
    { lo: -4.5, hi: 4.5, avoid: [-3, 3] },
    (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
  ],
  ['mish', nb.nn.functional.mish, { lo: -4, hi: 4 }, (v) => v * Math.tanh(Math.log1p(Math.exp(v)))],
  [
    'softplus beta',
    (x) => nb.softplus(x, 2, 3),
    { avoid: [1.5] },
    (v) => (2 * v > 3 ? v : Math.log1p(Math.exp(2 * v)) / 2),
  ],
  ['clamp', (x) => nb.clamp(x, -0.5, 0.8), { avoid: [-0.5, 0.8] }, (v) => Math.min(Math.max(v, -0.5), 0.8)],
  ['clamp min', (x) => nb.clamp(x, -0.5), { avoid: [-0.5] }, (v) => Math.max(v, -0.5)],
  ['pow 3', (x) => x.pow(3), {}, (v) => v ** 3],
  ['pow 0.5', (x) => x.pow(0.5), { lo: 0.2, hi: 3 }, Math.sqrt],
  ['pow -1.5', (x) => x.pow(-1.5), { lo: 0.2, hi: 3 }, (v) => v ** -1.5],
  ['pow 0', (x) => x.pow(0), {}, () => 1],
  ['sign', nb.sign, { avoid: [0] }, Math.sign],
  ['floor', nb.floor, { avoid: [-2, -1, 0, 1, 2] }, Math.floor],
  ['ceil', nb.ceil, { avoid: [-2, -1, 0, 1, 2] }, Math.ceil],
  ['round', nb.round, { avoid: [-1.5, -0.5, 0.5, 1.5] }, Math.round],
  ['trunc', nb.trunc, { avoid: [-1, 0, 1] }, Math.trunc],
  ['clone', nb.clone, {}, (v) => v],
  ['contiguous', (x) => x.contiguous(), {}, (v) => v],
];

/** Second derivatives are checked for these (the smooth ones). */
const GRADGRAD = new Set([
  'neg',
  'abs',
  'exp',
  'log',
  'log1p',
  'expm1',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'sin',
  'cos',
  'tan',
  'atan',
  'asin',
  'acos',
  'sinh',
  'cosh',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'gelu tanh',
  'silu',
  'erf',
  'leakyRelu',
  'elu',
  'softplus',
  'hardswish',
  'mish',
  'clamp',
  'pow 3',
  'pow 0.5',
  'pow -1.5',
]);

type Bin = (a: Tensor, b: Tensor) => Tensor;
/** (a shape, b shape) pairs: same shape, broadcast both ways, size-1 dims, a 0-dim operand. */
const BIN_SHAPES: [number[], number[], LayoutKind, LayoutKind][] = [
  [[3, 4], [3, 4], 'contiguous', 'transposed'],
  [[2, 3, 4], [4], 'sliced', 'contiguous'],
  [[3, 1], [1, 4], 'contiguous', 'sliced'],
  [[2, 1, 4], [3, 1], 'transposed', 'contiguous'],
  [[3, 4], [], 'transposed', 'contiguous'],
];
const BINARY: [
  string,
  Bin,
  Omit<InputSpec, 'shape'>,
  Omit<InputSpec, 'shape'>,
  ((a: number, b: number) => number) | null,
][] = [
  ['add', nb.add, {}, {}, (a, b) => a + b],
  ['add alpha', (a, b) => nb.add(a, b, 2.5), {}, {}, (a, b) => a + 2.5 * b],
  ['sub', nb.sub, {}, {}, (a, b) => a - b],
  ['sub alpha', (a, b) => a.sub(b, -0.5), {}, {}, (a, b) => a + 0.5 * b],
  ['mul', nb.mul, {}, {}, (a, b) => a * b],
  ['div', nb.div, {}, { avoid: [0], margin: 0.4 }, (a, b) => a / b],
  ['pow', nb.pow, { lo: 0.3, hi: 2 }, {}, (a, b) => a ** b],
  ['maximum', nb.maximum, {}, {}, null],
  ['minimum', nb.minimum, {}, {}, null],
  ['atan2', nb.atan2, {}, { avoid: [0], margin: 0.3 }, Math.atan2],
  ['remainder', nb.remainder, { lo: 0.1, hi: 0.9 }, { lo: 1.1, hi: 2 }, (a, b) => a - b * Math.floor(a / b)],
  ['where', (a, b) => nb.where(a.gt(b.mul(0.5)), a, b), {}, {}, (a, b) => (a > 0.5 * b ? a : b)],
];
const BIN_GRADGRAD = new Set(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'where']);

for (const be of backends()) {
  describe(`gradcheck [${be}]`, () => {
    describe('unary', () => {
      for (const [name, fn, spec, ref] of UNARY) {
        test(name, () =>
          withBackend(be, () => {
            for (const specs of unarySpecs(spec)) {
              checkOp(name, fn, specs, {
                ref: ref ? (v) => ref(v) : undefined,
                gradgrad: GRADGRAD.has(name) && specs[0].shape.length !== 0,
              });
            }
          }),
        );
      }
    });

    describe('binary (broadcasting, non-contiguous)', () => {
      for (const [name, fn, sa, sb, ref] of BINARY) {
        test(name, () =>
          withBackend(be, () => {
            for (const [a, b, la, lb] of BIN_SHAPES) {
              checkOp(
                name,
                fn,
                [
                  { ...sa, shape: a, layout: la },
                  { ...sb, shape: b, layout: lb },
                ],
                { ref: ref ?? undefined, gradgrad: BIN_GRADGRAD.has(name) && a.length === 2 && b.length === 2 },
              );
            }
            // one operand a JS number
            if (name !== 'where')
              checkOp(`${name} with scalar`, (x) => fn(x, 1.7 as unknown as Tensor), [
                { ...sa, shape: [2, 3], layout: 'transposed' },
              ]);
          }),
        );
      }
    });

    describe('reductions', () => {
      const R: [string, (x: Tensor) => Tensor, Omit<InputSpec, 'shape'>?][] = [
        ['sum all', (x) => x.sum()],
        ['sum dim', (x) => x.sum(1)],
        ['sum dims keepdim', (x) => x.sum([0, 2], true)],
        ['sum negative dim', (x) => nb.sum(x, -1, true)],
        ['mean all', (x) => x.mean()],
        ['mean dims', (x) => x.mean([0, 1])],
        ['mean keepdim', (x) => x.mean(2, true)],
        ['prod all', (x) => x.prod(), { lo: 0.5, hi: 1.5 }],
        ['prod dim', (x) => x.prod(1), { lo: 0.5, hi: 1.5 }],
        ['prod keepdim', (x) => x.prod(2, true), { lo: -1.5, hi: 1.5 }],
        ['amax', (x) => x.amax([0, 2])],
        ['amin keepdim', (x) => x.amin(1, true)],
        ['max all', (x) => x.max()],
        ['max dim values', (x) => x.max(1).values],
        ['min dim keepdim values', (x) => x.min(2, true).values],
        ['var', (x) => x.var()],
        ['var dim unbiased=false', (x) => x.var(1, { unbiased: false })],
        ['var dims correction=2 keepdim', (x) => x.var([0, 2], { correction: 2, keepdim: true })],
        ['std', (x) => x.std(2), {}],
        ['std keepdim', (x) => nb.std(x, [0, 1], { keepdim: true })],
        ['logsumexp', (x) => x.logsumexp(1)],
        ['logsumexp dims keepdim', (x) => x.logsumexp([0, 2], true)],
        ['norm', (x) => x.norm()],
        ['norm p=1 dim', (x) => x.norm(1, 1), { avoid: [0] }],
        ['norm p=3 keepdim', (x) => x.norm(3, [1, 2], true), { avoid: [0] }],
        ['norm p=inf', (x) => x.norm(Infinity, 2)],
        ['norm p=-inf', (x) => x.norm(-Infinity, 2), { avoid: [0] }],
        ['cumsum', (x) => x.cumsum(1)],
        ['cumsum last', (x) => x.cumsum(-1)],
        ['cumprod', (x) => x.cumprod(2), { lo: 0.5, hi: 1.5 }],
        ['softmax', (x) => x.softmax(1)],
        ['softmax last', (x) => nb.softmax(x, -1)],
        ['logSoftmax', (x) => x.logSoftmax(0)],
        ['logSoftmax last', (x) => nb.logSoftmax(x, -1)],
      ];
      const noGG = new Set([
        'max all',
        'max dim values',
        'min dim keepdim values',
        'norm p=inf',
        'norm p=-inf',
        'amax',
        'amin keepdim',
      ]);
      for (const [name, fn, spec] of R) {
        test(name, () =>
          withBackend(be, () => {
            for (const layout of LAYOUTS) {
              checkOp(name, fn, [{ ...spec, shape: [2, 3, 4], layout }], {
                gradgrad: layout === 'transposed' && !noGG.has(name),
              });
            }
            if (!name.includes('dim') && !name.includes('last') && !/soft|cum|logsumexp|std|keep|amax/.test(name)) {
              checkOp(`${name} (size-1 dims)`, fn, [{ ...spec, shape: [1, 3, 1], layout: 'sliced' }]);
            }
          }),
        );
      }
      test('prod with one zero and with two zeros', () =>
        withBackend(be, () => {
          const x = nb.tensor(
            [
              [0, 2, 3],
              [0, 0, 4],
              [1, 2, 3],
            ],
            { dtype: 'float64', requiresGrad: true },
          );
          nb.autograd.gradcheck((t) => t.prod(1), [x]);
          nb.autograd.gradcheck((t) => t.prod(), [nb.tensor([2, 0, 3], { dtype: 'float64', requiresGrad: true })]);
        }));
      test('logsumexp and softmax at ±1e4', () =>
        withBackend(be, () => {
          const x = nb.tensor(
            [
              [1e4, 1e4 - 1, -1e4],
              [-1e4, -1e4 + 2, -1e4 + 1],
            ],
            { dtype: 'float64', requiresGrad: true },
          );
          nb.autograd.gradcheck((t) => t.logsumexp(1), [x]);
          nb.autograd.gradcheck((t) => t.softmax(1), [x]);
          nb.autograd.gradcheck((t) => t.logSoftmax(1), [x]);
        }));
    });

    describe('views and joins', () => {
      const V: [string, (x: Tensor) => Tensor | Tensor[], number[]][] = [
        ['view', (x) => x.contiguous().view(4, 3), [3, 4]],
        ['reshape', (x) => x.reshape([2, -1]), [3, 4]],
        ['permute', (x) => x.permute(2, 0, 1), [2, 3, 4]],
        ['transpose', (x) => x.transpose(0, 2), [2, 3, 4]],
        ['T', (x) => x.T, [2, 3, 4]],
        ['expand', (x) => x.expand(2, 3, 4), [3, 1]],
        ['broadcastTo', (x) => nb.broadcastTo(x, [2, 3, 4]), [1, 4]],
        ['squeeze', (x) => x.squeeze(), [3, 1, 2]],
        ['squeeze dim', (x) => x.squeeze(1), [3, 1, 2]],
        ['unsqueeze', (x) => x.unsqueeze(1), [3, 4]],
        ['flatten', (x) => x.flatten(), [2, 3, 4]],
        ['flatten range', (x) => x.flatten(1, 2), [2, 3, 4]],
        ['unflatten', (x) => x.unflatten(1, [2, 2]), [3, 4]],
        ['narrow', (x) => x.narrow(1, 1, 2), [3, 4]],
        ['slice step', (x) => x.slice(1, 0, null, 2), [3, 5]],
        ['slice negative', (x) => x.slice(0, -2), [3, 4]],
        ['select', (x) => x.select(1, -1), [3, 4]],
        ['index', (x) => x.index(1, [0, 3, 2], null, '...'), [3, 4, 2]],
        ['index tensor', (x) => x.index('...', nb.tensor([2, 0, 2], { dtype: 'int32' })), [3, 4]],
        ['split', (x) => x.split(2, 1), [3, 5]],
        ['split sizes', (x) => x.split([1, 3], 1), [3, 4]],
        ['chunk', (x) => x.chunk(2, 0), [3, 4]],
        ['unbind', (x) => x.unbind(1), [3, 4]],
        ['flip', (x) => x.flip([0, 1]), [3, 4]],
        ['repeat', (x) => x.repeat(2, 1, 2), [3, 2]],
        ['cat', (x) => nb.cat([x, x.mul(2), x.narrow(1, 0, 1)], 1), [3, 4]],
        ['stack', (x) => nb.stack([x, x.exp()], 1), [3, 4]],
        ['tril', (x) => x.tril(), [3, 4]],
        ['triu diag', (x) => nb.triu(x, 1), [2, 3, 4]],
        ['pad constant', (x) => nb.pad(x, [1, 2, 0, 1], 'constant', 0.5), [3, 4]],
        ['pad negative', (x) => nb.pad(x, [-1, 1]), [3, 4]],
        ['pad reflect', (x) => nb.pad(x, [2, 1, 1, 2], 'reflect'), [3, 4]],
        ['pad replicate', (x) => nb.pad(x, [2, 3], 'replicate'), [3, 4]],
        ['pad circular', (x) => nb.pad(x, [1, 2], 'circular'), [3, 4]],
      ];
      for (const [name, fn, shape] of V) {
        test(name, () =>
          withBackend(be, () => {
            for (const layout of LAYOUTS) checkOp(name, fn, [{ shape, layout }]);
          }),
        );
      }
      test('cat of differently laid-out inputs', () =>
        withBackend(be, () => {
          checkOp('cat', (a, b) => nb.cat([a, b], 0), [
            { shape: [2, 3], layout: 'transposed' },
            { shape: [4, 3], layout: 'sliced' },
          ]);
          checkOp('stack', (a, b) => nb.stack([a, b], -1), [
            { shape: [2, 3], layout: 'transposed' },
            { shape: [2, 3], layout: 'sliced' },
          ]);
        }));
    });

    describe('indexing', () => {
      const idx2 = () =>
        nb.tensor(
          [
            [2, 0, 1, 1],
            [0, 0, 2, 1],
          ],
          { dtype: 'int32' },
        );
      test('gather', () =>
        withBackend(be, () => {
          for (const layout of LAYOUTS) checkOp('gather', (x) => x.gather(0, idx2()), [{ shape: [3, 4], layout }]);
          checkOp(
            'gather dim 1',
            (x) =>
              nb.gather(
                x,
                1,
                nb.tensor(
                  [
                    [3, 3],
                    [0, 1],
                    [2, 0],
                  ],
                  { dtype: 'int32' },
                ),
              ),
            [{ shape: [3, 4], layout: 'transposed' }],
          );
        }));
      test('scatter (self and src)', () =>
        withBackend(be, () => {
          const i = nb.tensor(
            [
              [2, 0, 1, 1],
              [0, 1, 2, 0],
            ],
            { dtype: 'int32' },
          );
          for (const layout of LAYOUTS)
            checkOp('scatter', (x, s) => x.scatter(0, i, s), [
              { shape: [3, 4], layout },
              { shape: [2, 4], layout },
            ]);
          checkOp('scatter scalar', (x) => x.scatter(0, i, 0.5), [{ shape: [3, 4], layout: 'sliced' }]);
        }));
      test('scatter with src larger than index', () =>
        withBackend(be, () => {
          const i = nb.tensor([[1, 0]], { dtype: 'int32' });
          checkOp('scatter', (x, s) => x.scatter(1, i, s), [{ shape: [2, 3] }, { shape: [2, 4] }]);
          checkOp('scatterAdd', (x, s) => x.scatterAdd(1, i, s), [{ shape: [2, 3] }, { shape: [2, 4] }]);
        }));
      test('scatterAdd (self and src)', () =>
        withBackend(be, () => {
          const i = nb.tensor(
            [
              [2, 0, 2, 1],
              [2, 0, 2, 0],
            ],
            { dtype: 'int32' },
          );
          for (const layout of LAYOUTS)
            checkOp('scatterAdd', (x, s) => nb.scatterAdd(x, 0, i, s), [
              { shape: [3, 4], layout },
              { shape: [2, 4], layout },
            ]);
        }));
      test('indexSelect', () =>
        withBackend(be, () => {
          const i = nb.tensor([3, 0, 3, 3], { dtype: 'int32' });
          for (const layout of LAYOUTS) checkOp('indexSelect', (x) => x.indexSelect(1, i), [{ shape: [3, 4], layout }]);
        }));
      test('maskedFill and maskedSelect', () =>
        withBackend(be, () => {
          const m = nb.tensor([[true, false, false, true]]);
          for (const layout of LAYOUTS) {
            checkOp('maskedFill', (x) => x.maskedFill(m, -3), [{ shape: [3, 4], layout }]);
            checkOp('maskedSelect', (x) => x.maskedSelect(m), [{ shape: [3, 4], layout }]);
          }
        }));
      test('sort, topk values', () =>
        withBackend(be, () => {
          for (const layout of LAYOUTS) {
            checkOp('sort', (x) => x.sort(1).values, [{ shape: [3, 4], layout }]);
            checkOp('sort descending dim 0', (x) => x.sort(0, true).values, [{ shape: [3, 4], layout }]);
            checkOp('topk', (x) => x.topk(2).values, [{ shape: [3, 4], layout }]);
            checkOp('topk smallest', (x) => x.topk(2, 0, false).values, [{ shape: [3, 4], layout }]);
          }
        }));
    });

    describe('matmul', () => {
      const MM: [string, Bin, number[], number[]][] = [
        ['matmul 1-D @ 1-D', nb.matmul, [4], [4]],
        ['matmul 1-D @ 2-D', nb.matmul, [3], [3, 4]],
        ['matmul 2-D @ 1-D', nb.matmul, [3, 4], [4]],
        ['matmul 2-D', nb.matmul, [3, 4], [4, 2]],
        ['matmul batched', nb.matmul, [2, 3, 4], [2, 4, 2]],
        ['matmul batch broadcast', nb.matmul, [2, 1, 3, 4], [3, 4, 2]],
        ['matmul 2-D @ batched', nb.matmul, [3, 4], [2, 4, 2]],
        ['matmul 1-D @ batched', nb.matmul, [4], [2, 4, 3]],
        ['matmul batched @ 1-D', nb.matmul, [2, 3, 4], [4]],
        ['mm', nb.mm, [3, 4], [4, 2]],
        ['bmm', nb.bmm, [2, 3, 4], [2, 4, 2]],
        ['mv', nb.mv, [3, 4], [4]],
        ['dot', nb.dot, [5], [5]],
        ['outer', nb.outer, [3], [4]],
      ];
      for (const [name, fn, a, b] of MM) {
        test(name, () =>
          withBackend(be, () => {
            for (const layout of LAYOUTS) {
              checkOp(
                name,
                fn,
                [
                  { shape: a, layout },
                  { shape: b, layout: layout === 'transposed' ? 'sliced' : 'transposed' },
                ],
                { gradgrad: layout !== 'sliced' },
              );
            }
          }),
        );
      }
      test('addmm', () =>
        withBackend(be, () => {
          checkOp(
            'addmm',
            (c, a, b) => nb.addmm(c, a, b),
            [{ shape: [2] }, { shape: [3, 4], layout: 'transposed' }, { shape: [4, 2] }],
            { gradgrad: true },
          );
        }));
    });

    describe('random shapes (seeded): broadcasting, size-1 dims, random layouts', () => {
      const gen = new Generator(2024);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(gen.random() * xs.length)];
      const randShape = (): number[] => Array.from({ length: 1 + Math.floor(gen.random() * 3) }, () => pick([1, 2, 3]));
      /** b's shape: a suffix of a's with some dims set to 1, so that the two broadcast. */
      const broadcastPartner = (a: number[]): number[] =>
        a.slice(Math.floor(gen.random() * a.length)).map((d) => (gen.random() < 0.4 ? 1 : d));
      const layouts: LayoutKind[] = ['contiguous', 'transposed', 'sliced'];
      const trials = Array.from({ length: 12 }, () => {
        const a = randShape(),
          b = broadcastPartner(a);
        return {
          a,
          b,
          la: pick(layouts),
          lb: pick(layouts),
          swap: gen.random() < 0.5,
          dim: Math.floor(gen.random() * a.length),
        };
      });
      const bins: [string, Bin, Omit<InputSpec, 'shape'>][] = [
        ['add', nb.add, {}],
        ['mul', nb.mul, {}],
        ['div', nb.div, { avoid: [0], margin: 0.4 }],
        ['maximum', nb.maximum, {}],
        ['pow', (x, y) => x.abs().add(0.5).pow(y), {}],
        ['where', (x, y) => nb.where(x.gt(0), x, y), {}],
      ];
      for (const [name, fn, spec] of bins) {
        test(name, () =>
          withBackend(be, () => {
            for (const { a, b, la, lb, swap } of trials) {
              const specs: InputSpec[] = [
                { ...spec, shape: a, layout: la },
                { ...spec, shape: b, layout: lb },
              ];
              checkOp(name, fn, swap ? specs.reverse() : specs);
            }
          }),
        );
      }
      const reds: [string, (x: Tensor, d: number) => Tensor][] = [
        ['sum keepdim', (x, d) => x.sum(d, true)],
        ['mean', (x, d) => x.mean(d)],
        ['var', (x, d) => x.var(d, { unbiased: false })],
        ['logsumexp', (x, d) => x.logsumexp(d)],
        ['softmax', (x, d) => x.softmax(d)],
        ['cumsum', (x, d) => x.cumsum(d)],
        ['amax', (x, d) => x.amax(d)],
        ['prod', (x, d) => x.prod(d)],
        ['norm', (x, d) => x.norm(2, d, true)],
      ];
      for (const [name, fn] of reds) {
        test(name, () =>
          withBackend(be, () => {
            for (const { a, la, dim } of trials)
              checkOp(`${name}(dim ${dim})`, (x) => fn(x, dim), [{ shape: a, layout: la, lo: 0.3, hi: 2 }]);
          }),
        );
      }
      test('matmul with random batch broadcasting', () =>
        withBackend(be, () => {
          const g2 = new Generator(7);
          for (const { a, la, lb } of trials) {
            const [M, K, N] = [
              1 + Math.floor(g2.random() * 3),
              1 + Math.floor(g2.random() * 4),
              1 + Math.floor(g2.random() * 3),
            ];
            const ba = a.slice(0, 2),
              bb = ba.slice(Math.floor(g2.random() * (ba.length + 1))).map((d) => (g2.random() < 0.4 ? 1 : d));
            checkOp('matmul', nb.matmul, [
              { shape: [...ba, M, K], layout: la },
              { shape: [...bb, K, N], layout: lb },
            ]);
          }
        }));
    });

    test('double backward through the backward of views and indexing ops (op(x)^2)', () =>
      withBackend(be, () => {
        const i2 = nb.tensor(
          [
            [2, 0, 1, 1],
            [0, 0, 2, 1],
          ],
          { dtype: 'int32' },
        );
        const ops: [string, (x: Tensor) => Tensor][] = [
          ['gather', (x) => x.gather(0, i2)],
          ['indexSelect', (x) => x.indexSelect(1, nb.tensor([3, 0, 3], { dtype: 'int32' }))],
          ['scatterAdd src', (x) => nb.zeros([3, 4], { dtype: 'float64' }).scatterAdd(0, i2, x.narrow(0, 0, 2))],
          ['slice step', (x) => x.slice(1, 1, null, 2)],
          ['select', (x) => x.select(0, 1)],
          ['expand', (x) => x.unsqueeze(0).expand(2, 3, 4)],
          ['permute', (x) => x.permute(1, 0)],
          ['flip', (x) => x.flip([1])],
          ['pad reflect', (x) => nb.pad(x, [2, 1], 'reflect')],
          ['cat', (x) => nb.cat([x, x.narrow(1, 1, 2)], 1)],
          ['sort values', (x) => x.sort(1).values],
          ['maskedSelect', (x) => x.maskedSelect(x.gt(0))],
          ['cumsum', (x) => x.cumsum(1)],
          ['where', (x) => nb.where(x.gt(0), x, x.mul(-2))],
          ['repeat', (x) => x.repeat(2, 1)],
        ];
        for (const [name, op] of ops) {
          checkOp(name, (x) => op(x).square(), [{ shape: [3, 4], layout: 'transposed' }], { gradgrad: true });
        }
      }));

    test('a composite (MLP-like) expression', () =>
      withBackend(be, () => {
        checkOp(
          'mlp',
          (x, w1, b1, w2) => nb.gelu(x.matmul(w1.t()).add(b1)).matmul(w2).logSoftmax(-1).mean(),
          [
            { shape: [4, 3] },
            { shape: [5, 3], layout: 'transposed' },
            { shape: [5] },
            { shape: [5, 2], layout: 'sliced' },
          ],
          { gradgrad: true },
        );
      }));
  });
}

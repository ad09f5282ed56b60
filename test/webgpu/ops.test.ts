// The op suite on the WebGPU backend, in headless Chromium with SwiftShader: every kernel the
// backend has, at parity with the JS backend (odd sizes, non-contiguous views, broadcasting), forward
// and backward. One browser for the file; skips with the reason when chromium or the adapter is absent.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Harness, openWebGPUPage } from './harness.js';
import { type ParityCase, runParity } from './page_parity.js';

let h: Harness;
before(async () => {
  h = await openWebGPUPage();
});
after(async () => {
  await h?.close();
});

const R = (...shape: number[]) => ({ shape });
const P = (...shape: number[]) => ({ shape, kind: 'pos' });
const I = (...shape: number[]) => ({ shape, kind: 'int' });
const Bo = (...shape: number[]) => ({ shape, kind: 'bool' });

const UNARY = ['exp', 'tanh', 'sigmoid', 'relu', 'gelu', 'silu', 'abs', 'neg', 'erf', 'square', 'sign'];
const UNARY_POS = ['log', 'sqrt', 'rsqrt', 'reciprocal', 'log1p', 'expm1'];

const elementwise: ParityCase[] = [
  ...UNARY.map((op) => ({ name: op, inputs: [R(5, 37)], body: `return xs[0].${op}()` })),
  ...UNARY_POS.map((op) => ({ name: op, inputs: [P(3, 41)], body: `return xs[0].${op}()` })),
  // NOTE: WGSL allows sin/cos an absolute error of 2^-11 (SwiftShader uses it)
  { name: 'sin, cos', inputs: [R(5, 37)], body: 'return [xs[0].sin(), xs[0].cos()]', tol: 1e-3 },
  { name: 'gelu tanh', inputs: [R(77)], body: "return xs[0].gelu('tanh')" },
  { name: 'clamp', inputs: [R(9, 9)], body: 'return xs[0].clamp(-0.5, 0.7)' },
  { name: 'pow scalar (negative base)', inputs: [R(50)], body: 'return [xs[0].pow(3), xs[0].pow(2)]' },
  {
    name: 'leakyRelu, elu, softplus',
    inputs: [R(64)],
    body: `const F = nb.nn.functional;
      return [F.leakyRelu(xs[0], 0.1), F.elu(xs[0]), F.softplus(xs[0])]`,
  },
  { name: 'add broadcast (3,1,5)+(4,1)', inputs: [R(3, 1, 5), R(4, 1)], body: 'return xs[0].add(xs[1])' },
  {
    name: 'sub, mul, div with scalars',
    inputs: [R(6, 7)],
    body: 'return [xs[0].sub(2.5), xs[0].mul(-3), xs[0].div(0.25), nb.tensor(2).sub(xs[0])]',
  },
  {
    name: 'pow, maximum, minimum',
    inputs: [P(4, 9), R(9)],
    body: 'return [xs[0].pow(xs[1]), xs[0].maximum(xs[1]), xs[0].minimum(xs[1])]',
  },
  {
    name: 'comparisons to bool',
    inputs: [R(5, 6), R(6)],
    body: 'return [xs[0].lt(xs[1]), xs[0].ge(0), xs[0].eq(xs[0]), xs[0].ne(xs[1])]',
  },
  {
    name: 'int32 arithmetic',
    inputs: [I(7, 8), I(8)],
    body: `return [xs[0].add(xs[1]), xs[0].mul(xs[1]), xs[0].sub(3), xs[0].floorDivide(3),
      xs[0].remainder(4), xs[0].sub(5).remainder(3)]`,
  },
  {
    name: 'bool logic',
    inputs: [Bo(33), Bo(33)],
    body: 'return [xs[0].logicalAnd(xs[1]), xs[0].logicalOr(xs[1]), xs[0].logicalXor(xs[1]), xs[0].logicalNot()]',
  },
  { name: 'where', inputs: [Bo(4, 5), R(4, 5), R(5)], body: 'return xs[1].where(xs[0], xs[2])' },
  {
    name: 'casts',
    inputs: [R(40)],
    body: "return [xs[0].mul(4).to('int32'), xs[0].gt(0).to('float32'), xs[0].to('bool'), xs[0].gt(0).to('int32')]",
  },
  { name: 'transposed view', inputs: [R(13, 7)], body: 'return xs[0].T.contiguous().add(xs[0].T)' },
  {
    name: 'stepped slice and expand',
    inputs: [R(10, 12)],
    body: 'return [xs[0].slice(1, 1, 11, 3).exp(), xs[0].slice(0, 0, 1).expand([5, 12]).mul(2)]',
  },
  {
    name: 'permute 4-D',
    inputs: [R(2, 3, 4, 5)],
    body: 'return xs[0].permute(2, 0, 3, 1).mul(xs[0].permute(2, 0, 3, 1))',
  },
  {
    name: 'copy_ into a view, fill_',
    inputs: [R(6, 6), R(6)],
    body: 'const a = xs[0].clone(); a.select(1, 2).copy_(xs[1]); const b = xs[0].clone(); b.fill_(3); return [a, b]',
  },
  {
    name: 'cat and stack',
    inputs: [R(3, 4), R(2, 4)],
    body: 'return [nb.cat([xs[0], xs[1]], 0), nb.stack([xs[0], xs[0].neg()], 1)]',
  },
];

const reductions: ParityCase[] = [
  { name: 'sum all (large)', inputs: [R(1000, 37)], body: 'return [xs[0].sum(), xs[0].mean()]', tol: 1e-3 },
  {
    name: 'sum over dims, keepdim',
    inputs: [R(4, 5, 6)],
    body: 'return [xs[0].sum(1), xs[0].sum([0, 2], true), xs[0].mean(-1)]',
  },
  { name: 'sum of a transposed view', inputs: [R(17, 9)], body: 'return xs[0].T.sum(1)' },
  { name: 'amax, amin, prod', inputs: [R(6, 11)], body: 'return [xs[0].amax(1), xs[0].amin(0), xs[0].prod(1)]' },
  {
    name: 'max/min with indices',
    inputs: [R(7, 13)],
    body: 'const a = xs[0].max(1); const b = xs[0].min(0); return [a.values, a.indices, b.values, b.indices]',
  },
  { name: 'argmax all, argmin dim', inputs: [R(5, 8)], body: 'return [xs[0].argmax(), xs[0].argmin(1)]' },
  {
    name: 'int32 sum, bool any/all',
    inputs: [I(6, 7), Bo(6, 7)],
    body: 'return [xs[0].sum(1), xs[1].any(1), xs[1].all(0), xs[1].sum()]',
  },
  {
    name: 'softmax, logSoftmax',
    inputs: [R(6, 300)],
    body: 'return [xs[0].softmax(-1), xs[0].logSoftmax(1), xs[0].softmax(0)]',
  },
  { name: 'var, std, logsumexp', inputs: [R(5, 9)], body: 'return [xs[0].var(1), xs[0].std(), xs[0].logsumexp(1)]' },
];

const matmuls: ParityCase[] = [
  {
    name: 'matmul odd sizes 67x45 @ 45x33',
    inputs: [R(67, 45), R(45, 33)],
    body: 'return xs[0].matmul(xs[1])',
    tol: 1e-4,
  },
  // products of 2^20 multiply-adds or more take the vec4 loads
  {
    name: 'matmul vec4 loads 128x128 @ 128x96',
    inputs: [R(128, 128), R(128, 96)],
    body: 'return xs[0].matmul(xs[1])',
    tol: 1e-3,
  },
  {
    name: 'matmul a @ b^T (vec4 along K)',
    inputs: [R(130, 64), R(130, 64)],
    body: 'return xs[0].matmul(xs[1].T)',
    tol: 1e-3,
  },
  { name: 'matmul a @ b^T (small)', inputs: [R(70, 32), R(50, 32)], body: 'return xs[0].matmul(xs[1].T)' },
  { name: 'matmul a^T @ b (strided a)', inputs: [R(20, 30), R(20, 9)], body: 'return xs[0].T.matmul(xs[1])' },
  { name: 'batched matmul with broadcast', inputs: [R(3, 1, 10, 7), R(4, 7, 5)], body: 'return xs[0].matmul(xs[1])' },
  {
    name: 'matmul vector cases',
    inputs: [R(9), R(9, 4), R(4)],
    body: 'return [xs[0].matmul(xs[1]), xs[1].matmul(xs[2]), xs[0].dot(xs[0])]',
  },
  {
    name: 'matmul 130x257 @ 257x129',
    inputs: [R(130, 257), R(257, 129)],
    body: 'return xs[0].matmul(xs[1])',
    tol: 1e-3,
  },
];

const indexing: ParityCase[] = [
  {
    name: 'gather dim 1',
    inputs: [R(5, 7), { shape: [5, 3], kind: 'idx:7' }],
    body: 'return xs[0].gather(1, xs[1])',
    cpu: [1],
  },
  {
    name: 'indexSelect dim 0 and 1',
    inputs: [R(6, 8), { shape: [10], kind: 'idx:6' }],
    body: 'return [xs[0].indexSelect(0, xs[1]), xs[0].T.indexSelect(1, xs[1])]',
    cpu: [1],
  },
  {
    name: 'scatterAdd with duplicates',
    inputs: [R(4, 6), { shape: [3, 6], kind: 'idx:4' }, R(3, 6)],
    body: 'return xs[0].scatterAdd(0, xs[1], xs[2])',
    cpu: [1],
  },
  {
    name: 'gather with indices on the GPU',
    inputs: [R(5, 7), { shape: [5, 3], kind: 'idx:7' }],
    body: 'return xs[0].gather(1, xs[1])',
  },
  {
    name: 'embedding forward and backward',
    inputs: [R(11, 6), { shape: [3, 5], kind: 'idx:11' }],
    body: `const w = xs[0].clone().requiresGrad_();
        const y = nb.nn.functional.embedding(xs[1], w);
        y.mul(y).sum().backward();
        return [y, w.grad]`,
    cpu: [1],
  },
];

const convs: ParityCase[] = [
  {
    name: 'conv2d 3x3 pad 1, and its grads',
    inputs: [R(2, 3, 9, 7), R(5, 3, 3, 3), R(5)],
    body: `const [x, w, b] = xs.map((t) => t.clone().requiresGrad_());
      const y = nb.nn.functional.conv2d(x, w, b, 1, 1);
      y.mul(y).sum().backward();
      return [y, x.grad, w.grad, b.grad]`,
    tol: 1e-3,
  },
  {
    name: 'conv2d stride 2, dilation 2, groups 2, and its grads',
    inputs: [R(3, 4, 11, 10), R(6, 2, 3, 2)],
    body: `const [x, w] = xs.map((t) => t.clone().requiresGrad_());
      const y = nb.nn.functional.conv2d(x, w, null, 2, [2, 1], 2, 2);
      y.mul(y).sum().backward();
      return [y, x.grad, w.grad]`,
    tol: 1e-3,
  },
  {
    name: 'maxPool2d and its grad, avgPool2d',
    inputs: [R(2, 3, 9, 8)],
    body: `const x = xs[0].clone().requiresGrad_();
      const y = nb.nn.functional.maxPool2d(x, 3, 2, 1);
      y.mul(y).sum().backward();
      return [y, x.grad, nb.nn.functional.avgPool2d(xs[0], 2, 2),
        nb.nn.functional.avgPool2d(xs[0], 3, 2, 1, false, false)]`,
  },
];

const grads: ParityCase[] = [
  {
    name: 'mlp forward and backward',
    inputs: [R(8, 13), R(13, 21), R(21), R(21, 4)],
    body: `const [x, w1, b1, w2] = xs.map((t) => t.clone().requiresGrad_());
        const y = x.matmul(w1).add(b1).relu().matmul(w2).tanh();
        y.sum().backward();
        return [y, x.grad, w1.grad, b1.grad, w2.grad]`,
  },
  {
    name: 'crossEntropy forward and backward',
    inputs: [R(6, 10), { shape: [6], kind: 'idx:10' }],
    body: `const x = xs[0].clone().requiresGrad_();
        const l = nb.nn.functional.crossEntropy(x, xs[1]);
        l.backward();
        return [l, x.grad]`,
    cpu: [1],
  },
  {
    name: 'layerNorm (composite on the GPU) and its grads',
    inputs: [R(4, 3, 16), R(16), R(16)],
    body: `const [x, w, b] = xs.map((t) => t.clone().requiresGrad_());
        const y = nb.nn.functional.layerNorm(x, [16], w, b);
        y.mul(y).sum().backward();
        return [y, x.grad, w.grad, b.grad]`,
    tol: 1e-3,
  },
  {
    name: 'softmax and slice backward',
    inputs: [R(5, 12)],
    body: `const x = xs[0].clone().requiresGrad_();
        const y = x.slice(1, 2, 10, 2).softmax(1);
        y.mul(y).sum().backward();
        return [y, x.grad]`,
  },
  {
    name: 'broadcast add backward (sumTo)',
    inputs: [R(4, 6), R(6)],
    body: `const [a, b] = xs.map((t) => t.clone().requiresGrad_());
        const y = a.add(b).mul(a);
        y.sum().backward();
        return [a.grad, b.grad]`,
  },
  {
    name: 'scaled dot-product attention',
    inputs: [R(2, 2, 5, 8), R(2, 2, 5, 8), R(2, 2, 5, 8)],
    body: `const [q, k, v] = xs.map((t) => t.clone().requiresGrad_());
        const y = nb.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true });
        y.sum().backward();
        return [y, q.grad, k.grad, v.grad]`,
    tol: 1e-3,
  },
];

const scans: ParityCase[] = [
  {
    name: 'cumsum, cumprod (odd sizes, both dims, a transposed view) and the cumsum grad',
    inputs: [R(7, 33), P(5, 9)],
    body: `const x = xs[0].clone().requiresGrad_();
      const y = x.cumsum(1);
      y.mul(y).sum().backward();
      return [y, x.grad, xs[0].cumsum(0), xs[0].T.cumsum(1), xs[1].cumprod(1), xs[1].T.cumprod(0)]`,
    tol: 1e-3,
  },
  {
    name: 'int32 and bool cumsum',
    inputs: [I(4, 19), Bo(3, 10)],
    body: 'return [xs[0].cumsum(1), xs[0].cumsum(0), xs[1].cumsum(1)]',
  },
  {
    name: 'sort with ties, both orders, a strided view; argsort, topk',
    inputs: [I(6, 37), R(29, 5)],
    body: `const t = xs[0].to('float32');
      const a = t.sort(1), d = t.sort(1, true), v = xs[1].T.sort(1), c = xs[1].sort(0, true);
      return [a.values, a.indices, d.values, d.indices, v.values, v.indices, c.values, c.indices,
        xs[0].argsort(1), xs[1].topk(3, 0).values, xs[1].topk(3, 0).indices]`,
  },
  {
    name: 'sort with NaN (the largest) and int32 values',
    inputs: [R(4, 23), I(3, 17)],
    body: `const t = xs[0].maskedFill(xs[0].gt(0.6), Number.NaN);
      const a = t.sort(1), d = t.sort(1, true), i = xs[1].sort(1, true);
      return [a.values, a.indices, d.values, d.indices, i.values, i.indices]`,
  },
];

const pools: ParityCase[] = [
  {
    name: 'avgPool2d backward: padding, ceil mode, countIncludePad false, a strided input',
    inputs: [R(2, 3, 9, 11)],
    body: `const F = nb.nn.functional;
      const out = [];
      const cfgs = [[2, 2, 0, false, true], [3, 2, 1, true, false], [3, 2, 1, false, true], [2, 3, 1, true, true]];
      for (const [k, s, p, ceil, cip] of cfgs) {
        const x = xs[0].clone().requiresGrad_();
        const y = F.avgPool2d(x.transpose(2, 3), k, s, p, ceil, cip);
        y.mul(y).sum().backward();
        out.push(y, x.grad);
      }
      return out`,
  },
  {
    name: 'adaptiveAvgPool2d and its grad',
    inputs: [R(2, 4, 7, 5)],
    body: `const x = xs[0].clone().requiresGrad_();
      const y = nb.nn.functional.adaptiveAvgPool2d(x, [3, 2]);
      y.mul(y).sum().backward();
      const F = nb.nn.functional;
      return [y, x.grad, F.interpolate(xs[0], { size: [11, 4], mode: 'bilinear' }),
        F.interpolate(xs[0], { scaleFactor: 2 })]`,
  },
];

// the flash kernel: several key tiles (T > 16), head sizes below, at and between multiples of 16,
// q/k/v as strided views of a (B, T, H, D) projection, causal and not; the backward recomputes
const attn = (B: number, T: number, H: number, D: number, causal: boolean): ParityCase => ({
  name: `flash attention B${B} T${T} H${H} D${D}${causal ? ' causal' : ''}, and its grads`,
  inputs: [R(B, T, 3 * H * D)],
  body: `const x = xs[0].clone().requiresGrad_();
    const [q, k, v] = x.reshape([${B}, ${T}, 3, ${H}, ${D}]).permute(2, 0, 3, 1, 4).unbind(0);
    const y = nb.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: ${causal} });
    // on the GPU the fused kernel made y (the composite path records MatmulBackward)
    if (y.device === 'webgpu' && y.gradFn.name !== 'NativeAttentionBackward') throw new Error(y.gradFn.name);
    y.mul(y).sum().backward();
    return [y, x.grad]`,
  tol: 1e-3,
});
// decoding over a KV cache (attentionKv: the same kernel, queries at the cache's end): a prompt of 18
// (two query tiles), then single tokens; GPT-2 (one key head per query head) and a GQA Llama
const decode = (model: string, config: string): ParityCase => ({
  name: `${model} decoding with a KV cache`,
  inputs: [R(1)],
  body: `nb.manualSeed(3);
    const m = new nb.models.${model}(new nb.models.${model.replace(/LMHeadModel|ForCausalLM/, '')}Config(${config}));
    m.eval();
    if (xs[0].device === 'webgpu') m.to('webgpu');
    const cache = m.createCache(1, 30);
    const ids = (a) => nb.tensor([a], { dtype: 'int32' });
    const prompt = ids([...Array(18).keys()].map((i) => i + 1));
    const out = [nb.noGrad(() => m.forward(prompt, { cache }))];
    for (const t of [5, 9, 22]) out.push(nb.noGrad(() => m.forward(ids([t]), { cache })));
    return out`,
});
const attention: ParityCase[] = [
  decode('GPT2LMHeadModel', '{ vocabSize: 50, nEmbd: 32, nLayer: 2, nHead: 2, nPositions: 40 }'),
  decode(
    'LlamaForCausalLM',
    '{ vocabSize: 50, hiddenSize: 32, intermediateSize: 40, numHiddenLayers: 2, numAttentionHeads: 4, ' +
      'numKeyValueHeads: 2, maxPositionEmbeddings: 40 }',
  ),
  attn(2, 37, 3, 8, true),
  attn(1, 33, 2, 20, false),
  attn(1, 17, 2, 64, true),
  attn(2, 5, 1, 16, false),
];

function suite(name: string, cases: ParityCase[]): void {
  test(`webgpu parity: ${name}`, async (t) => {
    if (!h.page) return t.skip(h.skip ?? 'no page');
    const res = await h.page.evaluate(runParity, cases);
    const bad = res.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
    assert.equal(res.length, cases.length);
    assert.deepEqual(bad, []);
  });
}

suite('elementwise', elementwise);
suite('reductions', reductions);
suite('matmul', matmuls);

// the GEMM has a subgroup variant, taken where the adapter has subgroups (SwiftShader in Chromium 156
// reports them, with 4 lanes): the suite above ran it there; this runs the workgroup-memory variant
test('webgpu parity: matmul without subgroups (and with them, where the adapter has them)', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const on = (await h.page.evaluate('globalThis.nb.webgpuSubgroups()')) as boolean;
  const sg = (h.report as { subgroups?: boolean }).subgroups;
  console.log(`adapter subgroups: ${sg}; the matmul suite ran with subgroups ${on ? 'on' : 'off'}`);
  assert.equal(on, !!sg);
  assert.equal(await h.page.evaluate('globalThis.nb.webgpuSubgroups(false)'), false);
  try {
    const res = await h.page.evaluate(runParity, matmuls);
    assert.deepEqual(
      res.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`),
      [],
    );
  } finally {
    await h.page.evaluate('globalThis.nb.webgpuSubgroups(true)');
  }
});
suite('indexing', indexing);
suite('conv and pooling', convs);
suite('gradients', grads);
suite('cumulative and sort', scans);
suite('pooling backward', pools);
suite('flash attention', attention);

/** Runs in the page: each bad input's error message (or 'no error'), the device loss last. */
async function badInputs(): Promise<Record<string, string>> {
  const nb = (globalThis as any).nb;
  const out: Record<string, string> = {};
  const msg = async (name: string, f: () => unknown) => {
    try {
      await f();
      out[name] = 'no error';
    } catch (e) {
      out[name] = (e as Error).message;
    }
  };
  const g = nb
    .tensor([
      [1, 2],
      [3, 4],
    ])
    .to('webgpu');
  await msg('mixed', () =>
    g.add(
      nb.tensor([
        [1, 2],
        [3, 4],
      ]),
    ),
  );
  await msg('toArray', () => g.toArray());
  await msg('item', () => g.sum().item());
  await msg('data', () => g.data);
  await msg('float64', () => nb.zeros([2], { dtype: 'float64' }).to('webgpu'));
  await msg('float16', () => nb.zeros([2], { dtype: 'float16' }).to('webgpu'));
  await msg('cast on the gpu', () => g.to('bfloat16'));
  await msg('cast to float64', () => g.to('float64'));
  await msg('int8 on the GPU', () => {
    const q = nb.quantization.quantizeDynamic(new nb.nn.Sequential(new nb.nn.Linear(2, 3)));
    return nb.noGrad(() => q.forward(g));
  });
  await msg('gpu index out of range', () =>
    g
      .gather(
        1,
        nb
          .tensor(
            [
              [0, 5],
              [1, 0],
            ],
            { dtype: 'int32' },
          )
          .to('webgpu'),
      )
      .dataAsync(),
  );
  await msg('after the index error', () => g.add(1).dataAsync());
  await msg('too large', () =>
    nb
      .zeros([1])
      .to('webgpu')
      .expand([2 ** 29])
      .contiguous(),
  );
  await msg('scalar operand', () => g.mul(nb.tensor(2)).dataAsync());
  nb.releaseWebGPU();
  await new Promise((r) => setTimeout(r, 50));
  await msg('after device loss', () => g.add(1));
  const again = await nb.initWebGPU();
  out.reinit = String(again.available);
  await msg('new device works', async () => {
    const v = await nb.tensor([1, 2]).to('webgpu').mul(3).dataAsync();
    if (v[1] !== 6) throw new Error(`got ${v}`);
  });
  return out;
}

// NOTE: last in the file: it destroys the page's device (and starts a new one)
test('webgpu bad input: clear errors, and a lost device fails later ops without a crash', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const r = await h.page.evaluate(badInputs, null);
  if (process.env.NABLA_WEBGPU_VERBOSE) console.log(r);
  const has = (k: string, ...parts: string[]) => {
    for (const p of parts) assert.ok(r[k].includes(p), `${k}: ${r[k]} (expected to mention ${p})`);
  };
  has('mixed', 'Expected all tensors to be on the same device, but found at least two devices, webgpu and cpu');
  has('toArray', 'toTypedArray', 'webgpu', 'await t.dataAsync()');
  has('item', 'item', 'await t.dataAsync()');
  has('data', 'data', '[2, 2]', 'await t.dataAsync()');
  has('float64', 'float64 is not supported on the GPU', 'float32');
  has('float16', 'float16 is not supported on the GPU', 'keeps float16', 'float32');
  has('cast on the gpu', 'to: casting float32 to bfloat16 runs on the CPU only', 'toAsync("cpu")');
  has('cast to float64', 'copy kernel', 'float32 -> float64', '[2, 2]', 'no float64');
  has('int8 on the GPU', 'linearInt8Dynamic', 'CPU only', '[2, 2]', 'webgpu', 'toAsync("cpu")');
  has('gpu index out of range', 'out of range', 'gather');
  assert.equal(r['after the index error'], 'no error');
  has('too large', 'out of memory', '2048.0 MiB', 'held:', 'idle in the pool', 'copy kernel', '[536870912]');
  assert.equal(r['scalar operand'], 'no error');
  has('after device loss', 'device was lost', 'destroyed');
  assert.equal(r.reinit, 'true');
  assert.equal(r['new device works'], 'no error');
});

// The layers hold. From the bottom up:
//   util < tensor < autograd < backend seam (backend.ts, op_codes.ts, registry.ts; selection:
//   native_init.ts, select.ts) < ops < nn < optim, data, io, text < keras, models, vision < cli
//   < entries (index.ts, internals.ts).
// A file imports its own layer or lower ones. src/backend/js and src/backend/native are imported
// only by the backend registry and selection; above ops the backend is reached through ops (or the
// public controls in backend/select.ts). Helpers every layer needs live in src/util (no imports)
// or src/tensor (layout arithmetic). The few upward imports that are the design are listed below
// with their reason. The rules themselves are in test/helpers/import_graph.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Exception,
  type ImportEdge,
  checkLayers,
  formatViolations,
  importsOf,
  readImportGraph,
  resolveSpec,
  srcDirFrom,
} from './helpers/import_graph.js';

const EXCEPTIONS: Exception[] = [
  { from: 'tensor/tensor.ts', to: 'ops/*', why: 'Tensor methods are thin forwards to ops (the PyTorch method API)' },
  { from: 'tensor/tensor.ts', to: 'autograd/node.ts', why: 'a tensor holds its grad node (gradFn, AccumulateGrad)' },
  { from: 'tensor/tensor.ts', to: 'autograd/backward.ts', why: 'tensor.backward() starts the backward pass' },
  { from: 'autograd/backward.ts', to: 'ops/binary.ts', why: 'gradients accumulate with add, a differentiable op' },
  { from: 'autograd/grad.ts', to: 'ops/unary.ts', why: 'grad() seeds the outputs with ones of their shape' },
  { from: 'optim/adam.ts', to: 'backend/registry.ts', why: 'the fused Adam step writes parameter storages in place' },
  { from: 'text/tokenizer.ts', to: 'io/atomic.ts', why: 'tokenizer files are written atomically, as checkpoints are' },
  { from: 'optim/sgd.ts', to: 'backend/registry.ts', why: 'the fused SGD step writes parameter storages in place' },
];

const edge = (from: string, to: string): ImportEdge => ({ from, to, typeOnly: false, dynamic: false });

test('src/ keeps its layers', () => {
  const edges = readImportGraph(srcDirFrom(import.meta.url));
  assert.ok(edges.length > 300, `only ${edges.length} imports found under src/: is the path right?`);
  const vs = checkLayers(edges, EXCEPTIONS);
  assert.equal(vs.length, 0, `${vs.length} layering violation(s):\n${formatViolations(vs)}`);
});

test('the checker reports each rule on a synthetic graph, naming both files and the rule', () => {
  const bad = [
    edge('tensor/tensor.ts', 'nn/module.ts'),
    edge('ops/conv.ts', 'backend/js/conv.ts'),
    edge('autograd/gradcheck.ts', 'backend/js/strided.ts'),
    edge('models/gpt2.ts', 'backend/native/index.ts'),
    edge('backend/native/index.ts', 'backend/js/conv.ts'),
    edge('nn/fusion.ts', 'backend/backend.ts'),
    edge('models/gpt2.ts', 'backend/op_codes.ts'),
    edge('data/dataset.ts', 'io/tensors.ts'),
    edge('ops/conv.ts', 'nn/conv.ts'),
    edge('tensor/layout.ts', 'ops/util.ts'),
    edge('weird/x.ts', 'tensor/tensor.ts'),
    edge('helpers.ts', 'nn/index.ts'),
    edge('io/x.ts', '../test/helpers/assert.ts'),
  ];
  const vs = checkLayers(bad, EXCEPTIONS);
  // every bad edge is reported once; the unused exceptions are reported too
  for (const b of bad) {
    const hits = vs.filter((v) => v.from === b.from && v.to === b.to);
    assert.equal(hits.length, 1, `${b.from} -> ${b.to}: ${JSON.stringify(hits)}`);
  }
  const rule = (from: string, to: string) => vs.find((v) => v.from === from && v.to === to)!.rule;
  assert.match(rule('tensor/tensor.ts', 'nn/module.ts'), /layer order: tensor .* must not import nn/);
  assert.match(rule('ops/conv.ts', 'backend/js/conv.ts'), /backend\/js is imported only by the backend registry/);
  assert.match(rule('backend/native/index.ts', 'backend/js/conv.ts'), /backend\/js is imported only/);
  assert.match(rule('models/gpt2.ts', 'backend/native/index.ts'), /backend\/native is imported only/);
  assert.match(rule('nn/fusion.ts', 'backend/backend.ts'), /above ops, the backend seam/);
  assert.match(rule('models/gpt2.ts', 'backend/op_codes.ts'), /above ops, the backend seam/);
  assert.match(rule('data/dataset.ts', 'io/tensors.ts'), /data \(rank 6\) must not import io \(rank 6\)/);
  assert.match(rule('weird/x.ts', 'tensor/tensor.ts'), /'weird\/x.ts' is in no layer/);
  assert.match(rule('io/x.ts', '../test/helpers/assert.ts'), /is in no layer/);
  assert.match(rule('helpers.ts', 'nn/index.ts'), /'helpers.ts' is in no layer/);
  assert.equal(vs.filter((v) => /exception no longer used/.test(v.rule)).length, EXCEPTIONS.length);
  assert.match(formatViolations(vs), /src\/ops\/conv.ts imports src\/backend\/js\/conv.ts: /);

  const good = [
    edge('nn/linear.ts', 'ops/matmul.ts'),
    edge('ops/util.ts', 'backend/registry.ts'),
    edge('backend/registry.ts', 'backend/js/index.ts'),
    edge('backend/native_init.ts', 'backend/native/index.ts'),
    edge('backend/js/conv.ts', 'util/window.ts'),
    edge('cli/main.ts', 'backend/select.ts'),
    edge('index.ts', 'nn/index.ts'),
    edge('internals.ts', 'backend/registry.ts'),
    edge('models/train_gpt.ts', 'optim/adam.ts'),
    edge('tensor/tensor.ts', 'ops/binary.ts'),
  ];
  const ok = checkLayers(good, EXCEPTIONS).filter((v) => !/exception no longer used/.test(v.rule));
  assert.deepEqual(ok, []);
});

test('imports come from the syntax (static, type, export-from, side-effect, dynamic), not comments or strings', () => {
  const src = [
    `// import { a } from './commented.js';`,
    `/* import x from './block.js' */`,
    `import { b } from './b.js';`,
    `import type { C } from '../c.js';`,
    `import { type D } from './d.js';`,
    `export { e } from './e.js';`,
    `export * as f from './f.js';`,
    `export type { G } from './g.js';`,
    `import './side.js';`,
    `const s = "import q from './instring.js'";`,
    `async function h() { return import('./dyn.js'); }`,
    `let t: import('./typeimport.js').T;`,
    `import fs from 'node:fs';`,
  ].join('\n');
  assert.deepEqual(
    importsOf(src).map((i) => `${i.spec}${i.typeOnly ? ' type' : ''}${i.dynamic ? ' dynamic' : ''}`),
    [
      './b.js',
      '../c.js type',
      './d.js type',
      './e.js',
      './f.js',
      './g.js type',
      './side.js',
      './dyn.js dynamic',
      './typeimport.js type',
      'node:fs',
    ],
  );
  assert.equal(resolveSpec('ops/conv.ts', '../backend/js/conv.js'), 'backend/js/conv.ts');
  assert.equal(resolveSpec('index.ts', './nn/index.js'), 'nn/index.ts');
  assert.equal(resolveSpec('io/x.ts', '../../test/a.js'), '../test/a.ts');
});

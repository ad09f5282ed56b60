// nn.utils.fuse on the vision models: fused ResNets (BasicBlock, Bottleneck), CIFAR ResNet and the small
// MNIST CNNs equal the unfused ones in eval mode, keep their state_dict keys, and fall back to exactly
// the modules' forward for hooks and training (gradients and BatchNorm statistics included).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from 'nabla';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { FusedBasicBlock, FusedBottleneck } from '../../src/vision/models/resnet_fuse.js';

const M = nb.vision.models;

/** Random BatchNorm statistics and affines, so that folding them is really tested (fresh ones are identity). */
function randomizeBatchNorms(model: nb.nn.Module, seed: number): void {
  nb.manualSeed(seed);
  nb.noGrad(() => {
    for (const m of model.modules()) {
      if (m instanceof nb.nn.BatchNorm2d) {
        const C = m.numFeatures;
        m.running_mean!.copy_(nb.randn([C]).mul(0.1));
        m.running_var!.copy_(nb.rand([C]).add(0.5));
        m.weight!.copy_(nb.rand([C]).add(0.5));
        m.bias!.copy_(nb.randn([C]).mul(0.1));
      }
    }
  });
}

/** A model and an unfused copy with the same weights. */
function twins<T extends nb.nn.Module>(make: () => T, seed: number): [T, T] {
  const a = make(),
    b = make();
  randomizeBatchNorms(a, seed);
  b.loadStateDict(a.stateDict());
  return [a, b];
}

test('fused ResNet-18 (random weights, eval) equals the unfused one, with the same state_dict keys', () => {
  const [model, plain] = twins(() => M.resnet18({ numClasses: 10 }), 1);
  model.eval();
  plain.eval();
  const keys = Object.keys(model.stateDict());
  nb.nn.utils.fuse(model);
  assert.deepEqual(Object.keys(model.stateDict()), keys);
  assert.ok(model.conv1 instanceof nb.nn.ConvBn2d && model.bn1 instanceof nb.nn.FoldedBatchNorm2d);
  assert.ok(model.layer1.at(0) instanceof FusedBasicBlock && model.layer4.at(1) instanceof FusedBasicBlock);
  const x = nb.randn([2, 3, 64, 64]);
  const want = nb.noGrad(() => plain.call(x));
  assertClose(
    nb.noGrad(() => model.call(x)),
    want,
    { rtol: 1e-4, atol: 1e-4 },
  );
  // gradients on: the modules' composition, same values
  assertClose(model.call(x).detach(), want, { rtol: 1e-4, atol: 1e-4 });
});

test('fused ResNet-18 with torchvision weights matches torchvision, and loads after fusing', async () => {
  const sd = await nb.load(golden('resnet18_strided.pth'));
  const e = await nb.io.loadSafetensors(golden('resnet18_expected.safetensors'));
  const model = nb.nn.utils.fuse(M.resnet18().eval());
  model.loadStateDict(sd);
  assertClose(
    nb.noGrad(() => model.call(e.x)),
    e.logits_eval,
    { rtol: 1e-4, atol: 1e-3 },
  );
});

test('fused Bottleneck ResNet and CIFAR ResNet-20 equal the unfused ones', () => {
  const [model, plain] = twins(() => new M.ResNet(M.Bottleneck, [1, 1, 1, 1], { numClasses: 5 }), 2);
  model.eval();
  plain.eval();
  const keys = Object.keys(model.stateDict());
  nb.nn.utils.fuse(model);
  assert.deepEqual(Object.keys(model.stateDict()), keys);
  assert.ok(model.layer2.at(0) instanceof FusedBottleneck);
  const x = nb.randn([1, 3, 48, 48]);
  assertClose(
    nb.noGrad(() => model.call(x)),
    nb.noGrad(() => plain.call(x)),
    { rtol: 1e-4, atol: 1e-4 },
  );

  const [c, cp] = twins(() => M.cifarResnet20(), 3);
  c.eval();
  cp.eval();
  const ckeys = Object.keys(c.stateDict());
  nb.nn.utils.fuse(c);
  assert.deepEqual(Object.keys(c.stateDict()), ckeys);
  assert.ok(c.conv1 instanceof nb.nn.ConvBn2d);
  const xc = nb.randn([2, 3, 32, 32]);
  assertClose(
    nb.noGrad(() => c.call(xc)),
    nb.noGrad(() => cp.call(xc)),
    { rtol: 1e-4, atol: 1e-4 },
  );
});

test('fused small CNNs (MNIST SimpleConvNet, DeepConvNet, MLP) equal the unfused ones', () => {
  const makers: (() => nb.nn.Module)[] = [
    () => new M.SimpleConvNet(),
    () => new M.DeepConvNet(),
    () => new M.MnistMLP(),
  ];
  for (const make of makers) {
    const [model, plain] = twins(make, 4);
    model.eval();
    plain.eval();
    const keys = Object.keys(model.stateDict());
    nb.nn.utils.fuse(model);
    assert.deepEqual(Object.keys(model.stateDict()), keys);
    const x = nb.rand([3, 1, 28, 28]);
    const want = nb.noGrad(() => plain.call(x));
    assertClose(
      nb.noGrad(() => model.call(x)),
      want,
      { rtol: 1e-5, atol: 1e-5 },
      model.constructor.name,
    );
  }
});

test('fuse leaves hooked modules to their own forward; hooks on fused modules fire', () => {
  const [model, plain] = twins(() => M.resnet18({ numClasses: 4 }), 5);
  model.eval();
  plain.eval();
  let seen = 0;
  model.layer1
    .at(0)
    .getSubmodule('bn1')
    .registerForwardHook(() => {
      seen++;
    });
  nb.nn.utils.fuse(model);
  assert.equal(model.layer1.at(0).constructor.name, 'BasicBlock', 'a block with a hooked module stays as it is');
  assert.ok(model.layer1.at(1) instanceof FusedBasicBlock);
  let fusedSeen = 0;
  model.layer2.at(0).registerForwardHook(() => {
    fusedSeen++;
  });
  // a hooked ReLU runs as a module of its own
  (model.layer3.at(0) as FusedBasicBlock).relu.registerForwardHook(() => {
    fusedSeen++;
  });
  const x = nb.randn([1, 3, 32, 32]);
  assertClose(
    nb.noGrad(() => model.call(x)),
    nb.noGrad(() => plain.call(x)),
    { rtol: 1e-4, atol: 1e-4 },
  );
  assert.equal(seen, 1);
  assert.equal(fusedSeen, 3, 'the block hook once, the shared ReLU hook after conv1 and after the residual');
});

test('train mode through a fused ResNet-18: the unfused outputs, gradients and BatchNorm statistics', () => {
  const [model, plain] = twins(() => M.resnet18({ numClasses: 6 }), 6);
  nb.nn.utils.fuse(model);
  model.train();
  plain.train();
  const x = nb.randn([2, 3, 32, 32]),
    r = nb.randn([2, 6]);
  const ya = model.call(x),
    yb = plain.call(x);
  assertClose(ya, yb, { rtol: 1e-4, atol: 1e-4 });
  ya.mul(r).sum().backward();
  yb.mul(r).sum().backward();
  const pa = Object.fromEntries(model.namedParameters()),
    pb = Object.fromEntries(plain.namedParameters());
  assert.deepEqual(Object.keys(pa), Object.keys(pb));
  for (const n of Object.keys(pb)) assertClose(pa[n].grad!, pb[n].grad!, { rtol: 1e-3, atol: 1e-4 }, n);
  const ba = Object.fromEntries(model.namedBuffers()),
    bb = Object.fromEntries(plain.namedBuffers());
  const some = [
    'bn1.running_mean',
    'layer2.0.bn2.running_var',
    'layer3.0.downsample.1.running_mean',
    'layer4.1.bn1.num_batches_tracked',
  ];
  for (const n of some) {
    assertClose(ba[n], bb[n], { rtol: 1e-4, atol: 1e-5 }, n);
  }
});

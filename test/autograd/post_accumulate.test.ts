// Tensor.registerPostAccumulateGradHook and autograd.queueCallback, which DistributedDataParallel builds
// on: the hook sees each leaf's accumulated .grad during backward, the callback runs once every .grad is final.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as nb from '../../src/index.js';

describe('post-accumulate-grad hooks', () => {
  it('sees the accumulated .grad of each leaf, and the final callback sees every .grad', () => {
    const a = nb.tensor([1, 2, 3]).requiresGrad_();
    const b = nb.tensor([4, 5, 6]).requiresGrad_();
    const seen: [string, number[]][] = [];
    let finalSeen: number[][] | null = null;
    a.registerPostAccumulateGradHook((p) => {
      seen.push(['a', [...(p.grad!.toTypedArray() as Float32Array)]]);
      nb.autograd.queueCallback(() => {
        finalSeen = [a, b].map((t) => [...(t.grad!.toTypedArray() as Float32Array)]);
      });
    });
    b.registerPostAccumulateGradHook((p) => seen.push(['b', [...(p.grad!.toTypedArray() as Float32Array)]]));
    a.mul(b).sum().backward();
    assert.deepEqual(seen.sort(), [
      ['a', [4, 5, 6]],
      ['b', [1, 2, 3]],
    ]);
    assert.deepEqual(finalSeen, [
      [4, 5, 6],
      [1, 2, 3],
    ]);
    // a second backward accumulates: the hook sees the sum
    seen.length = 0;
    a.mul(b).sum().backward();
    assert.deepEqual(seen.find((s) => s[0] === 'a')![1], [8, 10, 12]);
  });

  it('is removable and refused on non-leaves; queueCallback outside backward is refused', () => {
    const a = nb.tensor([1, 2]).requiresGrad_();
    let calls = 0;
    const h = a.registerPostAccumulateGradHook(() => calls++);
    a.sum().backward();
    h.remove();
    a.sum().backward();
    assert.equal(calls, 1);
    assert.throws(() => a.mul(2).registerPostAccumulateGradHook(() => {}), /only leaf tensors that require grad/);
    assert.throws(() => nb.autograd.queueCallback(() => {}), /no backward pass is running/);
  });
});

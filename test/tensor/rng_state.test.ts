// Generator.getState/setState and nb.getRngState/setRngState (issue 24, item 6): a snapshot
// restores the exact stream (the cached Box-Muller normal included), round-trips through
// nb.save/nb.load and JSON, and bad states are refused naming the expected size.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';

const draws = (g: nb.Generator) => [g.random(), g.randn(), g.nextUint32(), ...g.permutation(5)];

describe('Generator state', () => {
  test('getState is an int32 tensor of 8 words; setState replays the same stream', () => {
    const g = new nb.Generator(7);
    g.random();
    const s = g.getState();
    assert.equal(s.dtype, 'int32');
    assert.deepEqual(s.shape, [8]);
    const a = draws(g);
    assert.deepEqual(draws(new nb.Generator(123).setState(s)), a);
    assert.deepEqual(draws(g.setState(s)), a);
  });

  test('a pending Box-Muller normal is part of the state', () => {
    const g = new nb.Generator(3);
    g.randn(); // leaves the second normal of the pair cached
    const s = g.getState();
    assert.equal(s.toTypedArray()[5], 1);
    const next = [g.randn(), g.randn(), g.random()];
    const h = new nb.Generator(0).setState(s);
    assert.deepEqual([h.randn(), h.randn(), h.random()], next);
  });

  test('getState is a snapshot: drawing afterwards does not change it', () => {
    const g = new nb.Generator(1);
    const s = g.getState();
    const before = Array.from(s.toTypedArray());
    g.random();
    assert.deepEqual(Array.from(s.toTypedArray()), before);
  });

  test('nb.getRngState/setRngState drive the default generator (dropout, rand, randperm)', () => {
    nb.manualSeed(11);
    nb.rand([3]);
    const s = nb.getRngState();
    const a = [nb.rand([4]), nb.randn([3]), nb.randperm(6), nb.nn.functional.dropout(nb.ones([8]), 0.5)];
    nb.rand([100]);
    nb.setRngState(s);
    const b = [nb.rand([4]), nb.randn([3]), nb.randperm(6), nb.nn.functional.dropout(nb.ones([8]), 0.5)];
    a.forEach((t, i) => {
      assert.deepEqual(Array.from(b[i].toTypedArray()), Array.from(t.toTypedArray()));
    });
  });

  test('the state round-trips through nb.save/nb.load (.safetensors and .pt) and JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nb-rng-'));
    try {
      const g = new nb.Generator(5);
      g.randn();
      const s = g.getState();
      const want = draws(new nb.Generator(0).setState(s));
      await nb.save({ rng: s }, join(dir, 'rng.safetensors'));
      const st = (await nb.load(join(dir, 'rng.safetensors'))).rng as nb.Tensor;
      assert.deepEqual(draws(new nb.Generator(0).setState(st)), want);
      await nb.save({ rng: s, step: 3 }, join(dir, 'rng.pt'));
      const pt = (await nb.load(join(dir, 'rng.pt'))).rng as nb.Tensor;
      assert.deepEqual(draws(new nb.Generator(0).setState(pt)), want);
      const json = JSON.parse(JSON.stringify(Array.from(s.toTypedArray()))) as number[];
      assert.deepEqual(draws(new nb.Generator(0).setState(json)), want);
      assert.deepEqual(draws(new nb.Generator(0).setState(nb.tensor(json, { dtype: 'int32' }))), want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('setState refuses a wrong size, dtype, tag or an all-zero state', () => {
    const g = new nb.Generator(0);
    const good = Array.from(g.getState().toTypedArray());
    assert.throws(
      () => g.setState(nb.zeros([8])),
      /Generator.setState: expected an int32 tensor of 8 elements .*got float32 of shape \[8\]/,
    );
    assert.throws(() => g.setState(nb.tensor([1, 2, 3], { dtype: 'int32' })), /expected 8 int32 words .*got 3/);
    assert.throws(() => g.setState([0, ...good.slice(1)]), /word 0 is 0, not the tag/);
    assert.throws(() => g.setState([good[0], 0, 0, 0, 0, 0, 0, 0]), /generator words are all zero/);
    assert.throws(() => g.setState([...good.slice(0, 7), 0.5]), /word 7 is 0.5, not an int32/);
    assert.throws(() => g.setState(null as unknown as number[]), /expected an int32 Tensor of 8 elements/);
    assert.throws(() => nb.setRngState([1]), /Generator.setState: invalid state: expected 8 int32 words/);
    // a failed setState leaves the generator as it was
    const h = new nb.Generator(9),
      ref = new nb.Generator(9);
    assert.throws(() => h.setState([1, 2]));
    assert.deepEqual(draws(h), draws(ref));
  });
});

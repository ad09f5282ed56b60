// Run under mpirun (test/distributed/training.test.ts): data-parallel training against one process on
// the concatenated batch. Every rank also trains the single-process reference itself (it is small), so
// each rank checks its own parameters. Checks, each printed as "ok <name> rank r":
//   ddp: DistributedDataParallel + SGD(momentum), several buckets, parameters within 1e-6 relative;
//   noSync: gradient accumulation over two micro-batches;
//   zero: ZeroRedundancyOptimizer(Adam) against Adam, state sharded;
//   checkpoint: rank 0 saves at step 3, all ranks resume and reproduce the loss curve.
// First it checks that initProcessGroup chose the progress mode NABLA_DIST_PROGRESS asks for.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from '../../../src/index.js';

const D = nb.distributed;
D.initProcessGroup({ backend: 'mpi' });
const rank = D.getRank(),
  W = D.getWorldSize();
const ok = (name: string) => console.log(`ok ${name} rank ${rank}`);
assert.equal(D.mpiInfo().progress, process.env.NABLA_DIST_PROGRESS ?? 'thread');
const B = 24; // the global batch; each rank takes B / W rows
const lo = (rank * B) / W,
  hi = ((rank + 1) * B) / W;

function makeModel(seed: number): nb.nn.Module {
  nb.manualSeed(seed);
  return new nb.nn.Sequential(
    new nb.nn.Linear(5, 16),
    new nb.nn.Tanh(),
    new nb.nn.Linear(16, 8),
    new nb.nn.Tanh(),
    new nb.nn.Linear(8, 3),
  ).double();
}
function batch(step: number): { x: nb.Tensor; y: nb.Tensor } {
  const g = new nb.Generator(1000 + step);
  return {
    x: nb.randn([B, 5], { generator: g, dtype: 'float64' }),
    y: nb.randn([B, 3], { generator: g, dtype: 'float64' }),
  };
}
const loss = (m: nb.nn.Module, x: nb.Tensor, y: nb.Tensor) => nb.nn.functional.mseLoss(m.call(x) as nb.Tensor, y);
const local = (t: nb.Tensor) => t.slice(0, lo, hi);
function assertSameParams(a: nb.nn.Module, b: nb.nn.Module, what: string): void {
  const pa = a.parameters(),
    pb = b.parameters();
  assert.equal(pa.length, pb.length);
  pa.forEach((p, i) => {
    const x = p.toTypedArray(),
      y = pb[i].toTypedArray();
    for (let k = 0; k < x.length; k++)
      assert.ok(
        Math.abs(x[k] - y[k]) <= 1e-6 * Math.max(1e-3, Math.abs(y[k])),
        `${what}: param ${i}[${k}] ${x[k]} vs ${y[k]}`,
      );
  });
}

{
  // ranks start from different weights: the wrap broadcasts rank 0's
  const ref = makeModel(0);
  const ddp = new nb.nn.parallel.DistributedDataParallel(makeModel(rank), { bucketCapMb: 0.0002 });
  assert.ok(ddp.bucketSizes().length >= 3, `buckets ${ddp.bucketSizes()}`);
  assertSameParams(ddp.module, ref, 'after wrap');
  // overlap: by the time the first layer's weight gets its gradient (near the end of the backward), the
  // buckets of the later layers are already all-reducing
  let launchedBeforeEnd = -1;
  ddp.module.parameters()[0].registerPostAccumulateGradHook(() => {
    launchedBeforeEnd = ddp.launchedBuckets();
  });
  const opt = new nb.optim.SGD(ddp.parameters(), { lr: 0.1, momentum: 0.9 });
  const refOpt = new nb.optim.SGD(ref.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let step = 0; step < 5; step++) {
    const { x, y } = batch(step);
    opt.zeroGrad();
    loss(ddp, local(x), local(y)).backward();
    opt.step();
    refOpt.zeroGrad();
    loss(ref, x, y).backward();
    refOpt.step();
  }
  assertSameParams(ddp.module, ref, 'ddp');
  assert.ok(launchedBeforeEnd >= ddp.bucketSizes().length - 1, `${launchedBeforeEnd} buckets started in the backward`);
  ok('ddp');

  // gradient accumulation: two micro-batches, the first under noSync
  for (let step = 5; step < 8; step++) {
    const a = batch(step),
      b = batch(step + 100);
    opt.zeroGrad();
    ddp.noSync(() => loss(ddp, local(a.x), local(a.y)).backward());
    loss(ddp, local(b.x), local(b.y)).backward();
    opt.step();
    refOpt.zeroGrad();
    loss(ref, a.x, a.y).backward();
    loss(ref, b.x, b.y).backward();
    refOpt.step();
  }
  assertSameParams(ddp.module, ref, 'noSync');
  ok('noSync');
}

{
  const ref = makeModel(7);
  const ddp = new nb.nn.parallel.DistributedDataParallel(makeModel(7 + rank));
  const zero = new nb.optim.ZeroRedundancyOptimizer(ddp.parameters(), nb.optim.Adam, { lr: 0.01 });
  const adam = new nb.optim.Adam(ref.parameters(), { lr: 0.01 });
  for (let step = 0; step < 5; step++) {
    const { x, y } = batch(step);
    zero.zeroGrad();
    loss(ddp, local(x), local(y)).backward();
    zero.step();
    adam.zeroGrad();
    loss(ref, x, y).backward();
    adam.step();
  }
  assertSameParams(ddp.module, ref, 'zero');
  // the state is sharded: this rank holds only its partition's, and the partitions cover every parameter
  const n = ddp.parameters().length;
  assert.equal(zero.optim?.state.size ?? 0, zero.partitions[rank].length);
  assert.equal(zero.partitions.flat().length, n);
  if (W > 1) assert.ok(zero.partitions[rank].length < n);
  // consolidated on rank 0, the state equals Adam's
  zero.consolidateStateDict(0);
  if (rank === 0) {
    const full = zero.stateDict(),
      want = adam.stateDict();
    assert.equal(Object.keys(full.state).length, Object.keys(want.state).length);
    for (const [k, st] of Object.entries(want.state)) {
      assert.equal(full.state[Number(k)].step, st.step);
      const a = (full.state[Number(k)].exp_avg ?? full.state[Number(k)].expAvg) as nb.Tensor;
      const b = (st.exp_avg ?? st.expAvg) as nb.Tensor;
      assert.ok(a.sub(b).abs().max().item() < 1e-9);
    }
  } else assert.throws(() => zero.stateDict(), /holds no consolidated state/);
  ok('zero');
}

{
  // one run of 6 steps, rank 0 saving at step 3; then a fresh model resumes from the file on all ranks
  const path = join(tmpdir(), `nabla-ddp-ckpt-${process.env.NABLA_TEST_TAG ?? process.ppid}.pt`);
  const run = async (resume: boolean): Promise<number[]> => {
    const ddp = new nb.nn.parallel.DistributedDataParallel(makeModel(resume ? 99 : 3));
    const opt = new nb.optim.Adam(ddp.parameters(), { lr: 0.01 });
    let start = 0;
    if (resume) {
      const ck = (await nb.load(path)) as { model: nb.nn.StateDict; optim: nb.optim.OptimizerStateDict; step: number };
      ddp.loadStateDict(ck.model);
      opt.loadStateDict(ck.optim);
      start = ck.step;
    }
    const losses: number[] = [];
    for (let step = start; step < 6; step++) {
      const { x, y } = batch(step);
      opt.zeroGrad();
      const l = loss(ddp, local(x), local(y));
      l.backward();
      opt.step();
      const g = l.detach().clone();
      D.allReduce(g, { op: 'avg' });
      losses.push(g.item());
      if (!resume && step === 2) {
        if (rank === 0) await nb.save({ model: ddp.stateDict(), optim: opt.stateDict(), step: 3 }, path);
        D.barrier();
      }
    }
    return losses;
  };
  const first = await run(false);
  const resumed = await run(true);
  assert.equal(resumed.length, 3);
  for (const [i, l] of resumed.entries())
    assert.ok(Math.abs(l - first[3 + i]) <= 1e-12 * Math.abs(l), `step ${3 + i}: ${l} vs ${first[3 + i]}`);
  D.barrier();
  if (rank === 0) rmSync(path, { force: true });
  ok('checkpoint');
}

{
  const sampler = new nb.data.DistributedSampler({ length: 50 }, { seed: 3 });
  sampler.setEpoch(2);
  const mine = nb.tensor([...sampler], { dtype: 'int32' });
  const list = Array.from({ length: W }, () => nb.zeros([sampler.numSamples], { dtype: 'int32' }));
  D.allGather(list, mine);
  const every = list.flatMap((t) => [...(t.toTypedArray() as Int32Array)]);
  assert.equal(every.length, Math.ceil(50 / W) * W);
  assert.equal(new Set(every).size, 50); // all covered, only the padding repeats
  ok('sampler');
}
{
  // Keras fit under keras.distribution.DataParallel: batchSize is global; the same weights and loss
  // history as one process fitting the same data. 33 samples: the last batch of 3 leaves a rank of 4 none.
  const fit = async (dist: boolean) => {
    nb.keras.distribution.setDistribution(dist ? new nb.keras.distribution.DataParallel() : null);
    nb.manualSeed(dist ? 40 + rank : 40); // the distributed fit takes rank 0's weights and RNG
    const g = new nb.Generator(77);
    const x = nb.randn([33, 4], { generator: g }),
      y = nb.randn([33, 2], { generator: g });
    const m = nb.keras.sequential([
      nb.keras.layers.dense({ units: 8, activation: 'tanh', inputShape: [4] }),
      nb.keras.layers.dense({ units: 2 }),
    ]);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const h = await m.fit(x, y, { epochs: 3, batchSize: 10, verbose: 0 });
    nb.keras.distribution.setDistribution(null);
    return { w: m.getWeights().map((t) => [...(t.toTypedArray() as Float32Array)]), loss: h.history.loss as number[] };
  };
  const ref = await fit(false);
  const got = await fit(true);
  for (const [i, l] of got.loss.entries())
    assert.ok(Math.abs(l - ref.loss[i]) <= 1e-5 * Math.abs(ref.loss[i]), `loss ${l} vs ${ref.loss[i]}`);
  for (const [i, w] of got.w.entries())
    for (const [k, v] of w.entries())
      assert.ok(Math.abs(v - ref.w[i][k]) <= 1e-5, `w${i}[${k}] ${v} vs ${ref.w[i][k]}`);
  ok('keras');
}
D.destroyProcessGroup();
console.log(`done rank ${rank}`);

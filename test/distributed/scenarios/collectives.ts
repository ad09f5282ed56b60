// Run under mpirun (test/distributed/collectives.test.ts): every collective of nb.distributed against a
// reference each rank computes itself, then the refusals (shape mismatch, non-contiguous, twice).
// Prints "ok <name>" per check and "done rank r" at the end; any failure throws (non-zero exit).

import assert from 'node:assert/strict';
import * as nb from '../../../src/index.js';

const D = nb.distributed;
D.initProcessGroup({ backend: 'mpi' });
const rank = D.getRank(),
  W = D.getWorldSize();
const ranks = Array.from({ length: W }, (_, r) => r);
// one thread calls MPI, so FUNNELED (1) is what nabla needs and checks
assert.ok(D.mpiInfo().threadLevel >= 1 && /MPI/.test(D.mpiInfo().library));
assert.equal(D.mpiInfo().progress, process.env.NABLA_DIST_PROGRESS ?? D.mpiInfo().progress);
assert.equal(process.env.WORLD_SIZE, String(W));
assert.equal(process.env.RANK, String(rank));
const t0 = Date.now();
const ok = (name: string) => console.log(`ok ${name} rank ${rank} ${Date.now() - t0}`);

// what rank r contributes: n values, r-dependent, exact in float32
const contrib = (r: number, n: number) => Array.from({ length: n }, (_, i) => ((r + 1) * (i + 3)) % 17) as number[];
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `[${i}] ${a[i]} vs ${b[i]}`);
};

const N = 1000;
const all = ranks.map((r) => contrib(r, N));
const refs = {
  sum: (i: number) => ranks.reduce((s, r) => s + all[r][i], 0),
  avg: (i: number) => ranks.reduce((s, r) => s + all[r][i], 0) / W,
  max: (i: number) => Math.max(...ranks.map((r) => all[r][i])),
  min: (i: number) => Math.min(...ranks.map((r) => all[r][i])),
  product: (i: number) => ranks.reduce((s, r) => s * all[r][i], 1),
};
for (const dtype of ['float32', 'float64', 'int32'] as const) {
  for (const op of ['sum', 'avg', 'max', 'min', 'product'] as const) {
    if (op === 'avg' && dtype === 'int32') continue;
    const t = nb.tensor(contrib(rank, N), { dtype }).reshape([10, 100]);
    D.allReduce(t, { op });
    close(
      t.toTypedArray() as ArrayLike<number>,
      Array.from({ length: N }, (_, i) => refs[op](i)),
    );
    ok(`allReduce ${op} ${dtype}`);
  }
}
{
  const b = nb.tensor([rank === 0, rank === W - 1, true, false], { dtype: 'bool' });
  const c = b.clone();
  D.allReduce(b, { op: 'max' });
  D.allReduce(c, { op: 'min' });
  assert.deepEqual(b.toArray(), [true, true, true, false]);
  assert.deepEqual(c.toArray(), [W === 1, W === 1, true, false]);
  ok('allReduce bool');
}
{
  // async: two in flight at once, one waited, one awaited
  const a = nb.tensor(contrib(rank, N));
  const b = nb.tensor(contrib(rank, 7), { dtype: 'float64' });
  const wa = D.allReduce(a, { op: 'sum', asyncOp: true });
  const wb = D.allReduce(b, { op: 'max', asyncOp: true });
  assert.equal(wa.wait(), true);
  await wb.promise;
  assert.ok(wa.isCompleted() && wb.isCompleted());
  close(
    a.toTypedArray() as Float32Array,
    Array.from({ length: N }, (_, i) => refs.sum(i)),
  );
  close(
    b.toTypedArray() as Float64Array,
    Array.from({ length: 7 }, (_, i) => Math.max(...ranks.map((r) => contrib(r, 7)[i]))),
  );
  ok('async');
}
{
  const t = rank === W - 1 ? nb.tensor(contrib(99, 50)).reshape([5, 10]) : nb.zeros([5, 10]);
  D.broadcast(t, W - 1);
  close(t.toTypedArray() as Float32Array, contrib(99, 50));
  ok('broadcast');
}
{
  const mine = nb.tensor(contrib(rank, 12)).reshape([3, 4]);
  const list = ranks.map(() => nb.zeros([3, 4]));
  D.allGather(list, mine.t().contiguous().t()); // a non-contiguous input is copied
  for (const r of ranks) close(list[r].toTypedArray() as Float32Array, contrib(r, 12));
  const out = nb.zeros([3 * W, 4]);
  D.allGatherIntoTensor(out, mine, { asyncOp: true }).wait();
  close(
    out.toTypedArray() as Float32Array,
    ranks.flatMap((r) => contrib(r, 12)),
  );
  ok('allGather');
}
{
  const n = 6;
  const input = nb.tensor(contrib(rank, n * W), { dtype: 'float64' });
  const out = nb.zeros([n], { dtype: 'float64' });
  D.reduceScatterTensor(out, input, { op: 'sum' });
  const full = Array.from({ length: n * W }, (_, i) => ranks.reduce((s, r) => s + contrib(r, n * W)[i], 0));
  close(out.toTypedArray() as Float64Array, full.slice(rank * n, rank * n + n));
  const out2 = nb.zeros([n], { dtype: 'float64' });
  const list = ranks.map((r) => input.slice(0, r * n, r * n + n));
  D.reduceScatter(out2, list, { op: 'avg' });
  close(
    out2.toTypedArray() as Float64Array,
    full.slice(rank * n, rank * n + n).map((v) => v / W),
  );
  ok('reduceScatter');
}
D.barrier();
await D.barrier({ asyncOp: true }).promise;
ok('barrier');
{
  // a ring, 100k floats (past the eager limit): even ranks send first so the pairs meet
  const next = (rank + 1) % W,
    prev = (rank + W - 1) % W;
  const out = nb.tensor(contrib(rank, 100_000));
  const inp = nb.zeros([100_000]);
  if (rank % 2 === 0) {
    D.send(out, next, { tag: 3 });
    assert.equal(D.recv(inp, prev, { tag: 3 }), prev);
  } else {
    assert.equal(D.recv(inp, undefined, { tag: 3 }), prev);
    D.send(out, next, { tag: 3 });
  }
  close(inp.toTypedArray() as Float32Array, contrib(prev, 100_000));
  ok('send/recv');
}

// ---- refusals ----
{
  const t = nb.zeros([4, 2 + (rank % 2)]);
  assert.throws(
    () => D.allReduce(t),
    (e: Error) => {
      assert.match(e.message, /allReduce: the ranks disagree before the call/);
      assert.match(e.message, /rank 0: allReduce\(sum\) \[4, 2\] float32/);
      assert.match(e.message, /rank 1: allReduce\(sum\) \[4, 3\] float32/);
      return true;
    },
  );
  // the group still works afterwards
  const u = nb.ones([3]);
  D.allReduce(u);
  close(u.toTypedArray() as Float32Array, [W, W, W]);
  ok('shape mismatch');
}
{
  const t = nb.zeros([3, 4]).t();
  assert.throws(
    () => D.allReduce(t),
    /allReduce: tensor \[4, 3\] float32 is not contiguous \(strides \[1, 4\]\); refused/,
  );
  assert.throws(() => D.initProcessGroup({ backend: 'mpi' }), /already initialized \(called twice\)/);
  assert.throws(() => D.allReduce(nb.ones([2], { dtype: 'int32' }), { op: 'avg' }), /op 'avg' needs a floating-point/);
  assert.throws(() => D.broadcast(nb.ones([2]), W), /src 2 is not a rank|src \d+ is not a rank/);
  ok('refusals');
}
if (W >= 2) {
  if (rank === 0) D.send(nb.ones([3]), 1, { tag: 9 });
  if (rank === 1)
    assert.throws(
      () => D.recv(nb.zeros([2, 2]), 0, { tag: 9 }),
      /recv: rank 0 sent \[3\] float32 but rank 1 receives into \[2, 2\] float32 \(tag 9\)/,
    );
  ok('recv mismatch');
}
D.destroyProcessGroup();
assert.throws(() => D.getRank(), /has not been initialized/);
console.log(`done rank ${rank}`);

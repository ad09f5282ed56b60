// Memory (issue 2): tensors are plain GC-owned objects, so a long training-like loop (MLP forward,
// backward, SGD update under noGrad) must not grow the heap or RSS. No dispose/tidy anywhere.
// The runner cannot pass --expose-gc, so growth is measured between iteration 2,000 and 10,000
// with a generous bound (global.gc is used when present).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const MB = 1024 * 1024;

function settle(): { heap: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

test('10,000 MLP training iterations keep heap and RSS flat', (t) => {
  nb.manualSeed(7);
  // x (B,IN) -> relu(x W1^T + b1) (B,H) -> W2 (OUT,H) -> logSoftmax -> NLL of the targets
  const B = 8,
    IN = 16,
    H = 32,
    OUT = 4;
  const w1 = nb.randn([H, IN]).mul(0.2).requiresGrad_(),
    b1 = nb.zeros([H], { requiresGrad: true });
  const w2 = nb.randn([OUT, H]).mul(0.2).requiresGrad_(),
    b2 = nb.zeros([OUT], { requiresGrad: true });
  const params = [w1, b1, w2, b2];
  const x = nb.randn([B, IN]);
  const target = nb.oneHot(nb.randint(0, OUT, [B]), OUT).float();
  let first = NaN,
    last = NaN,
    mark = settle();
  const cpu0 = process.cpuUsage();
  for (let it = 1; it <= 10_000; it++) {
    const h = x.matmul(w1.t()).add(b1).relu();
    const loss: Tensor = h.matmul(w2.t()).add(b2).logSoftmax(-1).mul(target).sum().div(-B);
    loss.backward();
    nb.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!, 0.05);
        p.grad = null;
      }
    });
    if (it === 1) first = loss.item();
    if (it === 2_000) mark = settle();
    last = loss.item();
  }
  const end = settle();
  const heapGrowth = (end.heap - mark.heap) / MB,
    rssGrowth = (end.rss - mark.rss) / MB;
  assert.ok(last < first * 0.5, `the loss should fall (first ${first}, last ${last})`);
  assert.ok(heapGrowth < 30, `heap grew ${heapGrowth.toFixed(1)} MB between iterations 2,000 and 10,000`);
  assert.ok(rssGrowth < 30, `RSS grew ${rssGrowth.toFixed(1)} MB between iterations 2,000 and 10,000`);
  // CPU time, not wall time: the test must not flake on a loaded machine
  const cpu = process.cpuUsage(cpu0),
    cpuMs = (cpu.user + cpu.system) / 1000;
  assert.ok(cpuMs < 30_000, `took ${cpuMs.toFixed(0)} ms of CPU`);
  t.diagnostic(
    `memory: heap ${heapGrowth.toFixed(2)} MB, rss ${rssGrowth.toFixed(2)} MB growth over 8,000 iterations; ` +
      `${cpuMs.toFixed(0)} ms CPU; loss ${first.toFixed(3)} -> ${last.toFixed(3)}`,
  );
});

// Resident storage of the threaded WASM backend (src/backend/wasm/heap.ts): kernel outputs and new
// float32 tensors live in linear memory and go in by address (no copies), results match JS on views and
// in-place ops, subarrays keep their block alive, and memory is bounded (the budget) and reclaimed
// (blocks of collected arrays are freed and reused).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jsBackend } from '../../src/backend/js/index.js';
import { UnaryOp } from '../../src/backend/op_codes.js';
import { loadWasmSync, type WasmBackend } from '../../src/backend/wasm/index.js';
import { ResidentF32 } from '../../src/backend/wasm/heap.js';
import { Layout } from '../../src/tensor/layout.js';
import * as nb from '../../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const ALL = { wasm: true, simd: true, sharedMemory: true };

function load(residentBytes: number): WasmBackend {
  const { backend, reason } = loadWasmSync({ features: ALL, residentBytes });
  assert.ok(backend, reason);
  return backend;
}

/** Collects garbage and lets the finalizers run (they run between tasks, never inside one). */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seq = (n: number, f = 0.37) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));

test('kernel outputs are resident, go back in by address, and match JS (views, offsets, broadcasting)', () => {
  const b = load(64 << 20);
  const a = seq(64 * 48),
    w = seq(48 * 40, 0.11);
  const la = Layout.contiguous([64, 48]),
    lw = Layout.contiguous([48, 40]);
  const c = b.matmul(a, la, w, lw, 'float32') as Float32Array;
  assert.ok(c instanceof ResidentF32, 'the output lives in linear memory');
  assert.ok(c.buffer instanceof SharedArrayBuffer);
  const want = jsBackend.matmul(a, la, w, lw, 'float32') as Float32Array;
  for (let i = 0; i < c.length; i++) assert.ok(Math.abs(c[i] - want[i]) < 1e-4, `matmul ${i}`);
  // a resident input read through a transposed view with an offset, and a broadcast row
  const lt = new Layout([20, 64], [1, 40], 20);
  const got = b.unary(UnaryOp.RELU, c, lt, 'float32') as Float32Array;
  assert.deepEqual(Array.from(got), Array.from(jsBackend.unary(UnaryOp.RELU, c, lt, 'float32') as Float32Array));
  const row = new Layout([64, 40], [0, 1], 0);
  const sum = b.binary(0, c, Layout.contiguous([64, 40]), c, row, 'float32') as Float32Array;
  const sumJs = jsBackend.binary(0, c, Layout.contiguous([64, 40]), c, row, 'float32') as Float32Array;
  assert.deepEqual(Array.from(sum), Array.from(sumJs));
  // a subarray of a resident array is resident too, and keeps the block it views alive
  const sub = c.subarray(40, 40 + 1200);
  assert.ok(sub instanceof ResidentF32 && sub.owner === c);
});

test('assign between resident arrays: disjoint blocks run on WASM, a transposed copy onto itself stays correct', () => {
  const b = load(64 << 20);
  const l = Layout.contiguous([48, 48]);
  const x = b.unary(UnaryOp.NEG, seq(48 * 48), l, 'float32') as Float32Array;
  const y = b.unary(UnaryOp.ABS, seq(48 * 48, 0.2), l, 'float32') as Float32Array;
  assert.equal(x.buffer, y.buffer, 'both view the one linear memory');
  assert.equal(b.assign(y, l, x, l), true, 'disjoint blocks of one buffer are not aliases');
  assert.deepEqual(Array.from(y), Array.from(x));
  // the same block read transposed: declined (the JS kernel then runs), never a racy parallel copy
  assert.equal(b.assign(x, l, x, new Layout([48, 48], [1, 48], 0)), undefined);
});

test('through nb on the WASM backend: tensors, views and in-place ops match the JS backend', () => {
  const run = (name: string) => {
    nb.setBackend(name);
    nb.manualSeed(3);
    const x = nb.randn([64, 96]);
    const w = nb.randn([96, 32]);
    const v = x.slice(1, 8, 72); // a strided view
    const y = nb.matmul(v.relu(), w.slice(0, 0, 64));
    y.add_(1);
    y.T.mul_(2);
    const z = y.softmax(-1).sum(0);
    return z.tolist() as number[];
  };
  try {
    const wasm = run('wasm');
    const js = run('js');
    for (let i = 0; i < js.length; i++) assert.ok(Math.abs(wasm[i] - js[i]) < 1e-4, `element ${i}`);
  } finally {
    nb.setBackend('js');
  }
});

test('resident memory is bounded by the budget and reclaimed once arrays are collected', async () => {
  const budget = 24 << 20;
  const b = load(budget);
  const l = Layout.contiguous([512, 512]); // 1 MiB per output
  const x = seq(512 * 512);
  let peak = 0;
  // a synchronous loop: nothing is freed inside it, so the budget holds it and the rest spill to the JS heap
  for (let i = 0; i < 64; i++) {
    const y = b.unary(UnaryOp.NEG, x, l, 'float32') as Float32Array;
    assert.equal(y[7], -x[7]);
    peak = Math.max(peak, b.heapStats()!.residentBytes);
  }
  let s = b.heapStats()!;
  assert.ok(peak <= budget, `resident ${peak} <= budget ${budget}`);
  assert.ok(s.spilled > 0, 'allocations past the budget went to the JS heap');
  const memory = s.memoryBytes;
  await collect();
  s = b.heapStats()!;
  assert.ok(s.residentBytes < 4 << 20, `after collection ${s.residentBytes} bytes are still resident`);
  // the freed blocks are reused: another round does not grow linear memory
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 16; i++) b.unary(UnaryOp.NEG, x, l, 'float32');
    await collect();
  }
  s = b.heapStats()!;
  assert.equal(s.memoryBytes, memory, 'linear memory did not grow');
  assert.ok(s.residentBytes < 4 << 20);
});

test('with no explicit collection, an event loop that turns keeps resident memory near what is alive', async () => {
  // 400 MiB made resident 1 MiB at a time, 1 MiB alive: the pressure hints (heap.ts) let the engine's
  // own collector find the dead arrays, so the blocks come back long before the 2 GiB budget
  const b = load(2 ** 31);
  const l = Layout.contiguous([512, 512]);
  const x = seq(512 * 512);
  let peak = 0;
  for (let i = 0; i < 400; i++) {
    b.unary(UnaryOp.NEG, x, l, 'float32');
    if (i % 4 === 0) await new Promise((r) => setTimeout(r, 0));
    peak = Math.max(peak, b.heapStats()!.residentBytes);
  }
  assert.ok(peak < 300 << 20, `peak resident ${peak >> 20} MiB of 400 MiB made`);
  assert.equal(b.heapStats()!.spilled, 0);
});

test('residentBytes 0 copies every array per call, as the one-thread module does', () => {
  const b = load(0);
  const y = b.unary(UnaryOp.NEG, seq(4096), Layout.contiguous([4096]), 'float32') as Float32Array;
  assert.ok(!(y instanceof ResidentF32) && !(y.buffer instanceof SharedArrayBuffer));
  assert.equal(b.heapStats()!.residentArrays, 0);
  const st = loadWasmSync({ features: { ...ALL, sharedMemory: false } }).backend!;
  assert.equal(st.heapStats(), null, 'the one-thread module keeps no resident storage');
});

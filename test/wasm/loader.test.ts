// The WASM backend's loader and marshalling: what happens without SIMD, without WebAssembly, and
// without SharedArrayBuffer (simulated through loadWasmSync's features), the threaded module's pool,
// the addon's checks and messages through the WebAssembly export layer, and the contract tables.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { jsBackend } from '../../src/backend/js/index.js';
import { NATIVE_KERNELS, type NativeKernel } from '../../src/backend/native/contract.gen.js';
import { defaultBackendName } from '../../src/backend/native_init.js';
import { availableBackends } from '../../src/backend/registry.js';
import { detectFeatures, loadWasmSync } from '../../src/backend/wasm/index.js';
import { WRITES, argNames } from '../../src/backend/wasm/marshal.js';
import { Layout } from '../../src/tensor/layout.js';

const ALL = { wasm: true, simd: true, sharedMemory: true };

/** a (M,K) @ b (K,N) on the backend and on JS, with a's rows read transposed from a (K,M) buffer. */
function matmulBoth(b: NonNullable<ReturnType<typeof loadWasmSync>['backend']>, M: number, K: number, N: number) {
  const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37));
  const w = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.11));
  const la = new Layout([M, K], [1, M], 0),
    lw = Layout.contiguous([K, N]);
  return { got: b.matmul(a, la, w, lw, 'float32') as Float32Array, want: jsBackend.matmul(a, la, w, lw, 'float32') };
}

function assertClose(got: Float32Array, want: ArrayLike<number>, tol: number): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `element ${i}: ${got[i]} vs ${want[i]}`);
  }
}

test('this Node has WebAssembly SIMD128 and shared memory, so the op suite also runs on WASM', () => {
  assert.deepEqual(detectFeatures(), ALL);
  // test/helpers/backends.ts runs the op suite on each of these
  assert.ok(availableBackends().includes('wasm'), availableBackends().join());
});

test('without WebAssembly SIMD128, or without WebAssembly, there is no WASM backend, and the reason says why', () => {
  const noSimd = loadWasmSync({ features: { ...ALL, simd: false } });
  assert.equal(noSimd.backend, null);
  assert.match(noSimd.reason!, /lacks WebAssembly SIMD128/);
  const noWasm = loadWasmSync({ features: { wasm: false, simd: false, sharedMemory: false } });
  assert.equal(noWasm.backend, null);
  assert.match(noWasm.reason!, /no WebAssembly/);
});

test('the default choice falls back to JS, saying once why neither native nor WASM loaded', () => {
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warned.push(m);
  try {
    const reason = loadWasmSync({ features: { ...ALL, simd: false } }).reason;
    assert.equal(
      defaultBackendName(
        () => false,
        () => ({ ok: false, reason }),
      ),
      'js',
    );
  } finally {
    console.warn = warn;
  }
  assert.equal(warned.length, 1);
  assert.match(warned[0], /WASM backend unavailable \(.*lacks WebAssembly SIMD128.*\); using the JS backend/);
});

test('without SharedArrayBuffer: the one-thread module, one line naming the fallback, results unchanged', () => {
  const r = loadWasmSync({ features: { ...ALL, sharedMemory: false } });
  assert.ok(r.backend, r.reason);
  assert.match(r.note!, /^nabla: SharedArrayBuffer is unavailable .* runs on one thread \(nabla-st\.wasm\)\.$/);
  assert.equal(r.note!.split('\n').length, 1);
  assert.equal(r.backend.info.wasmThreads, false);
  assert.match(String(r.backend.info.wasm), /nabla-st\.wasm$/);
  r.backend.setNumThreads(4);
  assert.equal(r.backend.getNumThreads(), 1);
  const { got, want } = matmulBoth(r.backend, 67, 45, 93);
  assertClose(got, want, 1e-5);
});

test('the threaded module: a worker pool over shared memory gives the one-thread result', () => {
  const r = loadWasmSync({ features: ALL });
  assert.ok(r.backend, r.reason);
  assert.equal(r.note, undefined);
  assert.equal(r.backend.info.wasmThreads, true);
  assert.equal(r.backend.info.isa, 'wasm-simd128');
  r.backend.setNumThreads(1);
  const one = matmulBoth(r.backend, 301, 257, 129);
  r.backend.setNumThreads(3);
  assert.equal(r.backend.getNumThreads(), 3);
  const three = matmulBoth(r.backend, 301, 257, 129);
  assertClose(one.got, one.want, 1e-5);
  assertClose(three.got, one.got, 1e-6);
});

test("the addon's argument checks and messages come through the WebAssembly export layer", () => {
  const b = loadWasmSync({ features: ALL }).backend!;
  const a = new Float32Array(6);
  assert.throws(
    () => b.addon.matmul(new Float32Array(4), a, Layout.contiguous([2, 3]), a, Layout.contiguous([3, 3])),
    /^Error: nabla\.matmul: b: layout reaches element 8 but the buffer has 6$/,
  );
  assert.throws(() => b.addon.setNumThreads(2.5), /nabla\.setNumThreads: n must be an integer, got 2\.5/);
  assert.throws(() => b.addon.setWinograd('never' as 'off'), /unknown mode 'never' \(off, auto, always\)/);
  assert.throws(
    () => b.addon.unary(1e9, a, a, Layout.contiguous([6]), 0, 0),
    /nabla\.unary: op = 1000000000 is out of range/,
  );
  const gone = new Float32Array(4);
  structuredClone(gone.buffer, { transfer: [gone.buffer] });
  assert.throws(
    () => b.addon.copy(new Float32Array(4), Layout.contiguous([4]), gone, Layout.contiguous([4])),
    /^Error: nabla\.copy: x: its buffer is detached$/,
  );
  // an in-place kernel writes back into the caller's arrays
  const p = new Float32Array([1, 2]),
    buf = new Float32Array(2),
    g = new Float32Array([0.5, -1]);
  b.addon.sgdStep(p, buf, g, 0.1, 0.9, 0, 0, false, true);
  assertClose(p, [0.95, 2.1], 1e-7);
  assertClose(buf, [0.5, -1], 0);
  assert.deepEqual(Object.keys(b.addon.contract().kernels).sort(), Object.keys(NATIVE_KERNELS).sort());
});

test('WRITES names only arguments of each kernel, and only TypedArrays', () => {
  for (const k of Object.keys(NATIVE_KERNELS) as NativeKernel[]) {
    const sig = NATIVE_KERNELS[k].signature;
    const names = argNames(sig);
    for (const w of WRITES[k]) {
      assert.ok(names.includes(w), `${k}: ${w} is not an argument of (${sig})`);
      assert.match(sig, new RegExp(`(^| )${w}:(f32|i32|u8|i8|u16)`), `${k}: ${w} is not a TypedArray`);
    }
  }
});

test('NABLA_BACKEND=wasm: nb.ready() and nb.backend() report the WASM backend with its threads', () => {
  const env: Record<string, string | undefined> = { ...process.env, NABLA_BACKEND: 'wasm' };
  delete env.BACKEND_VALIDATE;
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const nb = await import(${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)});
       const b = await nb.ready();
       const y = nb.tensor([[1, 2], [3, 4]]).matmul(nb.tensor([[1], [1]]));
       console.log(b.name, b.isa, b.wasmThreads, JSON.stringify(y.tolist()));`,
    ],
    { env, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'wasm wasm-simd128 true [[3],[7]]\n');
});

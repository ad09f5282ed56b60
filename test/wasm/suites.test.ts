// The native parity tests (test/native: every kernel against the JS reference on odd sizes, offset,
// transposed, strided and broadcast layouts, special values) run on the WASM build in a child process
// with NABLA_PARITY_BACKEND=wasm. The op suite needs no such run: test/helpers/backends.ts runs it on
// every available backend, WASM included (loader.test.ts checks that it is available).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url)); // dist/test/wasm
const testDir = join(here, '..');

/** Runs node --test on the files in a fresh process and returns its closing counts. */
function suite(files: string[], env: Record<string, string>) {
  const base = { ...process.env };
  // NOTE: NODE_TEST_CONTEXT would make the child's runner think it is nested in this one and run nothing
  for (const k of ['NABLA_BACKEND', 'NABLA_NATIVE_PATH', 'NABLA_WASM_DIR', 'BACKEND_VALIDATE', 'NODE_TEST_CONTEXT']) {
    delete base[k];
  }
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=tap', ...files], {
    env: { ...base, ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? -1);
  const failures = r.stdout
    .split('\n')
    .filter((l) => /^\s*not ok /.test(l))
    .join('\n');
  return { status: r.status, pass: count('pass'), fail: count('fail'), skipped: count('skipped'), failures, r };
}

test('every WASM kernel matches the JS reference (the native parity tests, on WebAssembly)', () => {
  const names = ['matmul', 'elementwise', 'reduce', 'conv', 'nn', 'attention', 'fused_kernels'];
  const s = suite(
    names.map((n) => join(testDir, 'native', `${n}.test.js`)),
    { NABLA_PARITY_BACKEND: 'wasm' },
  );
  assert.equal(s.fail, 0, s.failures || s.r.stderr.slice(-2000));
  assert.equal(s.status, 0, s.r.stderr.slice(-2000));
  // two tests are of the x86 addon alone (huge pages, the SIMD paths' Winograd cache): skipped by name
  assert.equal(s.skipped, 2, 'the WASM backend did not load, so the parity tests skipped');
  assert.ok(s.pass > 30, `only ${s.pass} parity tests ran`);
});

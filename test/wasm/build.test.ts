// The committed native/wasm/*.wasm are what scripts/build-wasm.mjs makes from the C sources today:
// rebuilt from scratch and compared byte for byte (which also shows the build is reproducible).
// Skipped, with the reason, where the toolchain (clang, wasm-ld, wasi-libc, compiler-rt) is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const script = join(root, 'scripts', 'build-wasm.mjs');

function toolchainMissing(): string | false {
  const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!has('clang') && !has('clang-14')) return 'clang is not installed';
  if (!has('wasm-ld') && !has('wasm-ld-14')) return 'wasm-ld (lld) is not installed';
  if (!existsSync('/usr/lib/wasm32-wasi/libc.a')) return 'wasi-libc is not installed';
  const rt = spawnSync('clang', ['--target=wasm32-wasi', '-print-libgcc-file-name', '-rtlib=compiler-rt'], {
    encoding: 'utf8',
  });
  if (!existsSync(String(rt.stdout ?? '').trim())) return 'libclang-rt-14-dev-wasm32 is not installed';
  return false;
}

test('native/wasm/nabla.wasm and nabla-st.wasm match a fresh build of their sources', {
  skip: toolchainMissing(),
}, () => {
  const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /native\/wasm matches its sources/);
});

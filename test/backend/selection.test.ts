// Backend selection is explicit and lazy: importing nabla loads no addon and prints nothing; the
// default (native if the addon loads, else WASM, else JS, with one warning; NABLA_BACKEND=js|native|wasm)
// is chosen on first use, and nb.setBackend chooses explicitly. Each case runs in a fresh Node process, since the
// choice is made once per process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/index.js', import.meta.url));
const addonBuilt = existsSync(fileURLToPath(new URL('../../../native/build/Release/nabla.node', import.meta.url)));
const PRELUDE = `
import { createRequire } from 'node:module';
const addons = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.endsWith('.node')).length;
const nb = await import(${JSON.stringify(entry)});
`;

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs PRELUDE + body in a fresh process, without the caller's NABLA_* and BACKEND_VALIDATE settings. */
function run(body: string, env: Record<string, string> = {}): Run {
  const base = { ...process.env };
  for (const k of ['NABLA_BACKEND', 'NABLA_NATIVE_PATH', 'NABLA_WASM_DIR', 'BACKEND_VALIDATE']) delete base[k];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PRELUDE + body], {
    env: { ...base, ...env },
    encoding: 'utf8',
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const MISSING = { NABLA_NATIVE_PATH: '/nonexistent/nabla.node' };

test('importing nabla loads no addon and prints nothing; the first op chooses the default', () => {
  const r = run(`
    console.log('import', addons(), Object.keys(nb).length > 50);
    nb.ones([2]).add(1);
    console.log('use', addons(), nb.backend().name);`);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, `import 0 true\nuse ${addonBuilt ? 1 : 0} ${addonBuilt ? 'native' : 'js'}\n`);
});

test('without the addon: WASM, with exactly one warning on stderr, on first use only', () => {
  const r = run(
    `
    console.log('imported');
    nb.ones([2]).add(1); nb.ones([3]).mul(2);
    const w = nb.backend();
    nb.setBackend('js');
    const b = nb.backend();
    console.log(w.name, w.wasmThreads, b.name, b.available.join(','), typeof b.nativeUnavailable);`,
    MISSING,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'imported\nwasm true js js,wasm string\n');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^nabla: native backend unavailable \(.*nonexistent.*\); using the WASM backend\.$/);
});

test('without the addon or the WASM module: JS, with exactly one warning naming both reasons', () => {
  const r = run(
    `
    nb.ones([2]).add(1); nb.ones([3]).mul(2);
    const b = nb.backend();
    console.log(b.name, b.available.join(','));`,
    { ...MISSING, NABLA_WASM_DIR: '/nonexistent/wasm' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'js js\n');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^nabla: native backend unavailable \(.*nonexistent.*\) and WASM backend unavailable \(.*nonexistent\/wasm\/nabla\.wasm.*\); using the JS backend/,
  );
});

test('NABLA_BACKEND=js and an explicit setBackend("js") choose JS silently, without loading the addon', () => {
  for (const [env, pre] of [
    [{ NABLA_BACKEND: 'js' }, ''],
    [{}, `nb.setBackend('js');`],
  ] as const) {
    const r = run(`${pre} nb.ones([2]).add(1); console.log(nb.ones([2]).add(1).sum().item(), addons());`, env);
    assert.equal(r.stderr, '', JSON.stringify(env));
    assert.equal(r.stdout, '4 0\n');
  }
});

test('NABLA_BACKEND=native without the addon, or an unknown value, fails on first use with the reason', () => {
  let r = run(`console.log('imported'); try { nb.ones([2]).add(1); } catch (e) { console.log(e.message); }`, {
    ...MISSING,
    NABLA_BACKEND: 'native',
  });
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^imported\nNABLA_BACKEND=native, but the native addon could not be loaded: .*nonexistent/);
  r = run(`try { nb.ones([2]).add(1); } catch (e) { console.log(e.message); }`, { NABLA_BACKEND: 'cuda' });
  assert.equal(r.stdout, `NABLA_BACKEND must be 'js', 'native' or 'wasm', got 'cuda'\n`);
  r = run(`try { nb.setBackend('native'); } catch (e) { console.log(e.message); }`, MISSING);
  assert.match(r.stdout, /^setBackend: the native backend is not available: .*nonexistent/);
});

const noAddon = !addonBuilt && 'native addon not built';
test('setBackend("native") loads the addon on demand when it is built', { skip: noAddon }, () => {
  const r = run(
    `nb.setBackend('native'); console.log(addons(), nb.backend().name, nb.ones([2]).add(1).sum().item());`,
    { NABLA_BACKEND: 'js' },
  );
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '1 native 4\n');
});

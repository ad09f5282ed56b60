// Buffers detached while the addon reads a call's arguments (issue #24, item 3): every argument is
// read and copied before any buffer's memory is taken, so a getter, a Proxy trap or an array element
// that detaches a buffer gives a clear Error instead of a use-after-free. Each case runs in a child
// process (hostile_child.ts): a crash fails the test with its signal instead of aborting the runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skip } from './helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'hostile_child.js');

function runChild(mode: string): { calls: number; failures: string[] } {
  const r = spawnSync(process.execPath, [CHILD, mode], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `the child was killed by ${r.signal} (a crash in the addon)\n${r.stderr}`);
  assert.equal(r.status, 0, `the child exited with ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('hostile: a Layout whose shape getter detaches the buffer mid-call (issue #24 reproducer)', { skip }, () => {
  const { failures } = runChild('repro');
  assert.deepEqual(failures, []);
});

test('hostile: every export, each layout and array argument detaching every buffer when read', { skip }, () => {
  const { calls, failures } = runChild('walk');
  assert.ok(calls > 60, `only ${calls} hostile calls were made`);
  assert.deepEqual(failures, []);
});

test('hostile: a resizable buffer shrunk by a layout getter mid-call', { skip }, () => {
  const { calls, failures } = runChild('resize');
  assert.equal(calls, 2);
  assert.deepEqual(failures, []);
});

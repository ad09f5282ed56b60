// nb.version and `nabla --version` report the version in package.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as nb from '../../src/index.js';
import { REPO_ROOT } from '../helpers/data.js';

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

test('nb.version is package.json version (src/util/version.ts is kept in sync by `npm version`)', () => {
  assert.match(nb.version, /^\d+\.\d+\.\d+/);
  assert.equal(nb.version, PKG.version);
});

test('nabla --version and -v print the version', () => {
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  for (const flag of ['--version', '-v']) {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), flag], {
      encoding: 'utf8',
      env,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${PKG.version}\n`);
  }
});

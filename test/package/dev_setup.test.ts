// `npx nabla` in a clone of the repository: npm links the bins of dependencies only, so the install's
// postinstall (scripts/dev-setup.mjs) builds dist/ and links node_modules/.bin/nabla to the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/data.js';

const LINK = join(REPO_ROOT, 'node_modules', '.bin', 'nabla');
const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  files: string[];
};

test('npm install runs dev-setup, which the package also ships (a no-op there: no src/)', () => {
  assert.equal(PKG.scripts.postinstall, 'node scripts/dev-setup.mjs');
  assert.ok(PKG.files.includes('scripts/dev-setup.mjs'));
});

test('after npm install, node_modules/.bin/nabla is the built CLI and `npx nabla --version` runs offline', () => {
  assert.ok(existsSync(LINK), `${LINK} is missing: npm install runs scripts/dev-setup.mjs, which links it`);
  assert.equal(realpathSync(LINK), realpathSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === 'NODE_TEST_CONTEXT' || k.toLowerCase().startsWith('npm_')) delete env[k];
  const r = spawnSync(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--offline', 'nabla', '--version'], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${PKG.version}\n`);
});

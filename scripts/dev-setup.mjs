// `npm install` / `npm ci` in a clone of the repository (postinstall): builds dist/ with tsc and links
// node_modules/.bin/nabla to the CLI, so that `npx nabla ...` works at once and starts fast. npm links
// the bins of dependencies only, never the project's own, so without the link `npx nabla` would
// look for a package named nabla in the registry. In an installed package (no src/) it does nothing:
// dist/ ships in the tarball and npm links the bin itself.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'src')) || !existsSync(join(root, 'node_modules', 'typescript'))) process.exit(0);

const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (r.status !== 0) {
  // NOTE: a tree that does not compile should not stop the install; `npm run build` shows the errors.
  console.warn('nabla: the TypeScript build failed; run `npm run build` to see why');
  process.exit(0);
}
const bin = join(root, 'node_modules', '.bin');
const link = join(bin, 'nabla');
mkdirSync(bin, { recursive: true });
try {
  if (lstatSync(link)) rmSync(link);
} catch {
  /* no link yet */
}
symlinkSync(join('..', '..', 'dist', 'src', 'cli', 'main.js'), link);

// `npm run build`: an incremental tsc build (tsc -b), so an unchanged tree builds in well under a second.
// NOTE: tsc trusts its dist/tsconfig.tsbuildinfo and does not re-emit outputs deleted behind its back
// (rm -rf dist/src), so when any compiled file is missing the build info goes and tsc builds in full.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const info = join(root, 'dist', 'tsconfig.tsbuildinfo');

/** The .ts sources under dir (relative to the repo root), as tsconfig.json's include lists them. */
function sources(dir, deep, out) {
  if (!existsSync(join(root, dir))) return out;
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(join(root, rel)).isDirectory()) {
      if (deep) sources(rel, deep, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

if (existsSync(info)) {
  const all = [...sources('src', true, []), ...sources('test', true, []), ...sources('examples', true, [])];
  all.push(...sources('bench', false, []));
  if (all.some((f) => !existsSync(join(root, 'dist', f.replace(/\.ts$/, '.js'))))) rmSync(info);
}
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
chmodSync(join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);

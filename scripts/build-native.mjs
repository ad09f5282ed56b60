// Builds the native addon with node-gyp during `npm install` / `npm ci`. A failed build is not an
// install failure: nabla then runs on its JS backend and says so once at load time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');
if (process.env.NABLA_SKIP_NATIVE_BUILD === '1' || !existsSync(join(native, 'binding.gyp'))) {
  process.exit(0);
}
// npm sets npm_config_node_gyp to its bundled node-gyp during install; outside npm, look for
// the copy bundled with npm next to this Node, then for one on PATH.
const bundled = join(
  dirname(process.execPath),
  '..',
  'lib',
  'node_modules',
  'npm',
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js',
);
const gypJs = [process.env.npm_config_node_gyp, bundled].find((p) => p && existsSync(p));
const args = ['rebuild', '--directory', native];
// Build against this Node's own headers (no download) unless npm already says where they are.
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')))
  args.push(`--nodedir=${prefix}`);
// nb.distributed links Open MPI (or any MPI with an mpicc wrapper) when it is here at build time; the
// MPI glue is its own addon (nabla_mpi.node), so nabla.node builds and loads the same without it.
const env = { ...process.env };
const mpi = process.env.NABLA_NO_MPI !== '1' && spawnSync('mpicc', ['--showme:link'], { encoding: 'utf8' });
if (mpi && mpi.status === 0) env.GYP_DEFINES = `${env.GYP_DEFINES ?? ''} nabla_mpi=1`.trim();
else console.log('nabla: mpicc not found, building without nb.distributed (apt-get install libopenmpi-dev)');
const gyp = (e) =>
  gypJs
    ? spawnSync(process.execPath, [gypJs, ...args], { stdio: 'inherit', env: e })
    : spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32', env: e });
let r = gyp(env);
if (r.status !== 0 && env.GYP_DEFINES !== process.env.GYP_DEFINES) {
  // NOTE: a broken MPI install must not cost the kernels: build again without the MPI addon.
  console.warn('nabla: the build with MPI failed; building without nb.distributed');
  r = gyp(process.env);
}
if (r.status !== 0) {
  const why = r.error ? ` (${r.error.message})` : '';
  console.warn(`nabla: the native addon did not build${why}; nabla will use its JS backend (slower).`);
}
process.exit(0);

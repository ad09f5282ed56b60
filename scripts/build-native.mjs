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
const r = spawnSync('node-gyp', ['rebuild', '--directory', native], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn('nabla: the native addon did not build; nabla will use its JS backend (slower).');
}
process.exit(0);

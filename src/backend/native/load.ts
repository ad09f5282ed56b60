// Finds and loads the native addon (native/build/Release/nabla.node) and checks it against this
// build's contract (every export of native/src/napi/kernels.def, with its signature). Never throws:
// on any failure it returns { addon: null, reason } naming what is wrong, so nabla can fall back to
// the JS backend with one clear warning. NABLA_NATIVE_PATH overrides the location.

import { existsSync, createRequire, dirname, join, fileURLToPath, process } from '../../platform/node.js';
import { checkAddon, type CpuInfo, type NablaAddon } from './contract.js';

export interface AddonLoad {
  addon: NablaAddon | null;
  /** Why it did not load (null addon), for the fallback warning. */
  reason?: string;
  path?: string;
  cpu?: CpuInfo;
}

const REL = join('native', 'build', 'Release', 'nabla.node');

/** Walks up from this file (dist/src/backend/native or src/backend/native) to the package root. */
function findAddon(): string | undefined {
  const env = typeof process !== 'undefined' ? process.env?.NABLA_NATIVE_PATH : undefined;
  if (env) return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = join(dir, REL);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

let cached: AddonLoad | undefined;

export function loadAddon(): AddonLoad {
  if (cached) return cached;
  try {
    if (typeof process === 'undefined' || !process.versions?.node) {
      cached = { addon: null, reason: 'not running under Node.js' };
      return cached;
    }
    const path = findAddon();
    if (!path) {
      cached = {
        addon: null,
        reason: `${REL} was not found (run \`npm install\` or \`node-gyp rebuild --directory native\`)`,
      };
      return cached;
    }
    const require = createRequire(import.meta.url);
    const addon = require(path) as NablaAddon;
    const wrong = checkAddon(addon);
    if (wrong) {
      const reason = `${path} does not match this nabla: ${wrong} (rebuild it: node scripts/build-native.mjs)`;
      cached = { addon: null, reason, path };
      return cached;
    }
    cached = { addon, path, cpu: addon.cpuInfo() };
    return cached;
  } catch (e) {
    cached = { addon: null, reason: `loading the addon failed: ${String((e as Error).message).split('\n')[0]}` };
    return cached;
  }
}

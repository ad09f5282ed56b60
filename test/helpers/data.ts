// Where the shared datasets live. CI clones the repo next to shared/, so ../shared/data from the
// repo root; a user's fresh clone has none, and tests that need it skip with this reason.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file compiles to dist/test/helpers/data.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SHARED_DATA = process.env.NABLA_SHARED_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data');

/** Absolute path of a file in ../shared/data. */
export function sharedData(name: string): string {
  return join(SHARED_DATA, name);
}

/** `false` when the file exists, else a skip reason for node:test's `skip` option. */
export function skipUnlessShared(...names: string[]): false | string {
  for (const n of names) {
    if (!existsSync(sharedData(n))) return `needs ${n} from ../shared/data (not present in this checkout)`;
  }
  return false;
}

/** Absolute path of a committed golden file under test/golden. */
export function golden(name: string): string {
  return join(REPO_ROOT, 'test', 'golden', name);
}

// The Node services the library uses (file system, paths, zlib, hashes, module loading), gathered in
// one module so that the core reaches Node only through here. A browser bundle swaps this file for
// ./browser.ts (package.json's "browser" field, honoured by esbuild, Vite, webpack and Rollup), which
// exports the same names: path helpers and zlib-free fallbacks that work, file-system calls that throw
// one clear error. Import from here, never from node:* directly, anywhere below src/cli.

export {
  closeSync,
  constants,
  copyFileSync,
  createReadStream,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  read,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
export { basename, dirname, extname, join, relative, resolve } from 'node:path';
export { deflateRawSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
export { createHash, randomBytes, type Hash } from 'node:crypto';
export { homedir, hostname, tmpdir } from 'node:os';
export { spawnSync } from 'node:child_process';
export { createRequire } from 'node:module';
export { promisify } from 'node:util';
export { fileURLToPath } from 'node:url';
export { Buffer } from 'node:buffer';
export { default as process } from 'node:process';
export { setImmediate } from 'node:timers';
import * as zlib from 'node:zlib';

/** True here; false in ./browser.ts. */
export const IS_NODE = true;

/** zlib.crc32 where Node has it (>= 20.15), several times faster than a table loop on large records. */
export const zlibCrc32 = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

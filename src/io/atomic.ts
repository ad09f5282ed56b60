// Atomic writes: every checkpoint goes to a temporary file in the target's directory, is fsynced,
// then renamed over the target, and the directory is fsynced so the rename itself survives a power
// cut. On any error the temporary file is removed and an existing file at `path` is left untouched.
// A SIGKILL (or a crash) mid-save cannot run any cleanup, so temporary files carry a recognisable
// name with their writer's host and pid, and every save sweeps the stale ones of its directory.
// NOTE: O_TMPFILE + linkat would leave nothing behind, but Node exposes neither, and linkat cannot
// replace an existing file; a named temporary file plus rename is the portable way.
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  basename,
  dirname,
  join,
  hostname,
  randomBytes,
  process,
} from '../platform/node.js';
import { crc32 } from './zip.js';

/** Marks our temporary files: `.<target>.nbtmp.<host>.<pid>.<random>`. */
const TAG = '.nbtmp.';
const HOST = crc32(new TextEncoder().encode(hostname())).toString(16).padStart(8, '0');
/** A temporary file untouched this long is stale whoever wrote it (another host, a reused pid). */
export const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_RE = /^\..+\.nbtmp\.([0-9a-f]{8})\.(\d+)\.[0-9a-f]{8}$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` left by killed saves: those whose writer ran on this host and
 * is gone, and any not modified for STALE_TEMP_MS (a live writer keeps touching its file).
 * Returns the names removed.
 */
export function sweepStaleTemps(dir: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const p = join(dir, name);
    try {
      const pid = Number(m[2]);
      const dead = m[1] === HOST && pid !== process.pid && !alive(pid);
      if (!dead && now - statSync(p).mtimeMs < STALE_TEMP_MS) continue;
      unlinkSync(p);
      removed.push(name);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

/** fsync of a directory, so a rename in it is durable; a no-op where directories cannot be opened (Windows). */
function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the chunks (generated lazily, so large checkpoints are never concatenated) to `path`. */
export function writeAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  const dir = dirname(path);
  sweepStaleTemps(dir);
  const tmp = join(dir, `.${basename(path)}${TAG}${HOST}.${process.pid}.${randomBytes(4).toString('hex')}`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx');
    for (const c of chunks) {
      let done = 0;
      while (done < c.byteLength) done += writeSync(fd, c, done, c.byteLength - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0)
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    // NOTE: name the target, not the temporary file, in system errors (ENOENT, ENOSPC, EACCES).
    if ((e as NodeJS.ErrnoException).syscall)
      throw new Error(`save(${path}): ${(e as Error).message.replace(tmp, path)}`, { cause: e });
    throw e;
  }
  try {
    fsyncDir(dir);
  } catch (e) {
    const msg = `the file is written, but syncing its directory failed: ${(e as Error).message}`;
    throw new Error(`save(${path}): ${msg}`, { cause: e });
  }
}

/** Writes `text` as UTF-8 to `path` with writeAtomic: the file is whole or untouched. */
export function writeTextAtomic(path: string, text: string): void {
  writeAtomic(path, [new TextEncoder().encode(text)]);
}

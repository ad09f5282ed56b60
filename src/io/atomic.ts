// Atomic writes: every checkpoint goes to a temporary file in the target's directory, is fsynced,
// then renamed over the target. On any error the temporary file is removed and an existing file
// at `path` is left untouched.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes the chunks (generated lazily, so large checkpoints are never concatenated) to `path`. */
export function writeAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
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
    if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* never created */ }
    // NOTE: name the target, not the temporary file, in system errors (ENOENT, ENOSPC, EACCES).
    if ((e as NodeJS.ErrnoException).syscall) throw new Error(`save(${path}): ${(e as Error).message.replace(tmp, path)}`, { cause: e });
    throw e;
  }
}

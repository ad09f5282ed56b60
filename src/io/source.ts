// Byte sources for the checkpoint readers: an in-memory Buffer or an open file read by position.
// Every reader validates sizes against `source.size` before it allocates, so a hostile header can
// never make us allocate more than the file holds.
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';

const readAsync = promisify(read);

/** Every problem with a checkpoint file: the message names the file and the problem. */
export class CheckpointError extends Error {
  /** Set when the data simply ended early (a reader may retry with more bytes). */
  truncated = false;
  constructor(readonly file: string, problem: string, options?: { cause?: unknown }) {
    super(`nabla.load(${file}): ${problem}`, options);
    this.name = 'CheckpointError';
  }
}

/** Random-access bytes. `read` returns a view or a fresh copy; `readInto` fills `dest` exactly. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(pos: number, len: number, what?: string): Uint8Array;
  readInto(pos: number, dest: Uint8Array, what?: string): void;
  /** Non-blocking readInto, where the source has one (files). */
  readIntoAsync?(pos: number, dest: Uint8Array, what?: string): Promise<void>;
}

function checkRange(src: ByteSource, pos: number, len: number, what: string): void {
  if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > src.size) {
    throw new CheckpointError(src.name, `${what}: bytes [${pos}, ${pos + len}) lie outside the file (${src.size} bytes); the file is truncated or its header lies`);
  }
}

export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(readonly buf: Uint8Array, readonly name = '<buffer>') {
    this.size = buf.byteLength;
  }
  read(pos: number, len: number, what = 'read'): Uint8Array {
    checkRange(this, pos, len, what);
    return this.buf.subarray(pos, pos + len);
  }
  readInto(pos: number, dest: Uint8Array, what = 'read'): void {
    checkRange(this, pos, dest.byteLength, what);
    dest.set(this.buf.subarray(pos, pos + dest.byteLength));
  }
}

/** Positioned reads on a file descriptor: nothing but the requested range is ever in memory. */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number;
  constructor(readonly name: string) {
    try {
      this.fd = openSync(name, 'r');
    } catch (e) {
      throw new CheckpointError(name, `cannot open: ${(e as Error).message}`, { cause: e });
    }
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      closeSync(this.fd);
      throw new CheckpointError(name, 'not a regular file');
    }
    this.size = st.size;
  }
  read(pos: number, len: number, what = 'read'): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(pos, out, what);
    return out;
  }
  readInto(pos: number, dest: Uint8Array, what = 'read'): void {
    checkRange(this, pos, dest.byteLength, what);
    let done = 0;
    while (done < dest.byteLength) {
      // NOTE: readSync takes at most 2 GiB per call, so large tensors are read in pieces.
      const n = readSync(this.fd, dest, done, Math.min(dest.byteLength - done, 1 << 30), pos + done);
      if (n === 0) throw new CheckpointError(this.name, `${what}: unexpected end of file at byte ${pos + done}`);
      done += n;
    }
  }
  async readIntoAsync(pos: number, dest: Uint8Array, what = 'read'): Promise<void> {
    checkRange(this, pos, dest.byteLength, what);
    let done = 0;
    while (done < dest.byteLength) {
      const { bytesRead } = await readAsync(this.fd, dest, done, Math.min(dest.byteLength - done, 1 << 30), pos + done);
      if (bytesRead === 0) throw new CheckpointError(this.name, `${what}: unexpected end of file at byte ${pos + done}`);
      done += bytesRead;
    }
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** A window [start, start+size) of another source (a stored zip member). */
export class SliceSource implements ByteSource {
  constructor(readonly parent: ByteSource, readonly start: number, readonly size: number, readonly name: string) {}
  read(pos: number, len: number, what = 'read'): Uint8Array {
    checkRange(this, pos, len, what);
    return this.parent.read(this.start + pos, len);
  }
  readInto(pos: number, dest: Uint8Array, what = 'read'): void {
    checkRange(this, pos, dest.byteLength, what);
    this.parent.readInto(this.start + pos, dest);
  }
  async readIntoAsync(pos: number, dest: Uint8Array, what = 'read'): Promise<void> {
    checkRange(this, pos, dest.byteLength, what);
    if (this.parent.readIntoAsync) await this.parent.readIntoAsync(this.start + pos, dest);
    else this.parent.readInto(this.start + pos, dest);
  }
}

/** Opens `path`, runs `fn` and always closes the file. */
export function withFile<T>(path: string, fn: (src: FileSource) => T): T {
  const src = new FileSource(path);
  try {
    return fn(src);
  } finally {
    src.close();
  }
}

/** withFile for async work: the file stays open until the promise settles. */
export async function withFileAsync<T>(path: string, fn: (src: FileSource) => Promise<T>): Promise<T> {
  const src = new FileSource(path);
  try {
    return await fn(src);
  } finally {
    src.close();
  }
}

/** Little-endian field reads with bounds that name the file. */
export function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
export function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}
/** A u64 as a JS number; values above 2^53 come back as Infinity so range checks reject them. */
export function u64(b: Uint8Array, at: number): number {
  const hi = u32(b, at + 4);
  if (hi >= 0x200000) return Infinity;
  return hi * 0x100000000 + u32(b, at);
}

// Byte sources for the checkpoint readers: an in-memory Buffer or an open file read by position.
// Every reader validates sizes against `source.size` before it allocates, so a hostile header can
// never make us allocate more than the file holds.
import { closeSync, constants, fstatSync, openSync, read, readSync, promisify } from '../platform/node.js';

const readAsync = promisify(read);

/** Every problem with a checkpoint file: the message names the file and the problem. */
export class CheckpointError extends Error {
  /** Set when the data simply ended early (a reader may retry with more bytes). */
  truncated = false;
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
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
  /** Checks what needs a full pass (a stored zip member's CRC-32); readers call it once done. */
  finish?(): void;
}

function checkRange(src: ByteSource, pos: number, len: number, what: string): void {
  if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > src.size) {
    throw new CheckpointError(
      src.name,
      `${what}: bytes [${pos}, ${pos + len}) lie outside the file (${src.size} bytes); the file is truncated or its ` +
        `header lies`,
    );
  }
}

export class BufferSource implements ByteSource {
  readonly size: number;
  /**
   * `owned`: the bytes belong to this source alone (an inflated zip member), so a reader may keep
   * views of them as tensor storage instead of copying: no second copy of a decompressed array.
   */
  constructor(
    readonly buf: Uint8Array,
    readonly name = '<buffer>',
    readonly owned = false,
  ) {
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
    this.fd = openRegular(name, (m, cause) => new CheckpointError(name, m, { cause }));
    this.size = fstatSync(this.fd).size;
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
      if (bytesRead === 0)
        throw new CheckpointError(this.name, `${what}: unexpected end of file at byte ${pos + done}`);
      done += bytesRead;
    }
  }
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Opens `path` for reading if it is a regular file, else throws `err(problem)`.
 * NOTE: O_NONBLOCK, because a plain open of a FIFO blocks (the event loop too) until a writer
 * appears; the flag changes nothing for regular files. Devices, FIFOs, sockets and directories are
 * refused after the open, by fstat of the descriptor itself, so a swapped path cannot slip through.
 */
export function openRegular(path: string, err: (problem: string, cause?: unknown) => Error): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw err(`cannot open: ${(e as Error).message}`, e);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    const kind = st.isFIFO()
      ? 'a FIFO'
      : st.isDirectory()
        ? 'a directory'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : st.isSocket()
            ? 'a socket'
            : 'special';
    throw err(`not a regular file (${kind}); only regular files are read`);
  }
  return fd;
}

/**
 * A short description of any value for error messages, bounded in depth and length: never recursion
 * on a hostile structure (Array.prototype.toString on a 200,000-deep list overflows the call stack).
 */
export function repr(x: unknown, depth = 2): string {
  let s: string;
  if (x === null) s = 'None';
  else if (typeof x === 'string') s = JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  else if (typeof x === 'bigint') s = `${x}`;
  else if (typeof x !== 'object') s = String(x);
  else if (Array.isArray(x)) {
    if (depth <= 0) s = `[...${x.length} items]`;
    else
      s = `[${x
        .slice(0, 8)
        .map((v) => repr(v, depth - 1))
        .join(', ')}${x.length > 8 ? ', ...' : ''}]`;
  } else s = `<${(x as object).constructor?.name ?? 'object'}>`;
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** A window [start, start+size) of another source (a stored zip member). */
export class SliceSource implements ByteSource {
  constructor(
    readonly parent: ByteSource,
    readonly start: number,
    readonly size: number,
    readonly name: string,
  ) {}
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

/**
 * A last line of defence: an engine limit hit while reading (a RangeError such as "Maximum call stack
 * size exceeded" or "Invalid array length") becomes a CheckpointError naming the file.
 */
function named(path: string, e: unknown): unknown {
  if (e instanceof RangeError || (e as NodeJS.ErrnoException)?.code === 'ERR_STRING_TOO_LONG') {
    return new CheckpointError(path, `the file exceeds an engine limit (${(e as Error).message})`, { cause: e });
  }
  return e;
}

/** Opens `path`, runs `fn` and always closes the file. */
export function withFile<T>(path: string, fn: (src: FileSource) => T): T {
  const src = new FileSource(path);
  try {
    return fn(src);
  } catch (e) {
    throw named(path, e);
  } finally {
    src.close();
  }
}

/** withFile for async work: the file stays open until the promise settles. */
export async function withFileAsync<T>(path: string, fn: (src: FileSource) => Promise<T>): Promise<T> {
  const src = new FileSource(path);
  try {
    return await fn(src);
  } catch (e) {
    throw named(path, e);
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

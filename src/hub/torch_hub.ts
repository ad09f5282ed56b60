// torch.hub's checkpoint cache, shared with Python: load_state_dict_from_url keeps files in
// $TORCH_HOME/hub/checkpoints (TORCH_HOME default $XDG_CACHE_HOME/torch, i.e. ~/.cache/torch) under
// the URL's file name; a name like resnet18-f37072fd.pth carries the start of the file's sha256,
// checked after the download (check_hash), which goes to a temporary file renamed into place.

import {
  createHash,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
  randomBytes,
  homedir,
  basename,
  join,
  process,
} from '../platform/node.js';

/** $TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch. */
export function torchHome(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.TORCH_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'torch');
}

/** The hash prefix torch.hub reads from a file name: 'resnet18-f37072fd.pth' -> 'f37072fd' (HASH_REGEX). */
export function hashPrefixOf(fileName: string): string | null {
  return /-([a-f0-9]*)\./.exec(fileName)?.[1] || null;
}

export interface CheckpointOptions {
  /** Default $TORCH_HOME/hub/checkpoints. */
  modelDir?: string;
  /** Check the sha256 against the prefix in the file name (default true, as torchvision calls it). */
  checkHash?: boolean;
  /** A progress line on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  fileName?: string;
  /** The full sha256 the file must have (checked after the download, as Keras's get_file does). */
  sha256?: string;
}

/**
 * The local path of the checkpoint at `url`, downloaded into the torch.hub cache when absent (as
 * torch.hub.load_state_dict_from_url, which does not re-check a file already there).
 */
export async function cachedCheckpoint(url: string, options: CheckpointOptions = {}): Promise<string> {
  const dir = options.modelDir ?? join(torchHome(), 'hub', 'checkpoints');
  const name = options.fileName ?? basename(new URL(url).pathname);
  const dst = join(dir, name);
  if (existsSync(dst)) return dst;
  mkdirSync(dir, { recursive: true });
  const prefix = (options.checkHash ?? true) ? hashPrefixOf(name) : null;
  const tmp = `${dst}.${randomBytes(8).toString('hex')}.partial`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { 'User-Agent': 'nabla; torch.hub' } });
  } catch (e) {
    const why = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new Error(
      `torch.hub: cannot download ${url} (${why}); without a network, put the file at ${dst} ` +
        '(or set TORCH_HOME to a folder whose hub/checkpoints has it)',
      { cause: e },
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`torch.hub: GET ${url} answered HTTP ${res.status} ${res.statusText}`);
  }
  const total = Number(res.headers.get('content-length')) || null;
  const show = options.progress ?? process.stderr.isTTY === true;
  const hash = createHash('sha256');
  const fd = openSync(tmp, 'wx');
  let done = 0,
    last = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      let off = 0;
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
      done += chunk.byteLength;
      if (show && performance.now() - last > 100) {
        last = performance.now();
        const pct = total ? ` ${Math.floor((100 * done) / total)}%` : '';
        process.stderr.write(`\rDownloading ${name}${pct} ${(done / 1e6).toFixed(1)} MB\x1b[K`);
      }
    }
    fsyncSync(fd);
    closeSync(fd);
    if (show) process.stderr.write(`\rDownloading ${name} ${(done / 1e6).toFixed(1)} MB\x1b[K\n`);
    if (total !== null && done !== total) throw new Error(`torch.hub: ${url}: got ${done} of ${total} bytes`);
    const digest = hash.digest('hex');
    if (options.sha256 && digest !== options.sha256.toLowerCase()) {
      throw new Error(
        `download: invalid hash value for ${url}: sha256 ${digest}, expected ${options.sha256}; the download was ` +
          `removed`,
      );
    }
    if (prefix && !digest.startsWith(prefix)) {
      throw new Error(
        `torch.hub: invalid hash value for ${url}: sha256 ${digest} does not start with '${prefix}' ` +
          '(from the file name); the download was removed',
      );
    }
    renameSync(tmp, dst);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* renamed or gone */
    }
    throw e;
  }
  return dst;
}

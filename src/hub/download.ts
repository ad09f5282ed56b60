// Downloads from the Hugging Face Hub into the shared cache (see cache.ts), as huggingface_hub's
// hf_hub_download does: a HEAD on {endpoint}/{repo}/resolve/{revision}/{file} gives the commit
// (X-Repo-Commit), the blob's etag (X-Linked-Etag for LFS files, else ETag) and size; relative
// redirects (a renamed repo) are followed, an absolute one (LFS files on a CDN) gives the URL to GET.
// The body goes to blobs/{etag}.incomplete (resumed with a Range request when one is left over),
// is checked against the etag (sha256 for LFS files, git's blob sha1 otherwise) and the size, and
// is renamed into place; snapshots/{commit}/{file} then links to it. A failed check removes the
// partial file. Without a network, a file already cached for the revision is used.

import {
  createHash,
  type Hash,
  closeSync,
  copyFileSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  hostname,
  dirname,
  join,
  relative,
  process,
} from '../platform/node.js';
import { writeAtomic, writeTextAtomic } from '../io/atomic.js';
import {
  type HubOptions,
  cachedCommit,
  hubCacheDir,
  hubEndpoint,
  hubOffline,
  hubToken,
  isCommitHash,
  repoCacheDir,
  tryCachedFile,
} from './cache.js';

/** An answer of the Hub that is not the file: `code` is its X-Error-Code (RepoNotFound, EntryNotFound, ...). */
export class HubError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** Settings with the environment's defaults filled in. */
export interface HubSettings {
  revision: string;
  cacheDir: string;
  endpoint: string;
  token: string | null;
  offline: boolean;
  progress: HubOptions['progress'];
}

export function hubSettings(o: HubOptions = {}): HubSettings {
  return {
    revision: o.revision ?? 'main',
    cacheDir: o.cacheDir ?? hubCacheDir(),
    endpoint: (o.endpoint ?? hubEndpoint()).replace(/\/+$/, ''),
    token: o.token === undefined ? hubToken() : o.token,
    offline: o.offline ?? hubOffline(),
    progress: o.progress,
  };
}

function checkNames(repoId: string, filename: string): void {
  const bad = (s: string) =>
    s === '' || s.split('/').some((p) => p === '' || p === '.' || p === '..') || s.startsWith('/');
  if (bad(repoId) || repoId.split('/').length > 2)
    throw new Error(`hub: '${repoId}' is not a repo id (name or org/name)`);
  if (bad(filename) || filename.includes('\\')) throw new Error(`hub: '${filename}' is not a file path inside a repo`);
}

export function resolveUrl(endpoint: string, repoId: string, revision: string, filename: string): string {
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${enc(repoId)}/resolve/${encodeURIComponent(revision)}/${enc(filename)}`;
}

/** What to do to get a file the cache lacks, in the words of the error. */
function offlineHint(cacheDir: string): string {
  return `(cache: ${cacheDir}; set HF_HUB_CACHE or HF_HOME to use another cache, or unset HF_HUB_OFFLINE to download)`;
}

/** The message of a Hub error answer, from its status and X-Error-Code, as huggingface_hub words it. */
function hubError(res: Response, repoId: string, filename: string, revision: string, url: string): HubError {
  const code = res.headers.get('x-error-code');
  const server = res.headers.get('x-error-message');
  let msg: string;
  if (code === 'RepoNotFound' || (res.status === 401 && !code)) {
    msg = `repository '${repoId}' not found, or it is private or gated and needs a token (set HF_TOKEN)`;
  } else if (code === 'GatedRepo') {
    msg = `repository '${repoId}' is gated: accept its terms on the Hub and set HF_TOKEN`;
  } else if (code === 'RevisionNotFound') {
    msg = `revision '${revision}' of '${repoId}' not found`;
  } else if (code === 'EntryNotFound' || res.status === 404) {
    msg = `'${filename}' not found in '${repoId}' at revision '${revision}'`;
  } else {
    msg = `HTTP ${res.status} ${res.statusText} for ${url}`;
  }
  return new HubError(
    `hub: ${msg}${server ? ` (${server})` : ''}`,
    res.status,
    code ?? (res.status === 404 ? 'EntryNotFound' : null),
  );
}

interface Metadata {
  commit: string;
  etag: string;
  size: number | null;
  location: string;
}

function normalizeEtag(e: string | null): string | null {
  return e === null ? null : e.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** HEAD of the resolve URL; relative redirects followed, absolute ones reported as the location. */
async function headMetadata(
  url: string,
  headers: Record<string, string>,
  who: () => string,
): Promise<Metadata | Response> {
  let u = url;
  for (let hops = 0; hops < 10; hops++) {
    const res = await fetch(u, {
      method: 'HEAD',
      redirect: 'manual',
      headers: { ...headers, 'Accept-Encoding': 'identity' },
    });
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc) {
      const next = new URL(loc, u);
      // NOTE: a relative Location is the Hub's own redirect (renamed repo); follow it. An absolute one is
      // the LFS CDN: its headers already carry X-Linked-Etag/X-Linked-Size, so the GET goes there.
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(loc)) {
        u = next.href;
        continue;
      }
      return meta(res, next.href, who);
    }
    if (!res.ok) return res;
    return meta(res, u, who);
  }
  throw new Error(`hub: more than 10 redirects from ${url}`);
}

function meta(res: Response, location: string, who: () => string): Metadata {
  const commit = res.headers.get('x-repo-commit');
  const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
  const sizeText = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
  if (!commit || !etag) {
    throw new Error(
      `hub: ${who()}: the server sent no ${!commit ? 'X-Repo-Commit' : 'ETag'} header; ` +
        'is HF_ENDPOINT a Hugging Face Hub?',
    );
  }
  if (!/^[\w.-]+$/.test(etag)) throw new Error(`hub: ${who()}: the server sent an unusable ETag '${etag}'`);
  const size = sizeText === null ? null : Number(sizeText);
  return { commit, etag, size: size !== null && Number.isSafeInteger(size) && size >= 0 ? size : null, location };
}

/** Hash of the blob as its etag names it: sha256 (LFS) or git's sha1 of 'blob {size}\0' + bytes; null if neither. */
function blobHasher(etag: string, size: number | null): Hash | null {
  if (/^[0-9a-f]{64}$/.test(etag)) return createHash('sha256');
  if (/^[0-9a-f]{40}$/.test(etag) && size !== null) return createHash('sha1').update(`blob ${size}\0`);
  return null;
}

async function hashFile(h: Hash, path: string): Promise<void> {
  for await (const c of createReadStream(path)) h.update(c as Buffer);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** A progress reporter: a redrawn stderr line (at most ~10 times a second), a callback, or nothing. */
function progressOf(
  opt: HubOptions['progress'],
  label: string,
): (done: number, total: number | null, end?: boolean) => void {
  if (typeof opt === 'function') return (d, t) => opt(label, d, t);
  const show = opt ?? (process.stderr.isTTY === true && !process.env.HF_HUB_DISABLE_PROGRESS_BARS);
  if (!show) return () => {};
  const t0 = performance.now();
  let last = 0;
  return (done, total, end = false) => {
    const now = performance.now();
    if (!end && now - last < 100) return;
    last = now;
    const rate = done / Math.max(1e-3, (now - t0) / 1000);
    const pct = total
      ? `${Math.floor((100 * done) / total)
          .toString()
          .padStart(3)}% `
      : '';
    const bar = total ? `|${'#'.repeat(Math.round((20 * done) / total)).padEnd(20, ' ')}| ` : '';
    process.stderr.write(
      `\r${label} ${pct}${bar}${mb(done)}${total ? ` / ${mb(total)}` : ''} ${mb(rate)}/s\x1b[K${end ? '\n' : ''}`,
    );
  };
}

/** GETs `url` into `blob` through `blob.incomplete`, resuming it, and checks the hash and size. */
async function downloadBlob(
  url: string,
  blob: string,
  m: Metadata,
  headers: Record<string, string>,
  progress: HubOptions['progress'],
  label: string,
): Promise<void> {
  const part = `${blob}.incomplete`;
  let have = existsSync(part) ? statSync(part).size : 0;
  if (m.size !== null && have > m.size) {
    unlinkSync(part);
    have = 0;
  }
  const res = await fetch(url, {
    headers: { ...headers, 'Accept-Encoding': 'identity', ...(have > 0 ? { Range: `bytes=${have}-` } : {}) },
  });
  if (res.status === 416 && have === m.size) {
    await res.body?.cancel();
  } else if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new HubError(
      `hub: GET ${url} for ${label} answered HTTP ${res.status} ${res.statusText}`,
      res.status,
      res.headers.get('x-error-code'),
    );
  }
  // NOTE: a server that ignores Range answers 200 with the whole file: start over.
  if (res.status === 200) have = 0;
  const hasher = blobHasher(m.etag, m.size);
  if (hasher && have > 0) await hashFile(hasher, part);
  const fd = openSync(part, have > 0 ? 'a' : 'w');
  const report = progressOf(progress, label);
  let done = have;
  try {
    if (res.status !== 416 && res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hasher?.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
        done += chunk.byteLength;
        if (m.size !== null && done > m.size)
          throw new Error(`hub: ${label}: the server sent more than the ${m.size} bytes announced`);
        report(done, m.size);
      }
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  report(done, m.size, true);
  if (m.size !== null && done !== m.size) {
    // NOTE: a short body (a dropped connection) is kept: the next call resumes it with a Range request.
    throw new Error(
      `hub: ${label}: the download stopped at ${done} of ${m.size} bytes; run again to resume it (${part})`,
    );
  }
  if (hasher) {
    const got = hasher.digest('hex');
    if (got !== m.etag) {
      unlinkSync(part);
      const kind = m.etag.length === 64 ? 'sha256' : 'git sha1';
      throw new Error(
        `hub: ${label}: the downloaded file's ${kind} is ${got} but the Hub's etag is ${m.etag}; ` +
          'the corrupt download was removed, run again to retry',
      );
    }
  }
  renameSync(part, blob);
}

const LOCK_WAIT_MS = 30 * 60 * 1000;

/** Whether a lock file's writer (its 'host pid' content) is a process of this host that is gone. */
function staleLock(lock: string): boolean {
  try {
    const [host, pid] = readFileSync(lock, 'utf8').split(' ');
    if (host !== hostname() || !Number.isInteger(Number(pid))) return false;
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Takes blobs/{etag}.lock (as huggingface_hub's FileLock), so two processes never append to one
 * .incomplete file; waits while a live download holds it, and takes over a lock its dead writer left.
 */
async function lockBlob(blob: string, label: string): Promise<() => void> {
  const lock = `${blob}.lock`;
  const start = Date.now();
  for (;;) {
    try {
      writeFileSync(lock, `${hostname()} ${process.pid}`, { flag: 'wx' });
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          /* removed by hand */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (staleLock(lock)) {
      try {
        unlinkSync(lock);
      } catch {
        /* another waiter took it over */
      }
      continue;
    }
    if (Date.now() - start > LOCK_WAIT_MS) {
      throw new Error(`hub: ${label}: another download has held ${lock} for 30 minutes; remove the file if none runs`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/** snapshots/{commit}/{file} -> ../../blobs/{etag}, relative so the cache can be moved (a copy where links fail). */
function linkPointer(pointer: string, blob: string): void {
  mkdirSync(dirname(pointer), { recursive: true });
  try {
    unlinkSync(pointer);
  } catch {
    /* not there */
  }
  try {
    symlinkSync(relative(dirname(pointer), blob), pointer);
  } catch {
    copyFileSync(blob, pointer);
  }
}

/**
 * The local path of `filename` in repo `repoId` at `options.revision` (default 'main'), downloaded
 * into the Hub cache if it is not there. Throws HubError (with .code 'EntryNotFound' for a missing
 * file) on the Hub's refusals, and an error naming the cache when offline without a cached copy.
 */
export async function hfHubDownload(repoId: string, filename: string, options: HubOptions = {}): Promise<string> {
  checkNames(repoId, filename);
  const s = hubSettings(options);
  const repoDir = repoCacheDir(repoId, s.cacheDir);
  const label = `${repoId}/${filename}`;
  const cached = () => tryCachedFile(repoId, filename, s.revision, s.cacheDir);
  if (s.offline) {
    const c = cached();
    if (c) return c;
    throw new HubError(
      `hub: offline (HF_HUB_OFFLINE) and ${label} at revision '${s.revision}' is not in the cache ` +
        `at ${repoDir} ${offlineHint(s.cacheDir)}`,
      null,
      'OfflineNotCached',
    );
  }
  const url = resolveUrl(s.endpoint, repoId, s.revision, filename);
  const origin = new URL(s.endpoint).origin;
  const auth = (u: string): Record<string, string> =>
    s.token && new URL(u).origin === origin ? { Authorization: `Bearer ${s.token}` } : {};
  const base = { 'User-Agent': 'nabla; hf_hub' };
  let m: Metadata | Response;
  try {
    m = await headMetadata(url, { ...base, ...auth(url) }, () => label);
  } catch (e) {
    if (e instanceof TypeError) {
      // NOTE: as huggingface_hub, an unreachable Hub falls back to what the cache has for the revision.
      const c = cached();
      if (c) return c;
      const why = (e as Error & { cause?: Error }).cause?.message ?? e.message;
      throw new Error(
        `hub: cannot reach ${s.endpoint} for ${label} (${why}) and it is not in the cache at ${repoDir}; ` +
          'check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 with a cache (HF_HUB_CACHE/HF_HOME) that has it',
        { cause: e },
      );
    }
    throw e;
  }
  if (m instanceof Response) {
    const err = hubError(m, repoId, filename, s.revision, url);
    const commit = m.headers.get('x-repo-commit');
    if (err.code === 'EntryNotFound' && commit && isCommitHash(commit)) {
      // NOTE: recorded as huggingface_hub does, so an offline run knows the file does not exist.
      const marker = join(repoDir, '.no_exist', commit, ...filename.split('/'));
      mkdirSync(dirname(marker), { recursive: true });
      writeAtomic(marker, []);
    }
    throw err;
  }
  if (s.revision !== m.commit) {
    const ref = join(repoDir, 'refs', ...s.revision.split('/'));
    mkdirSync(dirname(ref), { recursive: true });
    writeTextAtomic(ref, m.commit);
  }
  const pointer = join(repoDir, 'snapshots', m.commit, ...filename.split('/'));
  if (existsSync(pointer)) return pointer;
  const blob = join(repoDir, 'blobs', m.etag);
  if (!existsSync(blob)) {
    mkdirSync(dirname(blob), { recursive: true });
    const release = await lockBlob(blob, label);
    try {
      // NOTE: checked again under the lock: another process may have finished it while this one waited.
      if (!existsSync(blob)) {
        await downloadBlob(m.location, blob, m, { ...base, ...auth(m.location) }, s.progress, label);
      }
    } finally {
      release();
    }
  }
  linkPointer(pointer, blob);
  return pointer;
}

/** Files of a repo at a revision, from {endpoint}/api/models/{repo}/revision/{revision}. */
export async function listRepoFiles(
  repoId: string,
  options: HubOptions = {},
): Promise<{ commit: string; files: string[] }> {
  checkNames(repoId, 'x');
  const s = hubSettings(options);
  const url =
    `${s.endpoint}/api/models/${repoId.split('/').map(encodeURIComponent).join('/')}/revision/` +
    encodeURIComponent(s.revision);
  const res = await fetch(url, { headers: s.token ? { Authorization: `Bearer ${s.token}` } : {} });
  if (!res.ok) throw hubError(res, repoId, '(file list)', s.revision, url);
  const j = (await res.json()) as { sha?: string; siblings?: { rfilename: string }[] };
  if (!j.sha || !Array.isArray(j.siblings)) throw new Error(`hub: ${url} did not answer a model's file list`);
  return { commit: j.sha, files: j.siblings.map((x) => x.rfilename) };
}

/**
 * Downloads every file of a repo (or those `allow` keeps) and returns the snapshot folder. Offline,
 * the cached snapshot of the revision is returned as it is.
 */
export async function snapshotDownload(
  repoId: string,
  options: HubOptions & { allow?: (file: string) => boolean } = {},
): Promise<string> {
  const s = hubSettings(options);
  const repoDir = repoCacheDir(repoId, s.cacheDir);
  if (s.offline) {
    const commit = cachedCommit(repoId, s.revision, s.cacheDir);
    const dir = commit ? join(repoDir, 'snapshots', commit) : null;
    if (dir && existsSync(dir)) return dir;
    throw new HubError(
      `hub: offline (HF_HUB_OFFLINE) and ${repoId} at revision '${s.revision}' is not in the cache at ` +
        `${repoDir} ${offlineHint(s.cacheDir)}`,
      null,
      'OfflineNotCached',
    );
  }
  const { commit, files } = await listRepoFiles(repoId, options);
  const keep = files.filter((f) => options.allow?.(f) ?? true);
  // NOTE: files are fetched at the listed commit, so a push during the download cannot mix revisions.
  for (const f of keep) await hfHubDownload(repoId, f, { ...options, revision: commit });
  if (s.revision !== commit) {
    const ref = join(repoDir, 'refs', ...s.revision.split('/'));
    mkdirSync(dirname(ref), { recursive: true });
    writeTextAtomic(ref, commit);
  }
  const dir = join(repoDir, 'snapshots', commit);
  mkdirSync(dir, { recursive: true });
  return dir;
}

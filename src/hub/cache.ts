// The Hugging Face Hub cache, laid out as Python's huggingface_hub lays it out, so the two share it:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
//     models--{org}--{name}/
//       blobs/{etag}                      file contents, named by git sha1 (small files) or sha256 (LFS)
//       snapshots/{commit}/{path}         symlinks ../../blobs/{etag} (one more ../ per folder in path)
//       refs/{revision}                   the commit a branch or tag pointed to when last resolved
// and the settings it reads from the environment (HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN).

import { existsSync, readFileSync, homedir, join, process } from '../platform/node.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** Where and how to reach the Hub; every field defaults from the environment. */
export interface HubOptions {
  /** A branch, tag or commit hash. Default 'main'. */
  revision?: string;
  /** The hub cache folder (models--org--name lives in it). Default $HF_HUB_CACHE or $HF_HOME/hub. */
  cacheDir?: string;
  /** Default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Bearer token for private and gated repos. Default $HF_TOKEN (or $HUGGING_FACE_HUB_TOKEN). */
  token?: string | null;
  /** Use only the cache, never the network. Default $HF_HUB_OFFLINE (1/true/yes/on). */
  offline?: boolean;
  /** A progress bar on stderr (default: when stderr is a terminal), or a callback per chunk. */
  progress?: boolean | ((file: string, done: number, total: number | null) => void);
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

/** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub ($XDG_CACHE_HOME honoured, as in Python). */
export function hubCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

export function hubEndpoint(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

export function hubOffline(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE);
}

/** $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the token `huggingface-cli login` stored in $HF_HOME/token. */
export function hubToken(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const t = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (t) return t.trim();
  const file = env.HF_TOKEN_PATH ?? join(env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'token');
  try {
    return existsSync(file) ? readFileSync(file, 'utf8').trim() || null : null;
  } catch {
    return null;
  }
}

const REPO_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** Whether `s` reads as a Hub repo id ('gpt2', 'openai-community/gpt2'), not a file path. */
export function isRepoId(s: string): boolean {
  return REPO_ID.test(s) && !s.includes('..') && !s.endsWith('.') && s.length <= 96;
}

/** 'openai-community/gpt2' -> 'models--openai-community--gpt2', huggingface_hub's folder name. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

export function isCommitHash(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}

/** The repo's folder in the cache. */
export function repoCacheDir(repoId: string, cacheDir: string): string {
  return join(cacheDir, repoFolderName(repoId));
}

/** The commit a revision resolves to from the cache alone (refs/{revision}), or null. */
export function cachedCommit(repoId: string, revision: string, cacheDir: string): string | null {
  if (isCommitHash(revision)) return revision;
  const ref = join(repoCacheDir(repoId, cacheDir), 'refs', revision);
  try {
    const c = readFileSync(ref, 'utf8').trim();
    return isCommitHash(c) ? c : null;
  } catch {
    return null;
  }
}

/** The cached copy of a file at a revision (a path inside snapshots/), or null when it is not cached. */
export function tryCachedFile(repoId: string, filename: string, revision: string, cacheDir: string): string | null {
  const commit = cachedCommit(repoId, revision, cacheDir);
  if (!commit) return null;
  const p = join(repoCacheDir(repoId, cacheDir), 'snapshots', commit, ...filename.split('/'));
  return existsSync(p) ? p : null;
}

/** Whether the cache records that a file does not exist at a commit (.no_exist/{commit}/{path}, as huggingface_hub). */
export function cachedMissing(repoId: string, filename: string, revision: string, cacheDir: string): boolean {
  const commit = cachedCommit(repoId, revision, cacheDir);
  return !!commit && existsSync(join(repoCacheDir(repoId, cacheDir), '.no_exist', commit, ...filename.split('/')));
}

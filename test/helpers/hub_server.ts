// A Hugging Face Hub stand-in on loopback (node:http, 127.0.0.1, a free port) for the hub tests: it
// answers /{repo}/resolve/{revision}/{file} as the Hub does (X-Repo-Commit; ETag = git blob sha1 for
// small files; for LFS files a 302 to /lfs/{sha256} on the same server with X-Linked-Etag and
// X-Linked-Size; 401 RepoNotFound, 404 RevisionNotFound/EntryNotFound in X-Error-Code), serves Range
// requests on /lfs/, lists files at /api/models/{repo}/revision/{revision}, and can misbehave on
// demand (a corrupt body, a connection dropped halfway).

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  commit: string;
  files: Record<string, Uint8Array | string>;
  /** Other revisions (branches, tags) and the commit each names. */
  refs?: Record<string, string>;
  /** Needs `Authorization: Bearer {token}`. */
  token?: string;
}

export interface HubServer {
  endpoint: string;
  repos: Map<string, FakeRepo>;
  /** Old repo id -> new one: resolve URLs of the old id get a relative 307. */
  renames: Map<string, string>;
  requests: { method: string; url: string; range?: string; auth?: string }[];
  /** sha256s whose next LFS body has a flipped byte. */
  corruptOnce: Set<string>;
  /** sha256s whose next LFS body stops after half the bytes (the socket is destroyed). */
  dropOnce: Set<string>;
  close(): Promise<void>;
}

const LFS_MIN = 1024;

export function gitSha1(b: Uint8Array): string {
  return createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');
}
export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
function bytes(x: Uint8Array | string): Uint8Array {
  return typeof x === 'string' ? new TextEncoder().encode(x) : x;
}
/** A fake commit hash from a label. */
export function commitOf(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

export async function startHubServer(): Promise<HubServer> {
  const repos = new Map<string, FakeRepo>();
  const renames = new Map<string, string>();
  const requests: HubServer['requests'] = [];
  const corruptOnce = new Set<string>(),
    dropOnce = new Set<string>();
  const blobs = (): Map<string, Uint8Array> => {
    const m = new Map<string, Uint8Array>();
    for (const r of repos.values()) for (const f of Object.values(r.files)) m.set(sha256(bytes(f)), bytes(f));
    return m;
  };
  const fail = (res: ServerResponse, status: number, code: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'X-Error-Code': code, 'X-Error-Message': code, ...extra });
    res.end();
  };
  const findRepo = (parts: string[]): [string, string[]] | null => {
    for (const n of [2, 1]) {
      const id = parts.slice(0, n).join('/');
      if (repos.has(id) || renames.has(id)) return [id, parts.slice(n)];
    }
    return null;
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      method: req.method ?? '',
      url: url.pathname,
      range: req.headers.range,
      auth: req.headers.authorization,
    });
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] === 'lfs') {
      const data = blobs().get(parts[1]);
      if (!data) {
        fail(res, 404, 'EntryNotFound');
        return;
      }
      let body = data,
        status = 200;
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m) {
        const from = Number(m[1]);
        if (from >= data.byteLength) {
          res.writeHead(416, { 'Content-Range': `bytes */${data.byteLength}` });
          res.end();
          return;
        }
        body = data.subarray(from);
        status = 206;
        headers['Content-Range'] = `bytes ${from}-${data.byteLength - 1}/${data.byteLength}`;
      }
      headers['Content-Length'] = String(body.byteLength);
      res.writeHead(status, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (corruptOnce.delete(parts[1])) {
        body = Uint8Array.from(body);
        body[body.length - 1] ^= 0xff;
      }
      if (dropOnce.delete(parts[1])) {
        res.write(body.subarray(0, body.byteLength >> 1), () => res.destroy());
        return;
      }
      res.end(body);
      return;
    }
    const api = parts[0] === 'api' && parts[1] === 'models';
    const found = findRepo(api ? parts.slice(2) : parts);
    if (!found) {
      fail(res, 401, 'RepoNotFound');
      return;
    }
    const [id, rest] = found;
    const renamed = renames.get(id);
    if (renamed) {
      const tail = url.pathname
        .split('/')
        .slice(1 + (api ? 2 : 0) + id.split('/').length)
        .join('/');
      res.writeHead(307, { Location: `${api ? '/api/models' : ''}/${renamed}/${tail}` });
      res.end();
      return;
    }
    const repo = repos.get(id)!;
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      fail(res, 401, 'RepoNotFound');
      return;
    }
    if (api) {
      if (rest[0] !== 'revision') {
        fail(res, 404, 'EntryNotFound');
        return;
      }
      const rev = rest[1];
      const commit = rev === 'main' || rev === repo.commit ? repo.commit : repo.refs?.[rev];
      if (!commit) {
        fail(res, 404, 'RevisionNotFound');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ id, sha: commit, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) }),
      );
      return;
    }
    if (rest[0] !== 'resolve' || rest.length < 3) {
      fail(res, 404, 'EntryNotFound');
      return;
    }
    const rev = rest[1],
      file = rest.slice(2).join('/');
    const commit = rev === 'main' || rev === repo.commit ? repo.commit : repo.refs?.[rev];
    if (!commit) {
      fail(res, 404, 'RevisionNotFound');
      return;
    }
    const content = repo.files[file];
    if (content === undefined) {
      fail(res, 404, 'EntryNotFound', { 'X-Repo-Commit': commit });
      return;
    }
    const data = bytes(content);
    if (data.byteLength >= LFS_MIN) {
      const sha = sha256(data);
      res.writeHead(302, {
        Location: `${server.endpoint}/lfs/${sha}`,
        'X-Repo-Commit': commit,
        'X-Linked-Etag': `"${sha}"`,
        'X-Linked-Size': String(data.byteLength),
        ETag: `"${gitSha1(new TextEncoder().encode(`lfs pointer ${sha}`))}"`,
      });
      res.end();
      return;
    }
    res.writeHead(200, {
      'X-Repo-Commit': commit,
      ETag: `"${gitSha1(data)}"`,
      'Content-Length': String(data.byteLength),
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  };
  const http: Server = createServer(handler);
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  const port = (http.address() as AddressInfo).port;
  const server: HubServer = {
    endpoint: `http://127.0.0.1:${port}`,
    repos,
    renames,
    requests,
    corruptOnce,
    dropOnce,
    close: () =>
      new Promise<void>((ok) => {
        http.closeAllConnections();
        http.close(() => ok());
      }),
  };
  return server;
}

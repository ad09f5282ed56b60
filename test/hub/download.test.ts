// Hub downloads against a loopback stand-in of the Hub (test/helpers/hub_server.ts): the cache
// layout huggingface_hub uses, LFS redirects, etag checks, resume, offline use, tokens and errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitOf, type HubServer, sha256, startHubServer } from '../helpers/hub_server.js';
import { HubError, hfHubDownload, snapshotDownload } from '../../src/hub/download.js';
import { hubCacheDir, isRepoId, repoFolderName } from '../../src/hub/cache.js';

let hub: HubServer;
const big = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 255);
const C1 = commitOf('c1'),
  C2 = commitOf('c2');

before(async () => {
  hub = await startHubServer();
  hub.repos.set('org/tiny', {
    commit: C1,
    refs: { v1: C2 },
    files: { 'config.json': '{"model_type":"gpt2"}', 'model.safetensors': big, 'sub/dir/notes.txt': 'hello' },
  });
  hub.repos.set('gpt2', { commit: C2, files: { 'config.json': '{}' } });
  hub.repos.set('org/private', { commit: C1, token: 'secret', files: { 'a.txt': 'private' } });
});
after(() => hub.close());

const fresh = () => mkdtempSync(join(tmpdir(), 'nb-hub-'));
const opts = (cacheDir: string) => ({ cacheDir, endpoint: hub.endpoint, token: null, progress: false });

test('downloads lay out blobs, snapshots and refs as huggingface_hub does', async () => {
  const cache = fresh();
  const cfg = await hfHubDownload('org/tiny', 'config.json', opts(cache));
  const st = await hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  const repo = join(cache, 'models--org--tiny');
  assert.equal(cfg, join(repo, 'snapshots', C1, 'config.json'));
  assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), C1);
  assert.equal(readlinkSync(st), join('..', '..', 'blobs', sha256(big)));
  assert.deepEqual(new Uint8Array(readFileSync(st)), big);
  assert.equal(readFileSync(cfg, 'utf8'), '{"model_type":"gpt2"}');
  const nested = await hfHubDownload('org/tiny', 'sub/dir/notes.txt', opts(cache));
  assert.equal(
    readlinkSync(nested)
      .split('/')
      .filter((p) => p === '..').length,
    4,
  );
  assert.equal(readFileSync(nested, 'utf8'), 'hello');
  assert.ok(readdirSync(join(repo, 'blobs')).every((b) => !b.endsWith('.incomplete')));
});

test('a cached file costs one HEAD and no GET; offline it costs nothing', async () => {
  const cache = fresh();
  await hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  const n = hub.requests.length;
  await hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  assert.deepEqual(
    hub.requests.slice(n).map((r) => r.method),
    ['HEAD'],
  );
  const m = hub.requests.length;
  const p = await hfHubDownload('org/tiny', 'model.safetensors', { ...opts(cache), offline: true });
  assert.equal(hub.requests.length, m);
  assert.deepEqual(new Uint8Array(readFileSync(p)), big);
});

test('a revision (tag) resolves to its commit, and refs/{tag} records it', async () => {
  const cache = fresh();
  const p = await hfHubDownload('org/tiny', 'config.json', { ...opts(cache), revision: 'v1' });
  assert.ok(p.includes(join('snapshots', C2)));
  assert.equal(readFileSync(join(cache, 'models--org--tiny', 'refs', 'v1'), 'utf8'), C2);
  const byHash = await hfHubDownload('org/tiny', 'config.json', { ...opts(cache), revision: C2, offline: true });
  assert.equal(byHash, p);
});

test('offline with nothing cached names the cache and the variables to set', async () => {
  const cache = fresh();
  await assert.rejects(hfHubDownload('org/tiny', 'config.json', { ...opts(cache), offline: true }), (e: Error) => {
    assert.ok(e instanceof HubError);
    assert.match(e.message, /offline \(HF_HUB_OFFLINE\)/);
    assert.ok(e.message.includes(join(cache, 'models--org--tiny')), e.message);
    assert.match(e.message, /HF_HUB_CACHE or HF_HOME/);
    return true;
  });
});

test('an unreachable endpoint falls back to the cache, else says what to do', async () => {
  const cache = fresh();
  await hfHubDownload('org/tiny', 'config.json', opts(cache));
  const dead = { ...opts(cache), endpoint: 'http://127.0.0.1:1' };
  assert.equal(readFileSync(await hfHubDownload('org/tiny', 'config.json', dead), 'utf8'), '{"model_type":"gpt2"}');
  await assert.rejects(
    hfHubDownload('org/tiny', 'model.safetensors', dead),
    /cannot reach http:\/\/127\.0\.0\.1:1 .*HF_HUB_OFFLINE=1/,
  );
});

test("the Hub's refusals become errors naming the repo, file and revision", async () => {
  const cache = fresh();
  await assert.rejects(
    hfHubDownload('org/nope', 'config.json', opts(cache)),
    (e: Error) =>
      e instanceof HubError && e.code === 'RepoNotFound' && /'org\/nope' not found.*HF_TOKEN/.test(e.message),
  );
  await assert.rejects(
    hfHubDownload('org/tiny', 'missing.json', opts(cache)),
    (e: Error) =>
      e instanceof HubError && e.code === 'EntryNotFound' && /'missing.json' not found in 'org\/tiny'/.test(e.message),
  );
  assert.ok(existsSync(join(cache, 'models--org--tiny', '.no_exist', C1, 'missing.json')));
  await assert.rejects(
    hfHubDownload('org/tiny', 'config.json', { ...opts(cache), revision: 'nope' }),
    (e: Error) => e instanceof HubError && e.code === 'RevisionNotFound' && e.status === 404,
  );
  await assert.rejects(hfHubDownload('../etc', 'passwd', opts(cache)), /not a repo id/);
  await assert.rejects(hfHubDownload('org/tiny', '../../x', opts(cache)), /not a file path/);
});

test('HF_TOKEN goes to the Hub as a bearer token, and opens private repos', async () => {
  const cache = fresh();
  await assert.rejects(
    hfHubDownload('org/private', 'a.txt', opts(cache)),
    (e: Error) => (e as HubError).status === 401,
  );
  const n = hub.requests.length;
  const p = await hfHubDownload('org/private', 'a.txt', { ...opts(cache), token: 'secret' });
  assert.equal(readFileSync(p, 'utf8'), 'private');
  assert.ok(hub.requests.slice(n).every((r) => r.auth === 'Bearer secret'));
});

test('the LFS redirect is followed for the body, and the token stays with the Hub origin only', async () => {
  const cache = fresh();
  const n = hub.requests.length;
  await hfHubDownload('org/tiny', 'model.safetensors', { ...opts(cache), token: 't' });
  const reqs = hub.requests.slice(n);
  assert.deepEqual(
    reqs.map((r) => [r.method, r.url.split('/')[1]]),
    [
      ['HEAD', 'org'],
      ['GET', 'lfs'],
    ],
  );
  // same host in this test, so the token goes with both; a CDN on another origin would get none
  assert.equal(reqs[1].auth, 'Bearer t');
});

test("a renamed repo's relative redirect is followed", async () => {
  const cache = fresh();
  hub.renames.set('old/tiny', 'org/tiny');
  const p = await hfHubDownload('old/tiny', 'config.json', opts(cache));
  assert.equal(readFileSync(p, 'utf8'), '{"model_type":"gpt2"}');
  assert.ok(p.startsWith(join(cache, 'models--old--tiny')));
});

test('a corrupt body fails the sha256 check and leaves nothing behind', async () => {
  const cache = fresh();
  hub.corruptOnce.add(sha256(big));
  await assert.rejects(
    hfHubDownload('org/tiny', 'model.safetensors', opts(cache)),
    /sha256 is [0-9a-f]{64} but the Hub's etag is [0-9a-f]{64}; the corrupt download was removed/,
  );
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  assert.deepEqual(readdirSync(blobs), []);
  assert.ok(!existsSync(join(cache, 'models--org--tiny', 'snapshots', C1, 'model.safetensors')));
  const p = await hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  assert.deepEqual(new Uint8Array(readFileSync(p)), big);
});

test('a dropped download is resumed with a Range request', async () => {
  const cache = fresh();
  hub.dropOnce.add(sha256(big));
  await assert.rejects(hfHubDownload('org/tiny', 'model.safetensors', opts(cache)));
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  const part = readdirSync(blobs).find((b) => b.endsWith('.incomplete'));
  assert.ok(part, 'the partial file is kept');
  const n = hub.requests.length;
  const p = await hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  const get = hub.requests.slice(n).find((r) => r.method === 'GET')!;
  assert.match(get.range ?? '', /^bytes=[1-9]\d*-$/);
  assert.deepEqual(new Uint8Array(readFileSync(p)), big);
  assert.deepEqual(readdirSync(blobs), [sha256(big)]);
});

test('a stale partial file that does not match is restarted and checked', async () => {
  const cache = fresh();
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(big)}.incomplete`), new Uint8Array(100).fill(9));
  // the resumed tail is right, the head is not: the hash check must catch it
  await assert.rejects(hfHubDownload('org/tiny', 'model.safetensors', opts(cache)), /sha256/);
  const p = await hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  assert.deepEqual(new Uint8Array(readFileSync(p)), big);
});

test("a live download's lock makes another wait; a dead writer's lock is taken over", async () => {
  const cache = fresh();
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  const lock = join(blobs, `${sha256(big)}.lock`);
  writeFileSync(lock, `${hostname()} ${process.pid}`);
  const n = hub.requests.length;
  const pending = hfHubDownload('org/tiny', 'model.safetensors', opts(cache));
  await new Promise((ok) => setTimeout(ok, 500));
  assert.ok(!hub.requests.slice(n).some((r) => r.method === 'GET'), 'no GET while the lock is held');
  unlinkSync(lock);
  assert.deepEqual(new Uint8Array(readFileSync(await pending)), big);
  assert.ok(!existsSync(lock));
  const other = fresh();
  const otherBlobs = join(other, 'models--org--tiny', 'blobs');
  mkdirSync(otherBlobs, { recursive: true });
  // a pid above the kernel's pid_max is never alive
  writeFileSync(join(otherBlobs, `${sha256(big)}.lock`), `${hostname()} 99999999`);
  const p = await hfHubDownload('org/tiny', 'model.safetensors', opts(other));
  assert.deepEqual(new Uint8Array(readFileSync(p)), big);
});

test('progress callbacks see the bytes arrive', async () => {
  const cache = fresh();
  const seen: number[] = [];
  await hfHubDownload('org/tiny', 'model.safetensors', {
    ...opts(cache),
    progress: (_f, d, t) => {
      assert.equal(t, 5000);
      seen.push(d);
    },
  });
  assert.equal(seen.at(-1), 5000);
});

test('snapshotDownload fetches every file at one commit', async () => {
  const cache = fresh();
  const dir = await snapshotDownload('org/tiny', opts(cache));
  assert.equal(dir, join(cache, 'models--org--tiny', 'snapshots', C1));
  assert.equal(readFileSync(join(dir, 'sub', 'dir', 'notes.txt'), 'utf8'), 'hello');
  assert.equal(await snapshotDownload('org/tiny', { ...opts(cache), offline: true }), dir);
});

test('cache location and repo ids follow huggingface_hub', () => {
  assert.equal(hubCacheDir({ HF_HOME: '/h' }), join('/h', 'hub'));
  assert.equal(hubCacheDir({ HF_HOME: '/h', HF_HUB_CACHE: '/c' }), '/c');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), join('/x', 'huggingface', 'hub'));
  assert.equal(repoFolderName('openai-community/gpt2'), 'models--openai-community--gpt2');
  assert.ok(isRepoId('gpt2') && isRepoId('openai-community/gpt2') && isRepoId('TinyLlama/TinyLlama-1.1B-Chat-v1.0'));
  assert.ok(!isRepoId('./gpt2') && !isRepoId('/tmp/x') && !isRepoId('a/b/c') && !isRepoId('..'));
});

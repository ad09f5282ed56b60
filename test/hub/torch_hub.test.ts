// torch.hub's checkpoint cache: downloads into TORCH_HOME/hub/checkpoints with the hash prefix of the
// file name checked (against a loopback server), and resnetNN({weights}) reading from that cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedCheckpoint, hashPrefixOf, torchHome } from '../../src/hub/torch_hub.js';
import { resnet18, resnet50 } from '../../src/vision/models/resnet.js';
import { saveTorch } from '../../src/io/tensors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'nb-torchhub-'));
const body = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 255);
const sha = createHash('sha256').update(body).digest('hex');
let server: Server,
  base: string,
  gets = 0;

before(async () => {
  server = createServer((req, res) => {
    gets++;
    if (req.url?.startsWith('/models/')) {
      res.writeHead(200, { 'Content-Length': body.byteLength });
      res.end(body);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models`;
});
after(
  () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
);

test('a checkpoint downloads once into modelDir, its sha256 checked against the file name', async () => {
  const dir = fresh();
  const name = `w-${sha.slice(0, 8)}.pth`;
  const p = await cachedCheckpoint(`${base}/${name}`, { modelDir: dir, progress: false });
  assert.equal(p, join(dir, name));
  assert.deepEqual(new Uint8Array(readFileSync(p)), body);
  const n = gets;
  assert.equal(await cachedCheckpoint(`${base}/${name}`, { modelDir: dir, progress: false }), p);
  assert.equal(gets, n);
});

test('a wrong hash prefix fails and leaves no file; checkHash false accepts it', async () => {
  const dir = fresh();
  await assert.rejects(
    cachedCheckpoint(`${base}/w-deadbeef.pth`, { modelDir: dir, progress: false }),
    new RegExp(`invalid hash value .* sha256 ${sha} does not start with 'deadbeef'`),
  );
  assert.deepEqual(readdirSync(dir), []);
  await cachedCheckpoint(`${base}/w-deadbeef.pth`, { modelDir: dir, progress: false, checkHash: false });
  assert.deepEqual(readdirSync(dir), ['w-deadbeef.pth']);
  await assert.rejects(
    cachedCheckpoint('http://127.0.0.1:1/models/x-00.pth', { modelDir: dir, progress: false }),
    /cannot download .* put the file at .*x-00\.pth .*TORCH_HOME/,
  );
});

test('hash prefixes and TORCH_HOME follow torch.hub', () => {
  assert.equal(hashPrefixOf('resnet18-f37072fd.pth'), 'f37072fd');
  assert.equal(hashPrefixOf('model.pth'), null);
  assert.equal(torchHome({ TORCH_HOME: '/t' }), '/t');
  assert.equal(torchHome({ XDG_CACHE_HOME: '/x' }), join('/x', 'torch'));
});

test("resnet18({weights}) loads torchvision's file from TORCH_HOME/hub/checkpoints", async () => {
  const home = fresh();
  const src = resnet18();
  mkdirSync(join(home, 'hub', 'checkpoints'), { recursive: true });
  await saveTorch(src.stateDict(), join(home, 'hub', 'checkpoints', 'resnet18-f37072fd.pth'));
  const saved = process.env.TORCH_HOME;
  process.env.TORCH_HOME = home;
  try {
    const m = await resnet18({ weights: 'IMAGENET1K_V1' });
    assert.ok(!m.training);
    const a = src.stateDict(),
      b = m.stateDict();
    for (const k of Object.keys(a)) assert.deepEqual(b[k].toTypedArray(), a[k].toTypedArray(), k);
    await assert.rejects(
      resnet18({ weights: 'IMAGENET1K_V2' }),
      /no weights 'IMAGENET1K_V2' \(known: IMAGENET1K_V1, DEFAULT\)/,
    );
    await assert.rejects(resnet18({ weights: 'DEFAULT', numClasses: 10 }), /1000 classes, but numClasses is 10/);
    assert.ok(!existsSync(join(home, 'hub', 'checkpoints', 'resnet50-11ad3fa6.pth')));
    assert.equal(typeof resnet50, 'function');
  } finally {
    if (saved === undefined) delete process.env.TORCH_HOME;
    else process.env.TORCH_HOME = saved;
  }
});

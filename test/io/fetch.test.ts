// Loading from bytes, Blobs, Responses and URLs (nb.io.fetchBytes and the loaders that take them), in
// Node against a loopback server: the same code paths the browser build runs, and the clear errors
// for a URL that answers 404 and for a download that ends early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as nb from '../../src/index.js';
import { serve } from '../helpers/browser.js';
import { sharedData, skipUnlessShared } from '../helpers/data.js';

/** A server with a file, a 404 and a body cut short: 40 of the 100 bytes its Content-Length announces. */
async function withServer(files: Record<string, Uint8Array>, fn: (url: string) => Promise<void>): Promise<void> {
  const routes: Parameters<typeof serve>[0] = {};
  for (const [k, v] of Object.entries(files)) routes[k] = { body: v };
  routes['/cut.bin'] = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '100' });
    res.write(new Uint8Array(40));
    // NOTE: destroying the socket mid-body is what a dropped connection looks like to fetch.
    setTimeout(() => res.socket?.destroy(), 20);
  };
  const server = await serve(routes);
  try {
    await fn(server.url);
  } finally {
    await server.close();
  }
}

test('fetchBytes reads paths, file: URLs, bytes, Blobs, Responses and http URLs alike', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-fetch-'));
  try {
    const data = new Uint8Array([1, 2, 3, 250]);
    const path = join(dir, 'x.bin');
    await nb.save({ w: nb.tensor([1, 2]) }, join(dir, 'w.safetensors'));
    const st = new Uint8Array(readFileSync(join(dir, 'w.safetensors')));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, data);
    const same = (x: Uint8Array) => assert.deepEqual([...x], [...data]);
    same(await nb.io.fetchBytes(path));
    same(await nb.io.fetchBytes(pathToFileURL(path)));
    same(await nb.io.fetchBytes(pathToFileURL(path).href));
    same(await nb.io.fetchBytes(data.buffer));
    same(await nb.io.fetchBytes(new DataView(data.buffer)));
    same(await nb.io.fetchBytes(new Blob([data])));
    same(await nb.io.fetchBytes(new Response(data)));
    await withServer({ '/x.bin': data, '/w.safetensors': st }, async (url) => {
      same(await nb.io.fetchBytes(`${url}/x.bin`));
      same(await nb.io.fetchBytes(new URL('/x.bin', url)));
      same(await nb.io.fetchBytes(await fetch(`${url}/x.bin`)));
      // The loaders take the same inputs; the format comes from the URL's extension (its query ignored).
      assert.deepEqual((await nb.load(`${url}/w.safetensors?download=1`)).w.tolist(), [1, 2]);
      assert.deepEqual((await nb.io.loadSafetensors(new URL('/w.safetensors', url))).w.tolist(), [1, 2]);
    });
    // Bytes without a name: the format is recognised from the content.
    assert.deepEqual((await nb.load(st)).w.tolist(), [1, 2]);
    assert.deepEqual((await nb.load(new Blob([st]))).w.tolist(), [1, 2]);
    await assert.rejects(nb.io.fetchBytes(42 as unknown as string), /fetchBytes: expected a path, URL/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model URL that answers 404 fails with the URL and the status', async () => {
  await withServer({}, async (url) => {
    for (const load of [
      () => nb.io.fetchBytes(`${url}/missing/stories260K.bin`),
      () => nb.load(`${url}/missing/stories260K.bin`),
      () => nb.io.loadSafetensors(`${url}/missing/stories260K.bin`),
    ]) {
      await assert.rejects(load(), (e: Error) => {
        assert.equal(e.name, 'FetchError');
        assert.equal((e as nb.io.FetchError).status, 404);
        assert.match(e.message, /fetching http:\/\/127\.0\.0\.1:\d+\/missing\/stories260K\.bin: HTTP 404 Not Found/);
        return true;
      });
    }
  });
});

test('a truncated download fails as truncated, never parses as a shorter file', async () => {
  await withServer({}, async (url) => {
    await assert.rejects(nb.io.fetchBytes(`${url}/cut.bin`), (e: Error) => {
      assert.equal(e.name, 'FetchError');
      assert.match(e.message, /cut\.bin: the download broke off after 40 of 100 bytes \(truncated\)/);
      return true;
    });
  });
  // A Response whose body is shorter than its Content-Length (a proxy that cut it off).
  const short = new Response(new Uint8Array(10), { headers: { 'Content-Length': '64' } });
  await assert.rejects(nb.io.fetchBytes(short), /truncated download: received 10 bytes, Content-Length announced 64/);
});

test('stories260K and tok512 from bytes equal the files read by path, and cut bytes say truncated', {
  skip: skipUnlessShared('stories260K.bin', 'tok512.bin'),
}, () => {
  const bin = new Uint8Array(readFileSync(sharedData('stories260K.bin')));
  const a = nb.models.LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin'));
  const b = nb.models.LlamaForCausalLM.fromLlama2c(bin.buffer);
  const sa = a.stateDict(),
    sb = b.stateDict();
  assert.deepEqual(Object.keys(sb), Object.keys(sa));
  for (const k of Object.keys(sa)) assert.deepEqual(sb[k].toTypedArray(), sa[k].toTypedArray(), k);
  assert.throws(
    () => nb.models.LlamaForCausalLM.fromLlama2c(bin.subarray(0, bin.length - 100)),
    /llama2\.c checkpoint <bytes>: \d+ bytes, but header .* needs \d+ \(the file is truncated\)/,
  );
  const ta = nb.text.LlamaTokenizer.fromLlama2c(sharedData('tok512.bin'), 512);
  const tb = nb.text.LlamaTokenizer.fromLlama2c(readFileSync(sharedData('tok512.bin')), 512);
  const text = 'Once upon a time, there was a little girl named Lily.';
  assert.deepEqual(tb.encode(text), ta.encode(text));
});

test('readImage takes bytes as well as a path', () => {
  const png = nb.vision.encodePng(new nb.vision.Image(2, 1, 'RGB', new Uint8Array([255, 0, 0, 0, 0, 255])));
  const img = nb.vision.readImage(new Uint8Array(png).buffer, 'RGB');
  assert.deepEqual([...img.data], [255, 0, 0, 0, 0, 255]);
  assert.throws(() => nb.vision.readImage(7 as unknown as string), /readImage: expected a path or bytes/);
});

// `nabla download` and `nabla generate --model REPO` against the loopback Hub stand-in. The CLI runs
// as a child process (asynchronously, so this process's server can answer it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commitOf, type HubServer, startHubServer } from '../helpers/hub_server.js';
import { REPO_ROOT } from '../helpers/data.js';
import { BYTE_TO_CHAR } from '../../src/text/bytes_to_unicode.js';
import { GPT2Tokenizer } from '../../src/text/bpe.js';
import { GPT2Config, GPT2LMHeadModel } from '../../src/models/gpt2.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const fresh = () => mkdtempSync(join(tmpdir(), 'nb-hubcli-'));
let hub: HubServer;

async function nabla(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { NODE_TEST_CONTEXT: _ctx, HF_TOKEN: _t, HF_HUB_OFFLINE: _o, ...base } = process.env;
  try {
    const r = await promisify(execFile)(process.execPath, [MAIN, ...args], {
      env: { ...base, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

before(async () => {
  hub = await startHubServer();
  const dir = fresh();
  const vocab: Record<string, number> = Object.fromEntries(BYTE_TO_CHAR.map((c, i) => [c, i]));
  vocab['<|endoftext|>'] = 256;
  new GPT2Tokenizer(vocab, []).savePretrained(dir);
  const c = new GPT2Config({
    vocabSize: 257,
    nPositions: 16,
    nEmbd: 8,
    nLayer: 1,
    nHead: 2,
    bosTokenId: 256,
    eosTokenId: 256,
  });
  await new GPT2LMHeadModel(c, { seed: 1 }).savePretrained(dir);
  const files: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir)) files[f] = new Uint8Array(readFileSync(join(dir, f)));
  hub.repos.set('org/tiny', { commit: commitOf('cli'), files });
});
after(() => hub.close());

test('nabla download REPO fetches the snapshot into HF_HOME/hub and prints its folder', async () => {
  const home = fresh();
  const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: home };
  const r = await nabla(env, 'download', 'org/tiny', '--include', '*.json');
  assert.equal(r.code, 0, r.stderr);
  const snap = join(home, 'hub', 'models--org--tiny', 'snapshots', commitOf('cli'));
  assert.equal(r.stdout.trim(), snap);
  assert.ok(existsSync(join(snap, 'config.json')) && !existsSync(join(snap, 'model.safetensors')));
  const bad = await nabla(env, 'download', 'org/none');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /repository 'org\/none' not found/);
  assert.equal((await nabla(env, 'download')).code, 2);
});

test('nabla generate --model REPO downloads the model and tokenizer, then works offline', async () => {
  const home = fresh();
  const args = ['generate', '--model', 'org/tiny', '--prompt', 'hi', '--max-new-tokens', '2', '--greedy', '--json'];
  const r = await nabla({ HF_ENDPOINT: hub.endpoint, HF_HOME: home }, ...args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { ids: number[] }).ids.length, 4);
  const off = await nabla({ HF_ENDPOINT: 'http://127.0.0.1:1', HF_HOME: home, HF_HUB_OFFLINE: '1' }, ...args);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(off.stdout, r.stdout);
  const none = await nabla({ HF_HOME: fresh(), HF_HUB_OFFLINE: '1' }, ...args);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /offline \(HF_HUB_OFFLINE\) .* not in the cache at .*models--org--tiny/);
});
